// The desk page: the incoming-call pop-up, quick actions, the customer book.
import { lang, t, translate } from "./messages.js";
import { installBoard, openBooking } from "./kiosk-board.js";
import { billItems, installCashier, loadReport } from "./kiosk-cashier.js";
import { installSms, loadCardInbox, smsArrived } from "./kiosk-sms.js";
import { callDialled, callEnded, dialButton, installPhone } from "./kiosk-phone.js";
import { installRegistration } from "./kiosk-registration.js";
import { backupStep, installBackups } from "./kiosk-backups.js";

translate();
const popup = document.querySelector("#popup");
const login = document.querySelector("#login");
const state = { call: null, customer: null, started: false, live: false };

// Every time on the desk is the shop's local time (its zone comes from the SDK), whatever
// zone the desk computer is set to.
const shop = { zone: "Asia/Shanghai", year: "" };

function zoned(iso) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: shop.zone, year: "numeric", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date(iso));
  const part = Object.fromEntries(parts.map((p) => [p.type, p.value]));
  return { y: part.year, m: String(Number(part.month)), d: String(Number(part.day)), hh: part.hour, mm: part.minute };
}

// "3月6日 20:30" (with the year when it is not this year) in the shop's zone.
function when(iso) {
  const p = zoned(iso);
  return t(p.y === shop.year ? "dateTime" : "dateTimeYear", p);
}

// "20:30" in the shop's zone.
function clock(iso) {
  const p = zoned(iso);
  return `${p.hh}:${p.mm}`;
}

// A local time typed on the page ("2026-03-07T18:00") plus some hours, as local text:
// the SDK reads times without an offset in the shop's zone.
function laterLocal(local, hours) {
  return new Date(new Date(`${local}:00Z`).getTime() + hours * 3600_000).toISOString().slice(0, 16);
}

// The desk token: handed over once in the address the host prints (#token=…), kept
// for this tab only, asked for (桌面口令) when missing or refused.
const TOKEN_KEY = "zhanye.deskToken";
const handed = /(?:^#|&)token=([^&]+)/.exec(location.hash);
if (handed) {
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(handed[1]));
  history.replaceState(null, "", location.pathname + location.search);
}
const token = () => sessionStorage.getItem(TOKEN_KEY) || "";

class Unauthorized extends Error {}

function askForToken(message) {
  document.querySelector("#login-error").textContent = message || "";
  if (!login.open) login.showModal();
}

// A refused desk token: the login form says so (a wrong entry, or a token the host no
// longer takes) and what to do; too many wrong tokens: how long to wait.
function refused(status, data = {}) {
  if (status === 429 && data.error?.code === "rate_limited") {
    const text = t("tooManyTries", { seconds: data.error.retry_after_s ?? 60 });
    askForToken(text);
    throw new Unauthorized(text);
  }
  if (status !== 401) return;
  const text = login.open ? t("tokenWrong") : t("tokenRefused");
  sessionStorage.removeItem(TOKEN_KEY);
  showStatus("refused", text);
  askForToken(text);
  throw new Unauthorized(text);
}

// The desk's state in the header, in words: the phone (connected, unplugged, SIM not
// registered), a desk error, or the page's own link to the host.
function showStatus(kind, text) {
  const box = document.querySelector("#status");
  box.dataset.state = kind;
  box.textContent = text;
}
showStatus("connecting", t("deskConnecting"));

// An error body of the SDK (code, message, message_zh) in the desk's language.
function reasonOf(body) {
  return lang === "zh-CN" && body.message_zh ? body.message_zh : body.message;
}

// An error from the desk API, with the SDK's code (invalid_input, conflict …), its English
// detail and, when the SDK has one, the Chinese detail (message_zh).
function deskError(code, detail, detailZh = null) {
  const error = new Error(detail);
  error.code = code;
  error.detailZh = detailZh;
  return error;
}

// The error body of a desk API response as a deskError.
function deskErrorOf(data, statusText) {
  return deskError(data.error?.code, data.error?.message || statusText, data.error?.message_zh || null);
}

// What went wrong, in the desk's language, with the SDK's detail.
function explain(error) {
  const keys = {
    invalid_input: "errorInvalid",
    conflict: "errorConflict",
    not_found: "errorNotFound",
    permission_denied: "errorDenied",
    network: "errorNetwork",
  };
  const detail = lang === "zh-CN" && error.detailZh ? error.detailZh : error.message;
  return t(keys[error.code] || "error", { detail });
}

async function call(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw deskError("network", String(error));
  }
  const data = await response.json().catch(() => ({}));
  refused(response.status, data);
  if (!response.ok) throw deskErrorOf(data, response.statusText);
  return data;
}

login.addEventListener("cancel", (event) => event.preventDefault());
document.querySelector("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, event.target.elements.token.value.trim());
  try {
    await call("GET", "/api/desk/levels");
  } catch (error) {
    if (!(error instanceof Unauthorized)) askForToken(explain(error));
    return;
  }
  event.target.reset();
  login.close();
  start();
});

function toast(text) {
  const box = document.querySelector("#toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(box.timer);
  box.timer = setTimeout(() => (box.hidden = true), 5000);
}

function list(element, items, render, empty = t("none")) {
  element.replaceChildren();
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = empty;
    element.append(li);
  }
  for (const item of items) {
    const li = document.createElement("li");
    li.textContent = render(item);
    element.append(li);
  }
}

