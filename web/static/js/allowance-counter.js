// The outgoing allowance's counter at the top of Settings, with the warning from 90 % used
// (seed 003); `team.allowance` events keep it live.
import { api } from "./api.js";
import { $ } from "./dom.js";

export function show(a) {
  const used = `${a.used.toLocaleString()} segment${a.used === 1 ? "" : "s"}`;
  $("allowance-counter").textContent = a.limit === null
    ? `Outgoing texts this month (${a.month}): ${used}; no allowance set.`
    : `Outgoing allowance this month (${a.month}): ${used} of ${a.limit.toLocaleString()} used` +
      (a.overage ? `, ${a.overage.toLocaleString()} over.` : ".");
  const warning = $("allowance-warning");
  warning.hidden = !a.warning;
  if (a.exhausted) {
    warning.textContent = a.when_out === "refuse"
      ? "The outgoing allowance is used up: sends are refused until it is raised or the month ends."
      : "The outgoing allowance is used up: texts still go, and are counted as overage.";
  } else {
    warning.textContent = `${Math.floor((a.used * 100) / a.limit)} % of this month's outgoing allowance is used.`;
  }
}

export async function load() {
  show(await api("GET", "/api/v1/allowance"));
}
