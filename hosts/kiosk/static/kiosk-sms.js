// SMS at the desk: the template library (短信模板: 新品通知, 降价优惠, 节日祝福 … editable),
// a contact picker for bulk SMS (选择联系人), and the received messages (收件箱) for the
// whole desk and on each customer's card; a 退订/TD reply is marked (the SDK puts the
// number on the opt-out list).
import { t } from "./messages.js";

let desk = null; // the desk page's helpers, handed over by kiosk.js
const $ = (selector) => document.querySelector(selector);
let library = [];

async function loadTemplates(chosen = null) {
  library = (await desk.call("GET", "/api/desk/sms/templates")).items;
  const select = $("#sms-library");
  select.replaceChildren(new Option(t("pickTemplate"), ""));
  for (const item of library) select.append(new Option(item.name, String(item.id)));
  select.value = chosen === null ? "" : String(chosen);
}

function said(text) {
  $("#library-result").textContent = text;
}

// 存为新模板: the name is asked in a dialog; a missing name or the SDK's refusal (a name
// in use, too long) is said there.
function saveAsNew() {
  const form = $("#template-form");
  form.reset();
  $("#template-dialog-result").textContent = "";
  $("#template-dialog").showModal();
  form.elements.name.focus();
}

async function saveNewTemplate(event) {
  event.preventDefault();
  const field = event.target.elements.name;
  const name = field.value.trim();
  if (!name) {
    $("#template-dialog-result").textContent = t("needTemplateName");
    field.focus();
    return;
  }
  try {
    const made = await desk.call("POST", "/api/desk/sms/templates", { name, text: $("#sms-template").value });
    $("#template-dialog").close();
    await loadTemplates(made.id);
    said(t("templateSaved", made));
  } catch (error) {
    $("#template-dialog-result").textContent = desk.explain(error);
  }
}

async function saveChosen() {
  const item = library.find((x) => String(x.id) === $("#sms-library").value);
  if (!item) {
    said(t("pickTemplateFirst"));
    return;
  }
  try {
    const saved = await desk.call("PATCH", `/api/desk/sms/templates/${item.id}`, { name: item.name, text: $("#sms-template").value });
    await loadTemplates(saved.id);
    said(t("templateSaved", saved));
  } catch (error) {
    said(desk.explain(error));
  }
}

async function deleteChosen() {
  const item = library.find((x) => String(x.id) === $("#sms-library").value);
  if (!item) {
    said(t("pickTemplateFirst"));
    return;
  }
  if (!confirm(t("confirmDeleteTemplate", item))) return;
  try {
    await desk.call("DELETE", `/api/desk/sms/templates/${item.id}`);
    await loadTemplates();
    said(t("templateDeleted", item));
  } catch (error) {
    said(desk.explain(error));
  }
}

// 选择联系人: tick customers of the book; their numbers join the recipients.
let pickTimer = null;
// The numbers ticked so far: kept while the search changes.
const picked = new Set();
// Only the newest search's answer is shown (an older one may come back later).
let contactsSeq = 0;
async function findContacts(text) {
  const seq = ++contactsSeq;
  const { items } = await desk.call("GET", `/api/desk/customers?q=${encodeURIComponent(text)}`);
  if (seq !== contactsSeq) return;
  const list = $("#contacts-list");
  list.replaceChildren();
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = t(text.trim() ? "noMatches" : "noCustomers");
    list.append(li);
  }
  for (const c of items) {
    const li = document.createElement("li");
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = c.phone;
    box.checked = picked.has(c.phone);
    box.addEventListener("change", () => (box.checked ? picked.add(c.phone) : picked.delete(c.phone)));
    const name = document.createElement("span");
    name.textContent = `${c.name || t("unknown")} · ${c.phone}${c.opted_out ? ` · ${t("optedOut")}` : ""}`;
    label.append(box, name);
    li.append(label);
    list.append(li);
  }
}

function openContacts() {
  picked.clear();
  $("#contacts-search").value = "";
  findContacts("").catch((error) => desk.toast(desk.explain(error)));
  $("#contacts-dialog").showModal();
}

function addContacts(event) {
  event.preventDefault();
  const field = $("#sms-numbers");
  const have = field.value.split(/[\s,，、;；]+/).filter(Boolean);
  field.value = [...new Set([...have, ...picked])].join("，");
  $("#contacts-dialog").close();
}

function messageLine(m) {
  const who = m.name ? `${m.name} ${m.phone}` : m.phone;
  return `${desk.when(m.received_at)} ${who}：${m.text}${m.opt_out ? ` · ${t("optOutMark")}` : ""}`;
}

function fill(list, items, empty) {
  list.replaceChildren();
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = empty;
    list.append(li);
  }
  for (const m of items) {
    const li = document.createElement("li");
    li.textContent = messageLine(m);
    if (m.opt_out) li.classList.add("opt-out");
    list.append(li);
  }
}

export async function loadInbox() {
  fill($("#inbox"), (await desk.call("GET", "/api/desk/sms/inbox")).items, t("noInbox"));
}

// A customer's card: the messages they sent.
export async function loadCardInbox(customerId) {
  const { items } = await desk.call("GET", `/api/desk/sms/inbox?customer_id=${customerId}`);
  fill($("#card-inbox"), items, t("noInbox"));
}

// A message arrived (the live stream): say so, and show it where it belongs.
export function smsArrived(data) {
  const m = data.message;
  desk.toast(m.opt_out ? t("optOutArrived", { who: data.who }) : t("smsArrived", { who: data.who, text: m.text }));
  if (!$('[data-panel="sms"]').hidden) loadInbox().catch(() => {});
  const card = $("#card-form");
  if (!card.hidden && card.dataset.id === String(m.customer_id)) loadCardInbox(m.customer_id).catch(() => {});
}

export function installSms(helpers) {
  desk = helpers;
  $("#template-form").addEventListener("submit", saveNewTemplate);
  $("#template-cancel").addEventListener("click", () => $("#template-dialog").close());
  $('[data-tab="sms"]').addEventListener("click", () => {
    loadTemplates($("#sms-library").value || null).catch((error) => desk.toast(desk.explain(error)));
    loadInbox().catch((error) => desk.toast(desk.explain(error)));
  });
  $("#sms-library").addEventListener("change", (event) => {
    const item = library.find((x) => String(x.id) === event.target.value);
    if (item) $("#sms-template").value = item.text;
  });
  $("#template-new").addEventListener("click", saveAsNew);
  $("#template-save").addEventListener("click", saveChosen);
  $("#template-delete").addEventListener("click", deleteChosen);
  $("#pick-contacts").addEventListener("click", openContacts);
  $("#contacts-search").addEventListener("input", (event) => {
    clearTimeout(pickTimer);
    pickTimer = setTimeout(() => findContacts(event.target.value).catch(() => {}), 200);
  });
  $("#contacts-form").addEventListener("submit", addContacts);
  $("#contacts-cancel").addEventListener("click", () => $("#contacts-dialog").close());
}