function openPopup(data) {
  // The same caller ringing again (they gave up and called back) while the desk is still
  // typing on their card: what was typed stays, it is not reloaded over.
  const keep = popup.open && state.dirty && state.customer && data.customer && state.customer.id === data.customer.id;
  state.call = data.call_id;
  state.customer = data.customer;
  state.number = data.number;
  state.line = data.line || "gsm";
  state.record = null;
  if (!keep) state.pendingNotes = null;
  state.dirty = keep;
  const card = document.querySelector("#popup-card");
  card.hidden = !data.customer;
  if (!keep) {
    // Level and groups are written only once they are shown for this caller.
    delete card.dataset.level;
    delete card.dataset.groups;
    card.reset();
    document.querySelector("#popup-saved").textContent = "";
  }
  if (data.customer && !keep) {
    for (const key of ["name", "gender", "company", "customer_type", "notes"]) card.elements[key].value = data.customer[key] || "";
    fillCardChoices(card, data.customer.id).catch((error) => toast(explain(error)));
  }
  const caller = data.unreadable ? t("unreadableNumber", { raw: data.unreadable }) : data.withheld ? t("withheldNumber") : data.number || "";
  document.querySelector("#popup-title").textContent = `${t("incoming")} ${caller}`;
  // Which line rings: the SIM's number or the shop's old landline (一机双号).
  const line = document.querySelector("#popup-line");
  line.dataset.line = state.line;
  line.textContent = t("lineRings", { line: t(`line_${state.line}`) });
  const name = data.customer ? data.customer.name || t("unknown") : t("unknown");
  document.querySelector("#popup-who").textContent = data.known ? `${name} · ${t("known")}` : name;
  document.querySelector("#popup-state").textContent = "";
  list(document.querySelector("#popup-calls"), data.recent_calls, (c) => `${when(c.started_at)} ${t(c.outcome)}${c.line === "pstn" ? ` · ${t("line_pstn")}` : ""}${c.notes ? ` · ${c.notes}` : ""}`, t("noCalls"));
  list(document.querySelector("#popup-upcoming"), data.upcoming, (r) => `${when(r.start)} · ${t("partyOf", { n: r.party_size })}`, t("noUpcoming"));
  document.querySelector("#reserve-form").hidden = true;
  document.querySelector("#reserve").disabled = !data.customer;
  state.live = true;
  if (popup.open) popup.close();
  popup.classList.remove("docked");
  document.querySelector("#expand").hidden = true;
  document.querySelector("#close").hidden = false;
  popup.showModal();
}

// While a call is ringing or on, the pop-up never goes away: another screen (短信) or
// Escape docks it in a corner, with 接听/挂断 and a way back to the whole card.
function dock() {
  popup.close();
  popup.classList.add("docked");
  document.querySelector("#expand").hidden = false;
  document.querySelector("#close").hidden = true;
  popup.show();
}

function undock() {
  popup.close();
  popup.classList.remove("docked");
  document.querySelector("#expand").hidden = true;
  document.querySelector("#close").hidden = false;
  popup.showModal();
}

popup.addEventListener("cancel", (event) => {
  if (!state.live) return;
  event.preventDefault();
  dock();
});
popup.addEventListener("close", () => {
  if (!popup.open && !state.live) popup.classList.remove("docked");
});

function connect() {
  if (state.socket) return;
  if (!token()) {
    setTimeout(connect, 1000);
    return;
  }
  // The desk token goes in the handshake's subprotocol header, never in the URL.
  const socket = new WebSocket(`ws://${location.host}/ws/desk`, ["zhanye.v1", `bearer.${token()}`]);
  state.socket = socket;
  socket.addEventListener("open", () => loadShop());
  socket.addEventListener("message", (event) => {
    const { type, data } = JSON.parse(event.data);
    if (type === "DeskStatus") showStatus(data.state, t(`phone_${data.state}`, { detail: data.detail || "" }));
    else if (type === "PopUpOpened") openPopup(data);
    else if (type === "PopUpUpdated" && data.call_id === state.call) document.querySelector("#popup-state").textContent = t("answered");
    else if (type === "PopUpClosed" && data.call_id !== state.call) {
      callEnded(data);
      refreshCalls();
    } else if (type === "PopUpClosed" && data.call_id === state.call) {
      document.querySelector("#popup-state").textContent = t(data.missed ? "missed" : "ended");
      state.record = data.call ? data.call.id : null;
      state.live = false;
      document.querySelector("#close").hidden = false;
      if (state.pendingNotes !== null && state.record !== null) saveNotes(state.pendingNotes);
      refreshCalls();
      // It stays open: the desk finishes the notes and closes it (关闭) or saves.
    } else if (type === "CallDialled") {
      callDialled(data);
    } else if (type === "BackupStep") {
      backupStep(data);
    } else if (type === "SmsArrived") {
      smsArrived(data);
    } else if (type === "AutoSmsSent") {
      toast(data.sent ? t("autoSms", { number: data.number }) : t("autoSmsSkipped", { number: data.number, reason: autoSmsText(data.reason, data.detail) }));
      refreshCalls();
    }
  });
  socket.addEventListener("close", async () => {
    state.socket = null;
    showStatus("connecting", t("deskConnecting"));
    // A browser does not tell why a WebSocket was refused: ask the host, which says
    // whether the token is still good (a refused one opens the token form).
    try {
      await call("GET", "/api/desk/status");
    } catch (error) {
      if (error instanceof Unauthorized) return; // reconnects once a token is entered
    }
    setTimeout(connect, 1000);
  });
}

// 接听/挂断 act on the line the pop-up's call rings on.
document.querySelector("#answer").addEventListener("click", () => call("POST", "/api/desk/call/answer", { line: state.line }).catch((e) => toast(explain(e))));
document.querySelector("#hangup").addEventListener("click", () => call("POST", "/api/desk/call/hangup", { line: state.line }).catch((e) => toast(explain(e))));
document.querySelector("#close").addEventListener("click", () => {
  popup.close();
  popup.classList.remove("docked");
});
document.querySelector("#expand").addEventListener("click", undock);

