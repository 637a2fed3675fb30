// The inbox page's lists of teammates (the assignee filter and the Assign menu), kept live from
// `user.updated`: someone added shows up, a rename changes in place, a disabled user leaves
// (their name stays on what they sent and on conversations still assigned to them).
import { el } from "./dom.js";

const MENUS = ["#filter-assignee optgroup", "#assign"];

export function applyTeammate(user) {
  for (const selector of MENUS) {
    const menu = document.querySelector(selector);
    if (!menu) continue;
    const option = menu.querySelector(`option[value="${user.id}"]`);
    if (user.kind === "bot" || user.disabled) {
      if (option && !option.selected) option.remove();
    } else if (option) {
      option.textContent = user.name;
    } else {
      const options = [...menu.querySelectorAll("option")].filter((o) => o.value !== "");
      const after = options.find((o) => o.textContent.localeCompare(user.name) > 0) || null;
      menu.insertBefore(el("option", { value: user.id }, user.name), after);
    }
  }
}
