import { api } from "../api.js";
import { t } from "../i18n.js";
import { attempt, cell, confirmDialog, notify, startPage } from "../shell.js";
import { dateTime } from "../times.js";

const PAGE_SIZE = 20;
const me = await startPage("/admin/accounts");
const state = { offset: 0, total: 0, filters: {} };
const orgs = (await api("GET", "/api/organizations")).items;
const orgName = Object.fromEntries(orgs.map((o) => [o.id, o.name]));

function fillSelect(select, options, withAll) {
  select.replaceChildren();
  if (withAll) select.append(new Option(t("common.all"), ""));
  for (const [value, label] of options) select.append(new Option(label, value));
}
const roleOptions = ["salesperson", "org_admin", "company_admin"].map((r) => [r, t(`role.${r}`)]);
fillSelect(document.querySelector("#filter-role"), roleOptions, true);
fillSelect(document.querySelector("#filter-status"), ["online", "offline", "disabled"].map((s) => [s, t(`status.${s}`)]), true);
fillSelect(document.querySelector("#filter-org"), orgs.map((o) => [o.id, o.name]), true);
fillSelect(document.querySelector("#form-role"), me.manageable_roles.map((r) => [r, t(`role.${r}`)]), false);
fillSelect(document.querySelector("#form-org"), orgs.map((o) => [o.id, o.name]), false);

// A query submitted before this script was ready reaches the page as its URL's query (the
// form's own GET): it is applied, not lost.
for (const [key, value] of new URLSearchParams(location.search)) {
  const field = document.querySelector("#filters").elements[key];
  if (field && value) {
    field.value = value;
    state.filters[key] = value;
  }
}

// Only the newest query's answer is shown: an earlier, slower one (the page's first load
// while the person already filters) must not replace it.
let loads = 0;

async function load() {
  const mine = ++loads;
  const query = new URLSearchParams({ ...state.filters, offset: state.offset, limit: PAGE_SIZE });
  const page = await attempt(() => api("GET", `/api/accounts?${query}`));
  if (!page || mine !== loads) return;
  state.total = page.total;
  const body = document.querySelector("#accounts tbody");
  body.replaceChildren();
  for (const account of page.items) body.append(row(account));
  if (!page.items.length) {
    const tr = document.createElement("tr");
    const td = cell(t("accounts.empty"));
    td.colSpan = 9;
    td.className = "empty";
    tr.append(td);
    body.append(tr);
  }
  document.querySelector("#total").textContent = t("common.total", { n: page.total });
  document.querySelector("#prev").disabled = state.offset === 0;
  document.querySelector("#next").disabled = state.offset + PAGE_SIZE >= page.total;
}

function row(account) {
  const tr = document.createElement("tr");
  tr.dataset.login = account.login;
  const status = document.createElement("span");
  status.className = `badge ${account.status}`;
  status.textContent = t(`status.${account.status}`);
  const statusCell = cell("");
  statusCell.append(status);
  tr.append(
    // What the person writes to sign in: login@公司代码 outside the home company.
    cell(account.sign_in || account.login), cell(account.name), cell(account.phone), cell(t(`role.${account.role}`)),
    cell(orgName[account.org_id] || "-"), cell(dateTime(account.created_at, me.timezone)),
    cell(account.created_by || "-"), statusCell,
  );
  const actions = cell("");
  actions.className = "actions";
  if (account.id !== me.id && me.manageable_roles.includes(account.role)) {
    const button = (key, handler, extra = "") => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = `link ${extra}`;
      b.textContent = t(key);
      b.dataset.action = key;
      b.addEventListener("click", handler);
      actions.append(b);
    };
    button("common.edit", () => openAccountDialog(account));
    button(account.disabled ? "common.enable" : "common.disable", () => toggle(account));
    button("accounts.resetPassword", () => openPasswordDialog(account));
    button("accounts.kickOut", () => kick(account));
    button("common.delete", () => remove(account), "danger");
  }
  tr.append(actions);
  return tr;
}

async function toggle(account) {
  if (await attempt(() => api("POST", `/api/accounts/${account.id}/disable`, { disabled: !account.disabled }))) load();
}

async function kick(account) {
  if (!(await confirmDialog(t("accounts.confirmKick", { name: account.name })))) return;
  const result = await attempt(() => api("POST", `/api/accounts/${account.id}/kick-out`));
  if (result) {
    notify(t("accounts.kicked", { n: result.revoked }), "info");
    load();
  }
}

async function remove(account) {
  if (!(await confirmDialog(t("accounts.confirmDelete", { name: account.name })))) return;
  if (await attempt(() => api("DELETE", `/api/accounts/${account.id}`))) load();
}

function openAccountDialog(account) {
  const dialog = document.querySelector("#account-dialog");
  const form = document.querySelector("#account-form");
  const errorBox = form.querySelector(".form-error");
  errorBox.hidden = true;
  form.reset();
  form.dataset.id = account ? account.id : "";
  for (const el of form.querySelectorAll(".create-only")) el.hidden = Boolean(account);
  document.querySelector("#account-dialog-title").textContent = t(account ? "common.edit" : "accounts.new");
  if (account) {
    form.elements.name.value = account.name;
    form.elements.phone.value = account.phone || "";
    form.elements.role.value = account.role;
    form.elements.org_id.value = account.org_id || "";
  }
  dialog.showModal();
}

document.querySelector("#account-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const errorBox = form.querySelector(".form-error");
  const f = form.elements;
  const id = form.dataset.id;
  const body = { name: f.name.value, phone: f.phone.value || null, role: f.role.value, org_id: f.org_id.value || null };
  const saved = await attempt(
    () => (id ? api("PATCH", `/api/accounts/${id}`, body) : api("POST", "/api/accounts", { ...body, login: f.login.value, password: f.password.value })),
    errorBox,
  );
  if (!saved) return; // the dialog stays open with everything as typed
  document.querySelector("#account-dialog").close();
  notify(t("common.saved"), "info");
  load();
});

function openPasswordDialog(account) {
  const form = document.querySelector("#password-form");
  form.reset();
  form.dataset.id = account.id;
  form.querySelector(".form-error").hidden = true;
  document.querySelector("#password-dialog").showModal();
}

document.querySelector("#password-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const done = await attempt(
    () => api("POST", `/api/accounts/${form.dataset.id}/reset-password`, { password: form.elements.password.value }),
    form.querySelector(".form-error"),
  );
  if (!done) return;
  document.querySelector("#password-dialog").close();
  notify(t("common.saved"), "info");
});

for (const dialog of document.querySelectorAll("dialog")) {
  dialog.addEventListener("click", (event) => {
    if (event.target.value === "cancel") dialog.close();
  });
}

document.querySelector("#new-account").addEventListener("click", () => openAccountDialog(null));
// Enabled only now: a click before this script was ready would do nothing.
document.querySelector("#new-account").disabled = false;
document.querySelector("#filters").addEventListener("submit", (event) => {
  event.preventDefault();
  const fields = new FormData(event.target);
  state.filters = Object.fromEntries([...fields].filter(([, v]) => v));
  state.offset = 0;
  load();
});
document.querySelector("#filters").addEventListener("reset", () => {
  state.filters = {};
  state.offset = 0;
  setTimeout(load);
});
document.querySelector("#prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE_SIZE); load(); });
document.querySelector("#next").addEventListener("click", () => { state.offset += PAGE_SIZE; load(); });
load();