// The pop-up's card and conversation notes (沟通内容): the card is saved at once, the
// notes go on this call's record, which exists once the call has ended.
async function saveNotes(text) {
  try {
    await call("PUT", `/api/desk/calls/${state.record}/notes`, { notes: text });
    state.pendingNotes = null;
    document.querySelector("#popup-saved").textContent = t("saved");
  } catch (error) {
    document.querySelector("#popup-saved").textContent = explain(error);
  }
}

document.querySelector("#popup-card").addEventListener("input", () => (state.dirty = true));
document.querySelector("#popup-card").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target.elements;
  const saved = document.querySelector("#popup-saved");
  try {
    const card = await saveCard(event.target, state.customer.id, {
      name: f.name.value, gender: f.gender.value, company: f.company.value, customer_type: f.customer_type.value, notes: f.notes.value,
    });
    state.customer = card.customer;
    document.querySelector("#popup-who").textContent = card.display_name;
  } catch (error) {
    saved.textContent = explain(error);
    return;
  }
  const notes = f.talk.value.trim();
  if (!notes) {
    saved.textContent = t("saved");
  } else if (state.record !== null) {
    await saveNotes(notes);
  } else {
    state.pendingNotes = notes;
    saved.textContent = t("notesPending");
  }
  // Saved after the call: the desk is done with this caller.
  if (!state.live && state.pendingNotes === null && saved.textContent === t("saved")) {
    popup.close();
    popup.classList.remove("docked");
    toast(t("saved"));
  }
});

document.querySelector("#popup-sms").addEventListener("click", () => {
  document.querySelector("#sms-numbers").value = state.number || "";
  document.querySelector('[data-tab="sms"]').click();
  if (state.live) dock();
  else popup.close();
});
document.querySelector("#reserve").addEventListener("click", async () => {
  const form = document.querySelector("#reserve-form");
  const select = form.elements.resource;
  select.replaceChildren();
  for (const r of (await call("GET", "/api/desk/resources")).items) select.append(new Option(`${r.name}（${r.capacity}）`, String(r.id)));
  form.hidden = false;
  form.scrollIntoView({ block: "nearest" });
});
document.querySelector("#reserve-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target.elements;
  try {
    const result = await call("POST", "/api/desk/reservations", {
      resource_id: Number(f.resource.value),
      customer_id: state.customer.id,
      party_size: Number(f.party.value),
      start: f.start.value,
      end: laterLocal(f.start.value, Number(f.hours.value)),
    });
    document.querySelector("#reserve-result").textContent = result.sms_blocked
      ? t("confirmedHeld", { reason: reasonOf(result.sms_blocked) })
      : t("confirmed", { sms: result.sms });
  } catch (error) {
    document.querySelector("#reserve-result").textContent = explain(error);
  }
});

// The customer book: the newest customers until something is typed, then the matches.
// The list is drawn again on every search and tab visit: what staff ticked stays ticked,
// and only the newest search's answer is drawn (an older, slower one must not replace it).
let searches = 0;
async function searchCustomers(text) {
  const mine = ++searches;
  const { items } = await call("GET", `/api/desk/customers?q=${encodeURIComponent(text)}`);
  if (mine !== searches) return;
  const results = document.querySelector("#results");
  const ticked = new Set([...results.querySelectorAll("input:checked")].map((box) => box.value));
  results.replaceChildren();
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = t(text.trim() ? "noMatches" : "noCustomers");
    results.append(li);
  }
  for (const c of items) {
    const li = document.createElement("li");
    const tick = document.createElement("input");
    tick.type = "checkbox";
    tick.value = String(c.id);
    tick.checked = ticked.has(tick.value);
    tick.setAttribute("aria-label", t("selectCustomer", { name: c.name || c.phone }));
    tick.addEventListener("click", (event) => event.stopPropagation());
    const label = document.createElement("span");
    label.textContent = `${c.name || t("unknown")} · ${c.phone}`;
    li.append(tick, label);
    li.addEventListener("click", () => editCard(c));
    results.append(li);
  }
}
let searchTimer = null;
document.querySelector("#search").addEventListener("input", (event) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => searchCustomers(event.target.value).catch((error) => toast(explain(error))), 200);
});

async function editCard(customer) {
  const form = document.querySelector("#card-form");
  form.hidden = false;
  form.dataset.id = customer.id;
  delete form.dataset.level;
  delete form.dataset.groups;
  document.querySelector("#card-phone").textContent = customer.phone;
  for (const key of ["name", "gender", "company", "customer_type", "birthday", "notes"]) form.elements[key].value = customer[key] || "";
  await fillCardChoices(form, customer.id);
  loadCardInbox(customer.id).catch((error) => toast(explain(error)));
  await loadCardCalls();
}

// The card's own call log, with its conversation notes (written or changed after the call).
async function loadCardCalls() {
  const form = document.querySelector("#card-form");
  if (form.hidden || !form.dataset.id) return;
  const { items } = await call("GET", `/api/desk/calls?customer_id=${form.dataset.id}`);
  const body = document.querySelector("#card-calls tbody");
  body.replaceChildren();
  for (const entry of items) {
    const kind = t(`kind_${entry.kind}`) + (entry.line === "pstn" ? ` · ${t("line_pstn")}` : "");
    body.append(tableRow([when(entry.started_at), kind, t("seconds", { n: entry.duration_s }), entry.notes || ""], [notesButton(entry)]));
  }
  if (!items.length) body.append(emptyRow(5, t("noCalls")));
}

