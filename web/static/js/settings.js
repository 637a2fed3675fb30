// The admins' settings area (/settings/<section>): people, inboxes, phone numbers, carrier
// registration, tokens, campaigns, the outgoing allowance, the audit log. Each
// section is a module with `load()` and `onEvent(event)`; the socket keeps the page live (another
// admin's change shows at once) and logs the tab out when its session ends.
import * as allowance from "./admin-allowance.js";
import * as audit from "./admin-audit.js";
import * as campaigns from "./admin-campaigns.js";
import * as inboxes from "./admin-inboxes.js";
import * as numbers from "./admin-numbers.js";
import * as registration from "./admin-registration.js";
import * as tokens from "./admin-tokens.js";
import * as users from "./admin-users.js";
import * as counter from "./allowance-counter.js";
import { $, report } from "./dom.js";
import { Socket } from "./socket.js";

const SECTIONS = { users, inboxes, numbers, registration, tokens, campaigns, allowance, audit };

function start() {
  const root = $("settings");
  const section = SECTIONS[root.dataset.section];
  section.wire();
  const loading = Promise.all([section.load(), counter.load()])
    .catch((error) => report("Could not load this page", error));
  new Socket({
    onEvent: (event) => {
      if (event.type === "team.allowance") counter.show(event.data.allowance);
      section.onEvent(event);
    },
    onState: (s) => { $("connection").hidden = s === "open"; },
    onResync: () => Promise.all([section.load(), counter.load()])
      .catch((error) => report("Could not reload this page", error)),
  });
  loading.finally(() => { root.dataset.ready = "true"; });
}

start();
