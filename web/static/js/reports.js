// Reports: the figures of GET /api/v1/reports as SVG charts drawn here (no library, no inline
// style: attributes only, for the CSP) and a totals table; the same question as CSV.
import { api } from "./api.js";
import { $, duration, el } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 720;
const HEIGHT = 220;
const PAD = 32;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child);
  return node;
}

// Bars per bucket, one per series side by side; `series`: [{name, className, values}].
function barChart(buckets, series, label) {
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const step = (WIDTH - 2 * PAD) / Math.max(1, buckets.length);
  const bar = Math.max(2, (step * 0.8) / series.length);
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": label, class: "chart-svg" });
  chart.append(svg("line", { x1: PAD, y1: HEIGHT - PAD, x2: WIDTH - PAD, y2: HEIGHT - PAD, class: "axis" }));
  chart.append(svg("text", { x: 2, y: PAD - 8, class: "tick" }, String(max)));
  buckets.forEach((bucket, i) => {
    series.forEach((s, j) => {
      const value = s.values[i];
      const h = ((HEIGHT - 2 * PAD) * value) / max;
      const x = PAD + i * step + j * bar;
      const rect = svg("rect", { x, y: HEIGHT - PAD - h, width: bar, height: h, class: s.className });
      rect.append(svg("title", {}, `${bucket} · ${s.name}: ${value}`));
      chart.append(rect);
    });
    if (buckets.length <= 16 || i % Math.ceil(buckets.length / 16) === 0) {
      chart.append(svg("text", { x: PAD + i * step, y: HEIGHT - PAD + 14, class: "tick" }, bucket.slice(5)));
    }
  });
  const legend = el("p", { className: "legend" }, ...series.map((s) => el("span", { className: `key ${s.className}` }, s.name)));
  return [chart, legend];
}

function sumBy(rows, field) {
  const out = new Map();
  for (const r of rows) out.set(r.bucket, (out.get(r.bucket) || 0) + (r[field] || 0));
  return out;
}

const secs = (value) => (value === null || value === undefined ? "—" : duration(value * 1000));

function totalsRow(r) {
  const fr = r.first_response;
  const rt = r.response;
  const n = (v) => (v === null ? "—" : String(v));
  return el("tr", {},
    el("th", { scope: "row" }, r.name),
    el("td", {}, n(r.texts_in)), el("td", {}, n(r.texts_out)), el("td", {}, n(r.segments)),
    el("td", {}, n(r.opened)), el("td", {}, n(r.archived)), el("td", {}, n(r.opt_outs)),
    el("td", {}, `${secs(fr.median_secs)} / ${secs(fr.p90_secs)}`),
    el("td", {}, String(fr.past_target)),
    el("td", {}, `${secs(rt.median_secs)} / ${secs(rt.p90_secs)}`),
  );
}

function question() {
  const params = new URLSearchParams({
    from: $("report-from").value, to: $("report-to").value,
    bucket: $("report-bucket").value, group: $("report-group").value,
  });
  return params.toString();
}

async function show(event) {
  event?.preventDefault();
  $("report-error").textContent = "";
  const q = question();
  $("report-csv").href = `/api/v1/reports?${q}&format=csv`;
  try {
    const report = await api("GET", `/api/v1/reports?${q}`);
    const buckets = [...new Set(report.rows.map((r) => r.bucket))].sort();
    const ins = sumBy(report.rows, "texts_in");
    const outs = sumBy(report.rows, "texts_out");
    $("texts-chart").replaceChildren(...barChart(buckets, [
      { name: "In", className: "series-in", values: buckets.map((b) => ins.get(b) || 0) },
      { name: "Out", className: "series-out", values: buckets.map((b) => outs.get(b) || 0) },
    ], "Texts in and out per period"));
    const medians = buckets.map((b) => {
      const values = report.rows.filter((r) => r.bucket === b && r.first_response.median_secs !== null);
      return values.length ? Math.round(Math.max(...values.map((r) => r.first_response.median_secs)) / 60) : 0;
    });
    $("times-chart").replaceChildren(...barChart(buckets, [
      { name: "Median first response (slowest shown), minutes", className: "series-time", values: medians },
    ], "Median first response per period"));
    $("report-totals").tBodies[0].replaceChildren(...(report.totals.length
      ? report.totals.map(totalsRow)
      : [el("tr", {}, el("td", { colspan: "10" }, "Nothing in this range."))]));
    $("reports").dataset.ready = "true";
  } catch (error) {
    $("report-error").textContent = `Could not load the report: ${error.message}`;
  }
}

function start() {
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 29 * 86_400_000);
  $("report-to").value = today.toISOString().slice(0, 10);
  $("report-from").value = monthAgo.toISOString().slice(0, 10);
  $("report-form").addEventListener("submit", show);
  show();
}

start();