// A card's 会员等级 and 所属客户分组 choices, as the customer has them now.
async function fillCardChoices(form, customerId) {
  const [levels, card] = await Promise.all([call("GET", "/api/desk/levels"), call("GET", `/api/desk/customers/${customerId}`), fetchGroups()]);
  const select = form.elements.level;
  select.replaceChildren(new Option(t("noLevel"), ""));
  for (const level of levels.items) select.append(new Option(`${level.name}（${zhe(level.discount)}）`, String(level.id)));
  select.value = card.customer.level ? String(card.customer.level.id) : "";
  form.dataset.level = select.value;
  const picks = form.querySelector(".picks");
  picks.replaceChildren();
  if (!groupsState.items.length) picks.textContent = t("noGroups");
  for (const group of groupsState.items) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = String(group.id);
    box.checked = card.group_ids.includes(group.id);
    const name = document.createElement("span");
    name.textContent = group.name;
    label.append(box, name);
    picks.append(label);
  }
  form.dataset.groups = pickedGroups(form).join(",");
}

function pickedGroups(form) {
  return [...form.querySelectorAll(".picks input:checked")].map((box) => Number(box.value));
}

// Saves a card's fields, then its level and groups when they changed; the card as saved.
async function saveCard(form, customerId, fields) {
  let card = await call("PATCH", `/api/desk/customers/${customerId}`, fields);
  const level = form.elements.level.value;
  if (form.dataset.level !== undefined && level !== form.dataset.level) {
    card = await call("PUT", `/api/desk/customers/${customerId}/level`, { level_id: level ? Number(level) : null });
    form.dataset.level = level;
  }
  const groups = pickedGroups(form);
  if (form.dataset.groups !== undefined && groups.join(",") !== form.dataset.groups) {
    card = await call("PUT", `/api/desk/customers/${customerId}/groups`, { group_ids: groups });
    form.dataset.groups = groups.join(",");
  }
  return card;
}

document.querySelector("#card-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const f = form.elements;
  try {
    await saveCard(form, form.dataset.id, {
      name: f.name.value, gender: f.gender.value, company: f.company.value, customer_type: f.customer_type.value,
      birthday: f.birthday.value || null, notes: f.notes.value,
    });
    toast(t("saved"));
  } catch (error) {
    toast(explain(error));
  }
});

// The shop's zone and year, before any time is shown (again on every reconnect).
async function loadShop() {
  try {
    const found = await call("GET", "/api/desk/shop");
    shop.zone = found.timezone;
    shop.year = zoned(found.now).y;
  } catch (error) {
    if (!(error instanceof Unauthorized)) toast(explain(error));
  }
}

async function start() {
  if (state.started) {
    connect(); // a token entered again: back on the live stream
    return;
  }
  state.started = true;
  await loadShop();
  connect();
  searchCustomers("").catch((error) => toast(explain(error)));
  fetchGroups().catch((error) => toast(explain(error)));
  loadReminder().catch(() => {});
  setInterval(() => loadReminder().catch(() => {}), 60_000);
}
if (token()) start();
else askForToken();

// Tabs: the customer book, bulk SMS, the ledger.
for (const tab of document.querySelectorAll("[data-tab]")) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll("[data-tab]")) other.setAttribute("aria-selected", String(other === tab));
    for (const panel of document.querySelectorAll("[data-panel]")) panel.hidden = panel.dataset.panel !== tab.dataset.tab;
    if (tab.dataset.tab === "book") searchCustomers(document.querySelector("#search").value).catch(() => {});
    if (tab.dataset.tab === "ledger") loadReport();
    if (tab.dataset.tab === "levels") loadLevels();
    if (tab.dataset.tab === "settings") loadAutoSms().catch((error) => toast(explain(error)));
    if (tab.dataset.tab === "calls") loadCalls().catch((error) => toast(explain(error)));
    if (tab.dataset.tab === "groups") loadGroups().catch((error) => toast(explain(error)));
    if (tab.dataset.tab === "care") loadCare();
    if (tab.dataset.tab === "sms") loadOutbox().catch((error) => toast(explain(error)));
  });
}

// The newest messages and what became of each (sent, in doubt, held back …).
async function loadOutbox() {
  const outbox = await call("GET", "/api/desk/sms/outbox");
  document.querySelector("#outbox-locked").textContent = outbox.blocked ? t("outboxLocked", { reason: reasonOf(outbox.blocked) }) : "";
  list(document.querySelector("#outbox"), outbox.items || [], (m) => `${m.number}：${t(`sms_${m.status}`)}`);
  return outbox;
}

function bulkForm() {
  return {
    template: document.querySelector("#sms-template").value,
    // As typed: the SDK splits the lists (commas, 、, semicolons, new lines) and names
    // every entry it cannot use.
    numbers: [document.querySelector("#sms-numbers").value],
    groups: [document.querySelector("#sms-groups").value],
  };
}

document.querySelector("#sms-preview").addEventListener("click", async () => {
  try {
    const result = await call("POST", "/api/desk/sms/preview", bulkForm());
    document.querySelector("#sms-summary").textContent = t("smsSummary", result);
    list(document.querySelector("#sms-list"), result.items.slice(0, 20), (p) => `${p.number}：${p.text}（${t("smsSize", p)}）`);
  } catch (error) {
    toast(explain(error));
  }
});

document.querySelector("#sms-send").addEventListener("click", async () => {
  try {
    // Nothing goes out before the desk confirms how many people will get it.
    const planned = await call("POST", "/api/desk/sms/preview", bulkForm());
    if (!confirm(t("confirmBulk", { n: planned.recipients, parts: planned.parts }))) return;
    const report = await call("POST", "/api/desk/sms/send", bulkForm());
    const optedOut = report.skipped.filter(([, why]) => why === "opted_out").length;
    document.querySelector("#sms-summary").textContent = t("smsReport", {
      sent: report.sent.length, failed: report.failed.length, skipped: report.skipped.length, optedOut,
    });
    const bar = document.querySelector("#sms-progress");
    bar.hidden = false;
    bar.max = Math.max(1, report.sent.length);
    const poll = async () => {
      const { pending } = await loadOutbox();
      bar.value = bar.max - Math.min(bar.max, pending);
      if (pending > 0) {
        document.querySelector("#sms-list").replaceChildren();
        setTimeout(poll, 1000);
      }
    };
    poll();
  } catch (error) {
    toast(explain(error));
  }
});

