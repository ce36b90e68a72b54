// The sandbox page: feeds the emulated stack events through the server's JSON routes and shows its state.
// Nothing here decides what a handler would do: every text, status and record comes from /api/state.
"use strict";

const POLL_MS = 1000;
const SAMPLE_VALUES = {
  first_name: "Alex", name: "Alex", when: "Tue 10 Mar at 9:30", date: "Tue 10 Mar", time: "9:30",
  merchant: "Example Shop", amount: "$42.00", card_last4: "4242", clinic: "Example Clinic",
};
const SAMPLE_SLOTS = "Wed 11 Mar 9:00\nThu 12 Mar 14:30";
// What a newcomer might fill in to open each ready flow (edit freely: the flow's prompt names what it needs).
const FLOW_SAMPLES = {
  appointment: { variables: "first_name=Alex\nwhen=Tue 10 Mar at 9:30", slots: SAMPLE_SLOTS },
  transaction: { variables: "merchant=Example Shop\namount=$42.00\ncard_last4=4242", slots: "" },
  support: { variables: "", slots: "" },
};
const STANDARD_KEYWORDS = ["HELP", "STOP", "START"];
const IN_FLIGHT = /^(TEXT_)?(SENT|QUEUED|PENDING|HELD)$/;
const SUCCEEDED = /(DELIVERED|SUCCESSFUL)$/;

const app = {
  description: null,
  customer: null,
  state: null,
  rendered: {},      // card name -> the JSON it was last drawn from
  polling: null,
  inFlight: 0,
  csvEdited: false,
  actions: Promise.resolve(),  // the last action's turn: actions reach the sandbox in the order they were made
  carrierChanging: false,      // a carrier choice on its way: a poll's older state must not undo it on screen
};

// -- helpers ---------------------------------------------------------------------------------
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

class ApiError extends Error {}

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  app.inFlight += 1;
  try {
    const response = await fetch(path, options);
    let data;
    try { data = await response.json(); } catch { data = { error: `HTTP ${response.status}` }; }
    if (!response.ok) throw new ApiError(data.error || `HTTP ${response.status}`);
    return data;
  } finally {
    app.inFlight -= 1;
  }
}

let toastTimer = null;
function toast(message) {
  const node = $("toast");
  node.textContent = message;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 7000);
}

function zones() {
  const selected = app.state && app.state.selected;
  return selected && selected.zones && selected.zones.length ? selected.zones : [];
}

function parseTime(iso) { return iso ? new Date(iso) : null; }

function fmtClock(iso, zone, withDate) {
  const moment = parseTime(iso);
  if (!moment || Number.isNaN(moment.getTime())) return iso || "";
  const options = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: zone || "UTC" };
  if (withDate) Object.assign(options, { weekday: "short", day: "numeric", month: "short" });
  return new Intl.DateTimeFormat("en-GB", options).format(moment);
}

