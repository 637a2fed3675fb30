// Suggestions under the reply box while the agent types a trigger: `/` lists canned responses
// (composer.js gives the sources), `@` in a note lists the inbox's members. Arrow keys move,
// Enter or Tab takes one, Escape closes; the chosen text replaces what was typed after the
// trigger.
import { $, el } from "./dom.js";

let sources = [];
let active = null; // {source, start, items, index}
let seq = 0;

const box = () => $("reply");
const list = () => $("suggestions");

// The trigger and what follows it up to the caret, when the caret ends such a word.
function tokenAt(text, caret, trigger) {
  const before = text.slice(0, caret);
  const at = before.lastIndexOf(trigger);
  if (at < 0 || (at > 0 && !/\s/.test(before[at - 1]))) return null;
  const query = before.slice(at + 1);
  return /\s/.test(query) ? null : { start: at, query };
}

export function closeSuggestions() {
  active = null;
  list().hidden = true;
  list().replaceChildren();
  box().setAttribute("aria-expanded", "false");
  box().removeAttribute("aria-activedescendant");
}

function render() {
  list().replaceChildren(...active.items.map((item, i) => {
    const option = el("li", { id: `suggestion-${i}`, role: "option", "aria-selected": String(i === active.index) },
      el("span", { className: "suggestion-label" }, item.label),
      item.detail ? el("span", { className: "suggestion-detail" }, item.detail) : "");
    option.addEventListener("mousedown", (e) => {
      e.preventDefault(); // keep the focus in the reply box
      choose(i);
    });
    return option;
  }));
  list().hidden = false;
  box().setAttribute("aria-expanded", "true");
  box().setAttribute("aria-activedescendant", `suggestion-${active.index}`);
}

async function update() {
  const text = box().value;
  const caret = box().selectionStart;
  const mine = ++seq;
  for (const source of sources) {
    if (!source.enabled()) continue;
    const token = tokenAt(text, caret, source.trigger);
    if (!token) continue;
    const items = await source.items(token.query);
    if (mine !== seq) return; // the agent typed on meanwhile
    if (!items.length) break;
    active = { source, start: token.start, end: caret, items, index: 0 };
    render();
    return;
  }
  if (mine === seq) closeSuggestions();
}

async function choose(index) {
  const { source, start, end, items } = active;
  closeSuggestions();
  const text = await source.choose(items[index]);
  if (text === null) return;
  const value = box().value;
  box().value = value.slice(0, start) + text + value.slice(end);
  const caret = start + text.length;
  box().setSelectionRange(caret, caret);
  box().dispatchEvent(new Event("input", { bubbles: true })); // counter, draft, lock activity
  box().focus();
}

function onKey(event) {
  if (!active) return;
  const moves = { ArrowDown: 1, ArrowUp: -1 };
  if (event.key in moves) {
    active.index = (active.index + moves[event.key] + active.items.length) % active.items.length;
    render();
  } else if (event.key === "Enter" || event.key === "Tab") {
    choose(active.index);
  } else if (event.key === "Escape") {
    closeSuggestions();
  } else {
    return;
  }
  event.preventDefault();
  event.stopImmediatePropagation(); // the composer's Enter must not send meanwhile
}

// `given`: [{trigger, enabled(), items(query) -> [{label, detail}], choose(item) -> text | null}]
export function wireSuggestions(given) {
  sources = given;
  box().addEventListener("keydown", onKey);
  box().addEventListener("input", update);
  box().addEventListener("click", update);
  box().addEventListener("blur", closeSuggestions);
}