// A table row saying the table is empty (暂无…).
function emptyRow(columns, text) {
  const tr = document.createElement("tr");
  tr.className = "empty";
  const td = document.createElement("td");
  td.colSpan = columns;
  td.textContent = text;
  tr.append(td);
  return tr;
}

// Membership levels (会员等级): discount rates, 0.88 = 8.8折.
function zhe(rate) {
  return t("zhe", { zhe: String(Math.round(Number(rate) * 1000) / 100), pct: String(Math.round(Number(rate) * 10000) / 100) });
}

async function loadLevels() {
  const { items } = await call("GET", "/api/desk/levels");
  const body = document.querySelector("#levels tbody");
  body.replaceChildren();
  for (const level of items) {
    const edit = actionButton(t("edit"), () => {
      const form = document.querySelector("#level-form");
      form.dataset.id = level.id;
      form.elements.name.value = level.name;
      form.elements.discount.value = level.discount;
      document.querySelector("#level-form-title").textContent = t("editLevel", level);
    });
    body.append(tableRow([level.name, `${level.discount}（${zhe(level.discount)}）`], [edit]));
  }
  if (!items.length) body.append(emptyRow(3, t("noLevels")));
}

// A table row of text cells and a last cell of action buttons.
function tableRow(values, buttons) {
  const tr = document.createElement("tr");
  for (const value of values) {
    const td = document.createElement("td");
    td.textContent = value;
    tr.append(td);
  }
  const td = document.createElement("td");
  td.append(...buttons);
  tr.append(td);
  return tr;
}

function actionButton(label, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.addEventListener("click", onClick);
  return button;
}

document.querySelector("#level-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const body = { name: form.elements.name.value.trim(), discount: form.elements.discount.value.trim() };
  try {
    const level = form.dataset.id
      ? await call("PATCH", `/api/desk/levels/${form.dataset.id}`, body)
      : await call("POST", "/api/desk/levels", body);
    document.querySelector("#level-result").textContent = t("levelSaved", level);
    form.reset();
    loadLevels();
  } catch (error) {
    document.querySelector("#level-result").textContent = explain(error);
  }
});
document.querySelector("#level-form").addEventListener("reset", (event) => {
  delete event.target.dataset.id;
  document.querySelector("#level-form-title").textContent = t("newLevel");
});

// Customer care (客户关怀): the birthday greeting and holiday greetings such as 春节.
function showCare({ settings, holidays }) {
  const birthday = document.querySelector("#birthday-form").elements;
  birthday.enabled.checked = settings.birthday_enabled;
  birthday.template.value = settings.birthday_template;
  birthday.send_at.value = settings.send_at;
  const body = document.querySelector("#holidays tbody");
  body.replaceChildren();
  for (const holiday of holidays) {
    const edit = actionButton(t("edit"), () => {
      const form = document.querySelector("#holiday-form");
      form.dataset.id = holiday.id;
      for (const key of ["name", "day", "send_at", "template"]) form.elements[key].value = holiday[key];
      document.querySelector("#holiday-form-title").textContent = t("editHoliday", holiday);
    });
    const remove = actionButton(t("delete"), async () => {
      try {
        showCare(await call("DELETE", `/api/desk/care/holidays/${holiday.id}`));
      } catch (error) {
        toast(explain(error));
      }
    });
    body.append(tableRow([holiday.name, holiday.day, holiday.send_at, holiday.template], [edit, remove]));
  }
  if (!holidays.length) body.append(emptyRow(5, t("noHolidays")));
}

async function loadCare() {
  showCare(await call("GET", "/api/desk/care"));
}

document.querySelector("#birthday-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target.elements;
  try {
    showCare(await call("PUT", "/api/desk/care", {
      birthday_enabled: f.enabled.checked, birthday_template: f.template.value, send_at: f.send_at.value,
    }));
    document.querySelector("#birthday-result").textContent = t("saved");
  } catch (error) {
    document.querySelector("#birthday-result").textContent = explain(error);
  }
});

document.querySelector("#holiday-template").addEventListener("click", () => {
  const f = document.querySelector("#holiday-form").elements;
  f.template.value = t("holidayTemplate", { holiday: f.name.value.trim() || t("holiday"), name: "{name}" });
});

document.querySelector("#holiday-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const f = form.elements;
  const body = { name: f.name.value.trim(), day: f.day.value, send_at: f.send_at.value, template: f.template.value };
  try {
    showCare(form.dataset.id
      ? await call("PATCH", `/api/desk/care/holidays/${form.dataset.id}`, body)
      : await call("POST", "/api/desk/care/holidays", body));
    document.querySelector("#holiday-result").textContent = t("holidaySaved", body);
    form.reset();
  } catch (error) {
    document.querySelector("#holiday-result").textContent = explain(error);
  }
});
document.querySelector("#holiday-form").addEventListener("reset", (event) => {
  delete event.target.dataset.id;
  document.querySelector("#holiday-form-title").textContent = t("newHoliday");
});

// Import and export of the customer book, with progress: bytes downloaded or uploaded,
// then the server's work on the rows.
const progressBar = document.querySelector("#transfer-progress");
const transferResult = document.querySelector("#transfer-result");