function fmtNow(iso) {
  const moment = parseTime(iso);
  if (!moment || Number.isNaN(moment.getTime())) return iso || "–";
  const part = (options) => new Intl.DateTimeFormat("en-GB", { ...options, timeZone: "UTC" }).format(moment);
  const time = part({ hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  return `${part({ weekday: "short" })} ${part({ day: "numeric" })} ${part({ month: "short" })} ${part({ year: "numeric" })} ${time}`;
}

function statusLabel(status) {
  if (!status) return "";
  const words = String(status).replace(/^TEXT_/, "").replace(/_/g, " ").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// "ok" (delivered), "pending" (on its way) or "failed" (any other final report).
function outcomeOf(status) {
  if (!status) return "pending";
  const upper = String(status).toUpperCase();
  if (SUCCEEDED.test(upper)) return "ok";
  if (IN_FLIGHT.test(upper)) return "pending";
  return "failed";
}

// The badge's colour: a delivery status by its outcome; a send request's or a campaign run's by its word.
function toneOf(status, kind) {
  const upper = String(status || "").toUpperCase();
  if (kind === "request") {
    return { SENT: "ok", HELD: "warn", REFUSED: "bad", UNKNOWN: "warn" }[upper] || "info";
  }
  if (kind === "campaign") return /FAIL|ERROR|CANCEL/.test(upper) ? "bad" : /DONE|COMPLETE|FINISH|ALL/.test(upper) ? "ok" : "info";
  const outcome = outcomeOf(status);
  return outcome === "ok" || upper === "SENT" ? "ok" : outcome === "failed" ? "bad" : "info";
}

function statusBadge(status, testid, kind) {
  return el("span", { class: `badge ${toneOf(status, kind)}`, "data-testid": testid, "data-status": status },
    statusLabel(status) || "–");
}

// "key: value · ..." of what a person reads first; ids and epoch times stay in the row's tooltip.
const NOISY_KEY = /(Id|_id|At|_at)$|^our/i;
function summary(detail, limit = 180, keepAll = false) {
  if (!detail || typeof detail !== "object") return "";
  const parts = [];
  for (const [key, value] of Object.entries(detail)) {
    if (value === null || value === undefined || value === "") continue;
    if (Array.isArray(value) && !value.length) continue;
    if (!keepAll && NOISY_KEY.test(key)) continue;
    const shown = typeof value === "object" ? JSON.stringify(value) : String(value);
    parts.push(`${key}: ${shown}`);
  }
  const text = parts.join(" · ");
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

function changed(name, value) {
  const json = JSON.stringify(value);
  if (app.rendered[name] === json) return false;
  app.rendered[name] = json;
  return true;
}

function emptyNote(text) { return el("p", { class: "empty-note" }, text); }

// -- start -------------------------------------------------------------------------------------
async function start() {
  wireControls();
  try {
    app.description = await api("GET", "/api/describe");
  } catch (error) {
    $("stack-line").textContent = `The sandbox did not answer: ${error.message}`;
    toast(`The sandbox did not answer: ${error.message}`);
    return;
  }
  renderDescription();
  const fromHash = decodeURIComponent(location.hash.slice(1));
  selectCustomer(fromHash || app.description.sample_customers[0] || "");
  poll();
}

function renderDescription() {
  const d = app.description;
  $("stack-line").textContent =
    `${d.stack_name} · config from ${d.config_source} · ${d.number_type} number, ${d.mps} MPS`;
  $("about-stack").textContent = `Stack ${d.stack_name}, config from ${d.config_source}; the business number `
    + `${d.business_number} is ${d.number_type} at ${d.mps} message part(s) a second.`;
  $("phone-business-number").textContent = d.business_number;
  $("phone-number-type").textContent = `Business number · ${d.number_type}`;
  document.title = `SMS sandbox · ${d.business_number}`;

  const functions = $("about-functions");
  functions.replaceChildren(...Object.entries(d.functions || {}).flatMap(([label, handler]) => [
    el("dt", {}, label), el("dd", {}, handler),
  ]));
  $("about-keywords").textContent = `Keywords the number answers: ${(d.keywords || []).join(", ")}.`;

  $("quick-replies").replaceChildren(...quickWords(d).map((word) =>
    el("button", {
      type: "button", "data-testid": `quick-${word.toLowerCase()}`, title: `Type ${word}`,
      onclick: () => { $("phone-input").value = word; $("phone-input").focus(); },
    }, word)));

  const templateOptions = () => Object.keys(d.templates || {}).map((id) => el("option", { value: id }, id));
  $("send-template").replaceChildren(...templateOptions());
  $("campaign-template").replaceChildren(...templateOptions());
  $("send-flow").replaceChildren(...(d.flows || []).map((flow) => el("option", { value: flow }, flow)));
  renderTemplateFields();
  renderFlowFields();
  fillCampaignCsv();
  renderCustomerOptions();
}

// HELP, STOP and START, then the config's own keywords (not the service's many opt-out synonyms), then AGENT.
function quickWords(d) {
  const keywords = d.keywords || [];
  const synonyms = /^(INFO|UNSTOP|STOPALL|REVOKE|ARRET|CANCEL|END|OPT-?OUT|QUIT|REMOVE|TD|UNSUBSCRIBE|YES|SUBSCRIBE)$/;
  const words = STANDARD_KEYWORDS.filter((word) => keywords.includes(word));
  for (const word of keywords) if (!words.includes(word) && !synonyms.test(word)) words.push(word);
  if ((d.flows || []).includes("support")) words.push("AGENT");
  return words.slice(0, 6);
}

// -- the customer ------------------------------------------------------------------------------
function knownCustomers() {
  const numbers = [...(app.description ? app.description.sample_customers : [])];
  for (const number of Object.keys((app.state && app.state.customers) || {})) {
    if (!numbers.includes(number)) numbers.push(number);
  }
  if (app.customer && !numbers.includes(app.customer)) numbers.push(app.customer);
  return numbers;
}

function renderCustomerOptions() {
  const numbers = knownCustomers();
  if (!changed("customer-options", [numbers, app.customer])) return;
  const samples = new Set(app.description.sample_customers);
  $("customer-select").replaceChildren(...numbers.map((number) =>
    el("option", { value: number, selected: number === app.customer },
      samples.has(number) ? `${number} (sample)` : number)));
}

function selectCustomer(number) {
  number = (number || "").trim();
  if (!number) return;
  app.customer = number;
  history.replaceState(null, "", `#${encodeURIComponent(number)}`);
  app.rendered = {};
  $("send-to").textContent = number;
  document.querySelectorAll(".for-customer").forEach((node) => { node.textContent = number; });
  renderCustomerOptions();
  if (app.description) refresh();
}

// -- polling ---------------------------------------------------------------------------------
async function refresh() {
  if (!app.customer) return;
  try {
    const asked = app.customer;
    const state = await api("GET", `/api/state?customer=${encodeURIComponent(asked)}`);
    if (asked !== app.customer) return;  // the customer changed while this was on its way
    app.state = state;
    if (state.selected && state.selected.number !== app.customer) {
      selectCustomer(state.selected.number);  // "(206) 555-0142" -> "+12065550142", as the stack keys it
      return;
    }
    render();
  } catch (error) {
    if (!(error instanceof ApiError)) {
      toast(`Lost the sandbox (${error.message}); is \`make sandbox\` still running?`);
    } else if (changed("state-error", error.message)) {
      toast(error.message);
    }
  }
}

function poll() {
  clearTimeout(app.polling);
  const again = () => { app.polling = setTimeout(poll, POLL_MS); };
  if (app.inFlight > 0) { again(); return; }
  refresh().finally(again);
}

// -- rendering -------------------------------------------------------------------------------
function currentCustomer() {
  const customers = (app.state && app.state.customers) || {};
  return customers[app.customer] || null;
}

function render() {
  renderClock();
  renderCustomerOptions();
  const customer = currentCustomer();
  renderCarrier(customer);
  renderThread(customer);
  renderConsent(customer);
  renderConversations(customer);
  renderOutbound();
  renderEvents();
  renderLedger();
  renderDeadLetters();
  renderCampaigns();
  renderSendOutcome();
}

// The last send's outcome, once the sender has recorded one (sent, held until..., refused because...).
function renderSendOutcome() {
  if (!app.lastSendKey || !app.state) return;
  const row = (app.state.outbound || []).find((item) => item.key === app.lastSendKey);
  if (!row) return;
  const status = String(row.status).toUpperCase();
  let line = `Request ${row.key}: ${statusLabel(row.status).toLowerCase()}`;
  if (row.reason) line += ` (${row.reason})`;
  if (row.release_at) line += `, released ${fmtClock(row.release_at, zones()[0], true)}`;
  if (changed("send-outcome", line)) setResult("send-result", `${line}.`, status === "SENT");
}

function renderClock() {
  const state = app.state;
  $("clock-now").textContent = fmtNow(state.now);
  $("clock-now").setAttribute("datetime", state.now);
  const zone = zones()[0];
  const local = zone ? `Customer's time: ${new Intl.DateTimeFormat("en-US", {
    weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone, timeZoneName: "short",
  }).format(parseTime(state.now))}` : "";
  $("clock-local").textContent = local;
  $("phone-time").textContent = fmtClock(state.now, zone);
  $("phone-owner").textContent = app.customer;
  document.querySelectorAll("#speed-buttons button").forEach((button) => {
    button.setAttribute("aria-pressed", String(Number(button.dataset.speed) === Number(state.speed)));
  });
}

function renderCarrier(customer) {
  if (app.carrierChanging) return;
  const outcome = customer ? customer.carrier : "deliver";
  const input = document.querySelector(`input[name="carrier"][value="${outcome}"]`);
  if (input && !input.checked) input.checked = true;
}

function bubble(text, zone) {
  const outbound = text.direction === "out";
  const children = [el("div", { class: "text", "data-testid": "bubble-text" }, text.body)];
  if (outbound) {
    const parts = text.parts === null || text.parts === undefined ? null
      : `${text.parts} part${text.parts === 1 ? "" : "s"}`;
    const price = text.price_usd ? `${text.price_estimated ? "≈" : ""}$${text.price_usd}` : null;
    const badges = [text.encoding, parts, price].filter(Boolean);
    children.push(el("div", { class: "meta" },
      el("span", {
        class: "badge", "data-testid": "bubble-badges",
        title: text.price_estimated ? "≈: estimated by number type (no delivery event has reported a price)" : null,
      }, badges.join(" · ")), fmtClock(text.at, zone)));
    const path = (text.statuses && text.statuses.length ? text.statuses : [text.status]).filter(Boolean);
    const outcome = path.length ? outcomeOf(text.status || path[path.length - 1]) : "none";
    const shown = [];
    for (const status of path.map(statusLabel)) if (shown[shown.length - 1] !== status) shown.push(status);
    let line = shown.join(" → ");
    if (outcome === "ok") line += " ✓";
    if (outcome === "failed") line = `${line} ✗ failed`;
    if (!path.length) {
      line = text.sent_by && text.sent_by !== "sender" && text.sent_by !== "inbound"
        ? `Keyword reply by ${text.sent_by} (no delivery events)` : "Sent";
    }
    children.push(el("div", {
      class: `status ${outcome === "ok" ? "ok" : outcome === "failed" ? "bad" : ""}`,
      "data-testid": "bubble-status", "data-outcome": outcome, title: path.join(" → "),
    }, line));
  } else {
    children.push(el("div", { class: "meta" }, fmtClock(text.at, zone)));
  }
  return el("li", {
    class: `bubble ${outbound ? "out" : "in"}`,
    "data-testid": outbound ? "bubble-out" : "bubble-in",
    "data-direction": text.direction, "data-status": text.status || "",
    "data-message-id": text.message_id || "",
  }, children);
}

function renderThread(customer) {
  const texts = customer ? customer.texts : [];
  const zone = zones()[0];
  if (!changed("thread", [app.customer, texts, zone])) return;
  const thread = $("thread");
  const atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
  if (!texts.length) {
    thread.replaceChildren(el("li", { class: "empty" },
      el("strong", {}, "No texts yet."), el("br"),
      "Type a message below, or tap a keyword, to text the business from this phone."));
    return;
  }
  thread.replaceChildren(...texts.map((text) => bubble(text, zone)));
  if (atBottom || thread.dataset.customer !== app.customer) thread.scrollTop = thread.scrollHeight;
  thread.dataset.customer = app.customer;
}

// "Opted in" only with the customer's opt-in on record: without one, promotional texts are refused.
function consentLabel(consent) {
  if (consent.opted_out) return "Opted out";
  return consent.proofs.some((proof) => proof.change === "OPTED_IN") ? "Opted in" : "Not opted out (no opt-in on record)";
}

function renderConsent(customer) {
  const consent = customer ? customer.consent : null;
  if (!changed("consent", consent)) return;
  const body = $("consent-body");
  if (!consent) { body.replaceChildren(emptyNote("Select a customer.")); return; }
  const facts = el("dl", { class: "facts" },
    el("dt", {}, "Consent"),
    el("dd", {}, el("span", {
      class: `badge ${consent.opted_out ? "bad" : "ok"}`, "data-testid": "consent-status",
      "data-opted-out": String(consent.opted_out),
    }, consentLabel(consent))),
    el("dt", {}, "On the number's opt-out list"),
    el("dd", {}, el("span", {
      class: `badge ${consent.on_opt_out_list ? "bad" : ""}`, "data-testid": "consent-list",
      "data-on-list": String(consent.on_opt_out_list),
    }, consent.on_opt_out_list ? "Yes" : "No")));
  const proofs = consent.proofs || [];
  const list = proofs.length
    ? el("ul", { class: "list scroll", "data-testid": "consent-proofs" }, proofs.map((proof) =>
      el("li", { "data-testid": "consent-proof", "data-change": proof.change },
        el("div", { class: "line1" },
          el("span", { class: `badge ${/OUT/i.test(proof.change) ? "bad" : "ok"}` }, statusLabel(proof.change)),
          el("span", {}, fmtClock(proof.at, zones()[0], true)),
          el("span", { class: "muted" }, `by ${statusLabel(proof.source).toLowerCase()}`)),
        el("div", { class: "line2" }, summary(proof.detail, 180, true)))))
    : emptyNote("No consent changes recorded for this number.");
  body.replaceChildren(facts, el("h3", { class: "visually-hidden" }, "Proofs"), list);
}

function renderConversations(customer) {
  const conversations = customer ? customer.conversations : [];
  if (!changed("conversations", conversations)) return;
  const body = $("conversations-body");
  if (!conversations.length) {
    body.replaceChildren(emptyNote("None open. Send with a flow (e.g. the appointment reminder) to start one."));
    return;
  }
  body.replaceChildren(el("ul", { class: "list scroll" }, conversations.map((conversation) =>
    el("li", { "data-testid": "conversation-row", "data-flow": conversation.flow, "data-status": conversation.status },
      el("div", { class: "line1" },
        el("strong", {}, conversation.flow),
        el("span", { class: "muted" }, "step"), el("code", { "data-testid": "conversation-step" }, conversation.step),
        el("span", { class: `badge ${String(conversation.status).toLowerCase() === "open" ? "info" : ""}`,
          "data-testid": "conversation-status" }, statusLabel(conversation.status))),
      el("div", { class: "line2", title: JSON.stringify(conversation.detail, null, 1) }, summary(conversation.detail))))));
}

function renderOutbound() {
  const rows = (app.state.outbound || []).slice(0, 40);
  if (!changed("outbound", [rows, app.customer])) return;
  const body = $("outbound-body");
  if (!rows.length) {
    body.replaceChildren(emptyNote("No send requests yet: use “Send a text” or a campaign."));
    return;
  }
  const zone = zones()[0];
  body.replaceChildren(el("div", { class: "scroll" }, el("table", {},
    el("thead", {}, el("tr", {}, ["To", "Status", "Reason", "Released at", "Request key"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((row) => el("tr", {
      class: row.destination === app.customer ? "selected" : "",
      "data-testid": "outbound-row", "data-status": row.status, "data-destination": row.destination,
    },
    el("td", { class: "mono" }, row.destination),
    el("td", {}, statusBadge(row.status, "outbound-status", "request")),
    el("td", { class: row.status === "REFUSED" ? "reason" : "", "data-testid": "outbound-reason" }, row.reason || ""),
    el("td", {}, row.release_at ? fmtClock(row.release_at, zone, true) : ""),
    el("td", { class: "mono small", title: row.key }, row.key.length > 18 ? `${row.key.slice(0, 17)}…` : row.key)))))));
}

function renderEvents() {
  const events = (app.state.bus_events || []).slice(0, 50);
  if (!changed("events", events)) return;
  const body = $("events-body");
  if (!events.length) { body.replaceChildren(emptyNote("Nothing on the bus yet.")); return; }
  body.replaceChildren(el("ul", { class: "list scroll" }, events.map((event) =>
    el("li", { "data-testid": "event-row", "data-type": event.detail_type, title: JSON.stringify(event.detail, null, 1) },
      el("div", { class: "line1" },
        el("span", { class: "badge info" }, event.detail_type),
        el("span", { class: "muted small" }, fmtClock(event.at, zones()[0], true))),
      el("div", { class: "line2" }, summary(event.detail))))));
}

function renderLedger() {
  const items = (app.state.ledger || []).filter((item) => item.destination_number === app.customer);
  if (!changed("ledger", [items, app.customer])) return;
  const body = $("ledger-body");
  if (!items.length) { body.replaceChildren(emptyNote("No texts to this customer in the ledger yet.")); return; }
  const zone = zones()[0];
  body.replaceChildren(el("ul", { class: "list scroll" }, items.map((item) => {
    const history = Array.isArray(item.history) ? [...item.history].sort() : [];
    const reason = item.status_description || item.reason || null;
    const path = [];
    for (const line of history) {
      const label = statusLabel(line.split(" ")[1]);
      if (path[path.length - 1] !== label) path.push(label);
    }
    const facts = [
      item.sent_at ? `sent ${fmtClock(item.sent_at, zone, true)}` : null,
      item.parts || item.estimated_parts
        ? `${item.parts || item.estimated_parts} part${(item.parts || item.estimated_parts) === 1 ? "" : "s"}` : null,
      item.price_usd !== undefined ? `$${item.price_usd}` : null,
    ].filter(Boolean);
    const failed = outcomeOf(item.status) === "failed";
    return el("li", { "data-testid": "ledger-row", "data-status": item.status, "data-outcome": outcomeOf(item.status) },
      el("div", { class: "line1" },
        statusBadge(item.status, "ledger-status"),
        failed ? el("span", { class: "reason small" }, "failed") : null,
        el("span", { class: "muted small" }, item.message_type || "")),
      el("div", { class: "line2" }, facts.join(" · ")),
      reason ? el("div", { class: `line2 ${failed ? "reason" : ""}`, "data-testid": "ledger-reason" }, reason) : null,
      path.length ? el("div", { class: "line2" }, `history: ${path.join(" → ")}`) : null,
      el("div", { class: "line2 mono", title: item.message_id }, `id ${item.message_id}`));
  })));
}

function renderDeadLetters() {
  const queues = app.state.dead_letters || {};
  if (!changed("dead-letters", queues)) return;
  const body = $("dead-letters-body");
  const names = Object.keys(queues);
  if (!names.length) { body.replaceChildren(emptyNote("No dead-letter queues reported.")); return; }
  body.replaceChildren(el("div", { class: "queues" }, names.map((name) => {
    const parked = queues[name] || [];
    const reasons = new Map();
    for (const letter of parked) {
      const reason = letter.reason || "no reason given";
      reasons.set(reason, (reasons.get(reason) || 0) + 1);
    }
    return el("div", { class: "queue", "data-testid": "dead-letter-queue", "data-queue": name, "data-count": parked.length },
      el("div", { class: "line1" },
        el("span", { class: "name" }, name),
        el("span", { class: `badge ${parked.length ? "bad" : "ok"}` }, parked.length ? `${parked.length} parked` : "empty")),
      reasons.size ? el("ul", { class: "reasons" }, [...reasons].map(([reason, count]) =>
        el("li", { "data-testid": "dead-letter-reason" }, `${reason}${count > 1 ? ` (×${count})` : ""}`))) : null);
  })));
}

function renderCampaigns() {
  const campaigns = app.state.campaigns || [];
  if (!changed("campaigns", campaigns)) return;
  const body = $("campaign-list");
  if (!campaigns.length) { body.replaceChildren(); return; }
  body.replaceChildren(el("h3", { class: "small muted" }, "Campaign runs"), el("ul", { class: "list" }, campaigns.map((run) =>
    el("li", { "data-testid": "campaign-row", "data-status": run.status },
      el("div", { class: "line1" }, el("strong", {}, run.campaign_id), statusBadge(run.status, "campaign-status", "campaign")),
      el("div", { class: "line2" }, Object.entries(run.counts || {}).map(([k, v]) => `${k} ${v}`).join(" · "))))));
}

// -- the send form -----------------------------------------------------------------------------
function renderTemplateFields() {
  const d = app.description;
  const template = (d.templates || {})[$("send-template").value];
  $("send-template-preview").textContent = template ? template.body : "No templates in the config: send a free text.";
  const holder = $("send-variables");
  holder.replaceChildren(...(template ? template.variables : []).map((name) => {
    const id = `send-var-${name}`;
    return el("div", {},
      el("label", { for: id }, name.replace(/_/g, " ")),
      el("input", { id, name, "data-testid": id, "data-variable": name, value: SAMPLE_VALUES[name] || "", placeholder: name }));
  }));
  if (template) $("send-message-type").value = template.message_type;
}

function sendMode() { return document.querySelector('input[name="send-mode"]:checked').value; }

function renderSendMode() {
  const mode = sendMode();
  $("send-template-fields").hidden = mode !== "template";
  $("send-text-fields").hidden = mode !== "text";
  $("send-flow-fields").hidden = mode !== "flow";
}

function renderFlowFields() {
  const sample = FLOW_SAMPLES[$("send-flow").value] || { variables: "", slots: "" };
  $("send-flow-variables").value = sample.variables;
  $("send-slots").value = sample.slots;
}

function fillAppointment() {
  selectTab("send");
  if ((app.description.flows || []).includes("appointment")) {
    $("send-mode-flow").checked = true;
    $("send-flow").value = "appointment";
    renderFlowFields();
  }
  renderSendMode();
  $("send-message-type").value = "TRANSACTIONAL";
  $("send-submit").focus();
}

function flowVariables() {
  const variables = {};
  for (const line of $("send-flow-variables").value.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) variables[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return variables;
}

function setResult(id, text, ok) {
  const node = $(id);
  node.textContent = text;
  node.className = `result ${ok ? "ok" : "bad"}`;
}

async function submitSend(event) {
  event.preventDefault();
  const request = { to: app.customer, message_type: $("send-message-type").value };
  const mode = sendMode();
  if (mode === "template") {
    request.template_id = $("send-template").value;
    request.variables = Object.fromEntries([...document.querySelectorAll("#send-variables input")]
      .map((input) => [input.dataset.variable, input.value]));
  } else if (mode === "text") {
    request.body = $("send-body").value;
  } else {
    request.flow = $("send-flow").value;
    request.variables = flowVariables();
    request.slots = $("send-slots").value.split("\n").map((slot) => slot.trim()).filter(Boolean);
  }
  const answer = await act("send-submit", "send-result", () => api("POST", "/api/send", request),
    (queued) => `Sent to the outbound queue (request ${queued.key}).`);
  app.lastSendKey = answer ? answer.key : null;
  renderSendOutcome();
}

async function submitCampaign(event) {
  event.preventDefault();
  const request = { csv: $("campaign-csv").value, template_id: $("campaign-template").value };
  const localTime = $("campaign-local-time").value.trim();
  if (localTime) request.local_time = localTime;
  await act("campaign-submit", "campaign-result", () => api("POST", "/api/campaign", request),
    (answer) => `Campaign ${answer.campaign_id} started.`);
}

function fillCampaignCsv() {
  if (app.csvEdited) return;
  const template = (app.description.templates || {})[$("campaign-template").value];
  const variables = template ? template.variables : [];
  const rows = [["phone_number", ...variables].join(",")];
  const names = ["Alex", "Sam", "Kim", "Lee"];
  app.description.sample_customers.slice(0, 3).forEach((number, index) => {
    rows.push([number, ...variables.map((name) => (name === "first_name" ? names[index] : SAMPLE_VALUES[name] || name))]
      .map((value) => (/[",]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value)).join(","));
  });
  $("campaign-csv").value = `${rows.join("\n")}\n`;
}

// Runs one action: disables its button, shows its one-line answer, refreshes the state.
async function act(buttonId, resultId, call, describe) {
  const button = buttonId ? $(buttonId) : null;
  if (button) button.disabled = true;
  // One action at a time, in order: a send clicked right after a carrier choice finds that choice applied.
  const previous = app.actions;
  let finished;
  app.actions = new Promise((resolve) => { finished = resolve; });
  try {
    await previous;
    const answer = await call();
    if (resultId) setResult(resultId, describe(answer), true);
    return answer;
  } catch (error) {
    if (resultId) setResult(resultId, error.message, false);
    else toast(error.message);
    return null;
  } finally {
    finished();
    if (button) button.disabled = false;
    await refresh();
  }
}

// -- controls --------------------------------------------------------------------------------
function selectTab(name) {
  for (const tab of ["send", "campaign"]) {
    const selected = tab === name;
    $(`tab-${tab}`).setAttribute("aria-selected", String(selected));
    $(`tab-${tab}`).tabIndex = selected ? 0 : -1;
    $(`panel-${tab}`).hidden = !selected;
  }
}

function wireControls() {
  $("customer-select").addEventListener("change", (event) => selectCustomer(event.target.value));
  $("customer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const number = $("customer-number").value.trim();
    if (!number) return;
    try {
      await api("GET", `/api/state?customer=${encodeURIComponent(number)}`);  // the stack's own check of the number
    } catch (error) {
      toast(error.message);
      return;
    }
    $("customer-number").value = "";
    selectCustomer(number);
  });

  document.querySelectorAll('input[name="carrier"]').forEach((input) => input.addEventListener("change", async () => {
    app.carrierChanging = true;
    try {
      await act(null, null, () => api("POST", "/api/carrier", { customer: app.customer, outcome: input.value }));
    } finally {
      app.carrierChanging = false;
      renderCarrier(currentCustomer());
    }
  }));

  $("phone-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("phone-input");
    const body = input.value;
    if (!body.trim()) return;
    input.value = "";
    const answer = await act("phone-send", null, () => api("POST", "/api/text", { customer: app.customer, body }));
    if (answer === null) input.value = body;
    input.focus();
  });

  document.querySelectorAll("#speed-buttons button").forEach((button) => button.addEventListener("click", () =>
    act(null, null, () => api("POST", "/api/speed", { speed: Number(button.dataset.speed) }))));
  for (const id of ["advance-minute", "advance-hour"]) {
    $(id).addEventListener("click", () =>
      act(id, null, () => api("POST", "/api/advance", { seconds: Number($(id).dataset.seconds) })));
  }
  $("advance-8am").addEventListener("click", () =>
    act("advance-8am", null, () => api("POST", "/api/advance", { until_local: "08:00", customer: app.customer })));

  $("tab-send").addEventListener("click", () => selectTab("send"));
  $("tab-campaign").addEventListener("click", () => selectTab("campaign"));
  document.querySelector(".tabs").addEventListener("keydown", (event) => {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    const next = $("tab-send").getAttribute("aria-selected") === "true" ? "campaign" : "send";
    selectTab(next);
    $(`tab-${next}`).focus();
  });

  document.querySelectorAll('input[name="send-mode"]').forEach((input) => input.addEventListener("change", renderSendMode));
  $("send-template").addEventListener("change", renderTemplateFields);
  $("send-flow").addEventListener("change", renderFlowFields);
  $("panel-send").addEventListener("submit", submitSend);
  $("send-body").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("panel-send").requestSubmit();
  });
  $("guide-appointment").addEventListener("click", fillAppointment);
  $("guide-close").addEventListener("click", () => {
    $("guide").hidden = true;
    try { localStorage.setItem("sandbox-guide-closed", "1"); } catch { /* private mode: shown next time */ }
  });
  try { if (localStorage.getItem("sandbox-guide-closed")) $("guide").hidden = true; } catch { /* shown */ }

  $("campaign-template").addEventListener("change", fillCampaignCsv);
  $("campaign-csv").addEventListener("input", () => { app.csvEdited = true; });
  $("panel-campaign").addEventListener("submit", submitCampaign);
}

document.addEventListener("DOMContentLoaded", start);