function showProgress(done, total) {
  progressBar.hidden = false;
  if (total) {
    progressBar.max = total;
    progressBar.value = done;
  } else {
    progressBar.removeAttribute("value"); // indeterminate: the server is working
  }
}

async function download(path, filename) {
  showProgress(0, 0);
  transferResult.textContent = t("downloading");
  try {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
    refused(response.status);
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      throw deskErrorOf(data, response.statusText);
    }
    const total = Number(response.headers.get("Content-Length")) || 0;
    const reader = response.body.getReader();
    const chunks = [];
    let done = 0;
    for (;;) {
      const { done: finished, value } = await reader.read();
      if (finished) break;
      chunks.push(value);
      done += value.length;
      showProgress(done, total || done);
    }
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob(chunks, { type: response.headers.get("Content-Type") || "" }));
    link.download = filename;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    showProgress(1, 1);
    transferResult.textContent = t("downloaded", { file: filename });
  } catch (error) {
    transferResult.textContent = explain(error);
  }
}

document.querySelector("#download-template").addEventListener("click", () => {
  const fmt = document.querySelector("#transfer-format").value;
  download(`/api/desk/book/template?format=${fmt}`, `${t("templateFile")}.${fmt}`);
});
document.querySelector("#export-book").addEventListener("click", () => {
  const fmt = document.querySelector("#transfer-format").value;
  download(`/api/desk/book/export?format=${fmt}`, `${t("exportFile")}.${fmt}`);
});

document.querySelector("#import-book").addEventListener("click", () => {
  const file = document.querySelector("#import-file").files[0];
  const errors = document.querySelector("#import-errors");
  errors.hidden = true;
  if (!file) {
    transferResult.textContent = t("chooseFile");
    return;
  }
  const fmt = file.name.toLowerCase().endsWith(".csv") ? "csv" : "xlsx";
  const request = new XMLHttpRequest();
  request.open("POST", `/api/desk/book/import?format=${fmt}`);
  request.setRequestHeader("Authorization", `Bearer ${token()}`);
  request.upload.addEventListener("progress", (event) => {
    if (event.lengthComputable && event.loaded < event.total) {
      showProgress(event.loaded, event.total);
      transferResult.textContent = t("uploading", { pct: Math.round((event.loaded / event.total) * 100) });
    } else {
      showProgress(0, 0);
      transferResult.textContent = t("importing");
    }
  });
  request.addEventListener("load", () => {
    let data = {};
    try {
      data = JSON.parse(request.responseText);
    } catch {
      data = {};
    }
    if (request.status === 401) {
      try {
        refused(401);
      } catch {
        // the login dialog is open; the file stays chosen for another try
      }
      return;
    }
    showProgress(1, 1);
    if (request.status >= 400) {
      transferResult.textContent = explain(deskErrorOf(data, request.statusText));
      return;
    }
    transferResult.textContent = t("imported", { created: data.created, updated: data.updated, failed: data.errors.length });
    const body = errors.querySelector("tbody");
    body.replaceChildren();
    for (const problem of data.errors) {
      const tr = document.createElement("tr");
      const reason = lang === "zh-CN" && problem.message_zh ? problem.message_zh : problem.message;
      for (const value of [t("rowNumber", problem), reason]) {
        const td = document.createElement("td");
        td.textContent = value;
        tr.append(td);
      }
      body.append(tr);
    }
    errors.hidden = data.errors.length === 0;
  });
  request.addEventListener("error", () => {
    transferResult.textContent = explain(deskError("network", ""));
  });
  showProgress(0, file.size);
  request.send(file);
});

// Customer groups (客户分组): every group with its size; browse, rename, delete (the SDK
// refuses while customers are in it and says how many), and 短信群发 to a group.
const groupsState = { items: [] };

async function fetchGroups() {
  groupsState.items = (await call("GET", "/api/desk/groups")).items;
  const select = document.querySelector("#assign-group");
  const kept = select.value;
  select.replaceChildren(new Option(t("chooseGroup"), ""));
  for (const group of groupsState.items) select.append(new Option(group.name, String(group.id)));
  select.value = groupsState.items.some((g) => String(g.id) === kept) ? kept : "";
  return groupsState.items;
}

async function loadGroups() {
  const items = await fetchGroups();
  const body = document.querySelector("#groups tbody");
  body.replaceChildren();
  const result = document.querySelector("#group-result");
  for (const group of items) {
    const browse = actionButton(t("browse"), () => showMembers(group.id).catch((error) => (result.textContent = explain(error))));
    const rename = actionButton(t("rename"), () => {
      const form = document.querySelector("#group-form");
      form.dataset.id = group.id;
      form.elements.name.value = group.name;
      document.querySelector("#group-form-title").textContent = t("renameGroup", group);
      form.elements.name.focus();
    });
    const remove = actionButton(t("remove"), async () => {
      try {
        await call("DELETE", `/api/desk/groups/${group.id}`);
        result.textContent = t("groupDeleted", group);
        hideMembers(group.id);
        await loadGroups();
      } catch (error) {
        result.textContent = explain(error);
      }
    });
    const sms = actionButton(t("bulkSms"), () => smsToGroup(group.name));
    const row = tableRow([group.name, String(group.members)], [browse, rename, remove, sms]);
    // 右键 a group: its menu (短信群发, 查看), as the desk software the brief describes.
    row.addEventListener("contextmenu", (event) => {
      event.preventDefault();
      openGroupMenu(group, event.clientX, event.clientY);
    });
    body.append(row);
  }
  if (!items.length) body.append(emptyRow(3, t("noGroups")));
}

function closeGroupMenu() {
  document.querySelector("#group-menu").hidden = true;
}

function openGroupMenu(group, x, y) {
  const menu = document.querySelector("#group-menu");
  menu.replaceChildren();
  for (const [label, act] of [[t("bulkSms"), () => smsToGroup(group.name)], [t("browse"), () => showMembers(group.id).catch((error) => toast(explain(error)))]]) {
    const item = document.createElement("button");
    item.type = "button";
    item.setAttribute("role", "menuitem");
    item.textContent = label;
    item.addEventListener("click", () => {
      closeGroupMenu();
      act();
    });
    menu.append(item);
  }
  menu.setAttribute("aria-label", t("groupMenu", { name: group.name }));
  menu.hidden = false;
  menu.style.left = `${Math.min(x, innerWidth - menu.offsetWidth - 4)}px`;
  menu.style.top = `${Math.min(y, innerHeight - menu.offsetHeight - 4)}px`;
  menu.querySelector("button").focus();
}
document.addEventListener("click", (event) => {
  if (!event.target.closest("#group-menu")) closeGroupMenu();
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") closeGroupMenu();
});

function hideMembers(groupId) {
  const members = document.querySelector("#group-members");
  if (groupId !== undefined && members.dataset.id !== String(groupId)) return;
  members.hidden = true;
  document.querySelector("#group-members-title").hidden = true;
}

async function showMembers(groupId) {
  const { group, items } = await call("GET", `/api/desk/groups/${groupId}/members`);
  const title = document.querySelector("#group-members-title");
  title.textContent = t("membersOf", { name: group.name, n: items.length });
  title.hidden = false;
  const members = document.querySelector("#group-members");
  members.dataset.id = String(group.id);
  members.hidden = false;
  members.replaceChildren();
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = t("noMembers");
    members.append(li);
  }
  for (const c of items) {
    const li = document.createElement("li");
    const who = document.createElement("span");
    who.textContent = `${c.name || t("unknown")} · ${c.phone}`;
    li.append(
      who,
      actionButton(t("removeFromGroup"), async () => {
        try {
          await call("DELETE", `/api/desk/groups/${group.id}/members/${c.id}`);
          await showMembers(group.id);
          await loadGroups();
        } catch (error) {
          toast(explain(error));
        }
      }),
    );
    members.append(li);
  }
}

// 短信 to one customer (their card, a booking): the SMS screen with the number filled in.
function smsTo(number, who = number) {
  document.querySelector("#sms-numbers").value = number;
  document.querySelector("#sms-groups").value = "";
  document.querySelector('[data-tab="sms"]').click();
  document.querySelector("#sms-summary").textContent = t("smsToOne", { who });
  document.querySelector("#sms-template").focus();
}

// 短信群发 with the group filled in as the recipients.
function smsToGroup(name) {
  document.querySelector("#sms-numbers").value = "";
  document.querySelector("#sms-groups").value = name;
  document.querySelector('[data-tab="sms"]').click();
  document.querySelector("#sms-summary").textContent = t("smsToGroup", { name });
}

document.querySelector("#group-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const body = { name: form.elements.name.value.trim() };
  const result = document.querySelector("#group-result");
  try {
    const renaming = Boolean(form.dataset.id);
    const group = renaming
      ? await call("PATCH", `/api/desk/groups/${form.dataset.id}`, body)
      : await call("POST", "/api/desk/groups", body);
    form.reset();
    result.textContent = t(renaming ? "groupRenamed" : "groupCreated", group);
    await loadGroups();
    const members = document.querySelector("#group-members");
    if (!members.hidden && members.dataset.id === String(group.id)) await showMembers(group.id);
  } catch (error) {
    result.textContent = explain(error);
  }
});
document.querySelector("#group-form").addEventListener("reset", (event) => {
  delete event.target.dataset.id;
  document.querySelector("#group-form-title").textContent = t("newGroup");
});

// The customer book: the ticked customers go into the chosen group at once.
document.querySelector("#assign").addEventListener("click", async () => {
  const result = document.querySelector("#assign-result");
  const ids = [...document.querySelectorAll("#results input:checked")].map((box) => Number(box.value));
  const groupId = document.querySelector("#assign-group").value;
  if (!ids.length || !groupId) {
    result.textContent = t("assignNone");
    return;
  }
  try {
    const group = await call("POST", `/api/desk/groups/${groupId}/members`, { customer_ids: ids });
    result.textContent = t("assigned", { n: ids.length, name: group.name, members: group.members });
    for (const box of document.querySelectorAll("#results input:checked")) box.checked = false;
    await fetchGroups();
  } catch (error) {
    result.textContent = explain(error);
  }
});

// The call log (通信记录): filters by kind, by a day of the shop's calendar and by
// customer; each row says what became of its automatic SMS, and takes notes afterwards.
function autoSmsText(reason, detail) {
  if (!reason) return "";
  const key = reason === "ok" ? "autoSms_sent" : `autoSms_${reason}`;
  const extra = reason === "blocked" && detail ? `（${detail}）` : detail || "";
  return t(key, { detail: extra });
}

function notesButton(entry) {
  return actionButton(t("writeNotes"), () => openNotes(entry));
}

async function loadCalls() {
  const f = document.querySelector("#call-filters").elements;
  const query = new URLSearchParams();
  if (f.kind.value) query.set("kind", f.kind.value);
  if (f.day.value) query.set("day", f.day.value);
  if (f.customer.value.trim()) query.set("customer", f.customer.value.trim());
  if (f.line.value) query.set("line", f.line.value);
  const { items } = await call("GET", `/api/desk/calls?${query}`);
  const body = document.querySelector("#calls tbody");
  body.replaceChildren();
  for (const entry of items) {
    const row = tableRow(
      [when(entry.started_at), entry.display_name, entry.phone, t(`line_${entry.line || "gsm"}`), t(`kind_${entry.kind}`), t("seconds", { n: entry.duration_s }), autoSmsText(entry.auto_sms === "sent" ? "ok" : entry.auto_sms, entry.auto_sms_detail), entry.notes || ""],
      [notesButton(entry), ...(/^\+?\d{3,}$/.test(entry.phone || "") ? [dialButton(entry.phone)] : [])],
    );
    row.dataset.kind = entry.kind;
    body.append(row);
  }
  if (!items.length) body.append(emptyRow(9, t("noCallsFound")));
}

function refreshCalls() {
  loadReminder().catch(() => {});
  if (!document.querySelector('[data-panel="calls"]').hidden) loadCalls().catch(() => {});
  loadCardCalls().catch(() => {});
}

let callFilterTimer = null;
document.querySelector("#call-filters").addEventListener("input", () => {
  clearTimeout(callFilterTimer);
  callFilterTimer = setTimeout(() => loadCalls().catch((error) => toast(explain(error))), 200);
});
document.querySelector("#call-filters").addEventListener("submit", (event) => event.preventDefault());

// The scrolling reminder of missed calls nobody has talked to since; a click opens them.
async function loadReminder() {
  const { items } = await call("GET", "/api/desk/calls/missed");
  const box = document.querySelector("#missed-reminder");
  box.hidden = !items.length;
  document.querySelector("#missed-items").textContent = items
    .map((e) => t("missedItem", { who: e.display_name, number: e.phone, when: when(e.started_at) }))
    .join("　·　");
}
document.querySelector("#missed-reminder").addEventListener("click", () => {
  const f = document.querySelector("#call-filters").elements;
  f.kind.value = "missed";
  f.day.value = "";
  f.customer.value = "";
  document.querySelector('[data-tab="calls"]').click();
});

// Conversation notes of one call, written or changed after it (from the log or a card).
const noteDialog = document.querySelector("#note-dialog");
function openNotes(entry) {
  const form = document.querySelector("#note-form");
  form.dataset.id = entry.id;
  form.elements.notes.value = entry.notes || "";
  document.querySelector("#note-title").textContent = t("notesFor", { who: entry.display_name || entry.phone, when: when(entry.started_at) });
  document.querySelector("#note-result").textContent = "";
  noteDialog.showModal();
  form.elements.notes.focus();
}
document.querySelector("#note-cancel").addEventListener("click", () => noteDialog.close());
document.querySelector("#note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  try {
    await call("PUT", `/api/desk/calls/${form.dataset.id}/notes`, { notes: form.elements.notes.value });
    noteDialog.close();
    toast(t("saved"));
    refreshCalls();
  } catch (error) {
    document.querySelector("#note-result").textContent = explain(error);
  }
});

// 系统设置: the hang-up SMS (挂机短信) and the missed-call reply (未接来电回复). The SDK
// checks the text's placeholders and the times, and says what is wrong. What the person
// has typed stays: settings arriving meanwhile (the tab's load, the other form's save)
// fill only the fields not touched since, and a save refreshes its own form.
function showAutoSms(settings, saved = null) {
  for (const form of document.querySelectorAll("form.auto-sms")) {
    const rule = settings[form.dataset.kind];
    const f = form.elements;
    const set = (field, apply) => {
      if (form !== saved && field.dataset.edited) return;
      delete field.dataset.edited;
      apply();
    };
    set(f.enabled, () => { f.enabled.checked = rule.enabled; });
    set(f.template, () => { f.template.value = rule.template; });
    set(f.quiet_start, () => { f.quiet_start.value = rule.quiet_start ? rule.quiet_start.slice(0, 5) : ""; });
    set(f.quiet_end, () => { f.quiet_end.value = rule.quiet_end ? rule.quiet_end.slice(0, 5) : ""; });
    set(f.cooldown, () => { f.cooldown.value = String(Math.round((rule.cooldown_s / 3600) * 100) / 100); });
  }
}

async function loadAutoSms() {
  showAutoSms(await call("GET", "/api/desk/auto-sms"));
}

for (const form of document.querySelectorAll("form.auto-sms")) {
  form.addEventListener("input", (event) => {
    event.target.dataset.edited = "1";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    const result = form.querySelector(".result");
    try {
      const settings = await call("PUT", `/api/desk/auto-sms/${form.dataset.kind}`, {
        template: f.template.value,
        enabled: f.enabled.checked,
        quiet_start: f.quiet_start.value || null,
        quiet_end: f.quiet_end.value || null,
        cooldown_s: Math.round(Number(f.cooldown.value || 0) * 3600),
      });
      showAutoSms(settings, form);
      result.textContent = t("settingsSaved", { what: t(form.dataset.kind === "missed" ? "missedSms" : "hangUpSms") });
    } catch (error) {
      result.textContent = explain(error);
    }
  });
}

// The reservations screen lives in its own module, with the page's helpers.
const helpers = { call, toast, explain, when, clock, zoned, laterLocal, reasonOf, emptyRow, tableRow, actionButton, billItems, token, smsTo };
installBoard(helpers);
installCashier(helpers);
installSms(helpers);
installPhone(helpers);
installRegistration(helpers);
installBackups(helpers);
// 短信 on a customer's card (点击客户直接发短信).
document.querySelector("#card-sms").addEventListener("click", () => {
  const phone = document.querySelector("#card-phone").textContent;
  smsTo(phone, document.querySelector("#card-form").elements.name.value || phone);
});
// 预订 on a customer's card: a new booking for them on the reservations screen.
document.querySelector("#card-reserve").addEventListener("click", () => {
  const form = document.querySelector("#card-form");
  document.querySelector('[data-tab="board"]').click();
  openBooking({ phone: document.querySelector("#card-phone").textContent, name: form.elements.name.value }).catch((error) => toast(explain(error)));
});
