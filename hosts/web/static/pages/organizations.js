import { api } from "../api.js";
import { t } from "../i18n.js";
import { attempt, cell, confirmDialog, notify, startPage } from "../shell.js";
import { dateOnly } from "../times.js";

const me = await startPage("/admin/organizations");
const canManage = me.operations.includes("org.edit");
const newButton = document.querySelector("#new-org");
newButton.hidden = !me.operations.includes("org.create");

// As the SDK reads the hours: no window at all is 全天; otherwise an unset window is
// closed (休息); an older stored window that ends before it starts runs overnight.
function windowText(hours, part) {
  const w = hours[part];
  if (w) return w.overnight ? t("orgs.overnight", { start: w.start, end: w.end }) : `${w.start}–${w.end}`;
  return t(hours.all_day ? "orgs.allDay" : "orgs.closed");
}

async function load() {
  const result = await attempt(() => api("GET", "/api/organizations"));
  if (!result) return;
  const body = document.querySelector("#orgs tbody");
  body.replaceChildren();
  for (const org of result.items) {
    const tr = document.createElement("tr");
    tr.dataset.name = org.name;
    const badge = document.createElement("span");
    badge.className = `badge ${org.disabled ? "disabled" : "online"}`;
    badge.textContent = t(org.disabled ? "status.disabled" : "status.enabled");
    const statusCell = cell("");
    statusCell.append(badge);
    tr.append(
      cell(org.name), cell(org.company_name || "-"), cell(windowText(org.hours, "morning")),
      cell(windowText(org.hours, "afternoon")), cell(org.hours.timezone),
      cell(dateOnly(org.created_at, me.timezone)), cell(org.created_by || "-"), statusCell,
    );
    const actions = cell("");
    actions.className = "actions";
    if (canManage) {
      const button = (key, handler, extra = "") => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = `link ${extra}`;
        b.textContent = t(key);
        b.dataset.action = key;
        b.addEventListener("click", handler);
        actions.append(b);
      };
      button("common.edit", () => openDialog(org));
      button(org.disabled ? "common.enable" : "common.disable", async () => {
        if (await attempt(() => api("POST", `/api/organizations/${org.id}/disable`, { disabled: !org.disabled }))) load();
      });
      button("common.delete", async () => {
        if (!(await confirmDialog(t("orgs.confirmDelete", { name: org.name })))) return;
        if (await attempt(() => api("DELETE", `/api/organizations/${org.id}`))) load();
      }, "danger");
    }
    tr.append(actions);
    body.append(tr);
  }
  if (!result.items.length) {
    const tr = document.createElement("tr");
    const td = cell(t("orgs.empty"));
    td.colSpan = 9;
    td.className = "empty";
    tr.append(td);
    body.append(tr);
  }
}

function openDialog(org) {
  const form = document.querySelector("#org-form");
  form.reset();
  form.dataset.id = org ? org.id : "";
  form.querySelector(".form-error").hidden = true;
  document.querySelector("#org-dialog-title").textContent = t(org ? "common.edit" : "orgs.new");
  form.elements.timezone.value = org ? org.hours.timezone : me.timezone;
  if (org) {
    form.elements.name.value = org.name;
    for (const part of ["morning", "afternoon"]) {
      const w = org.hours[part];
      form.elements[`${part}_start`].value = w ? w.start : "";
      form.elements[`${part}_end`].value = w ? w.end : "";
    }
  }
  document.querySelector("#org-dialog").showModal();
}

function windowOf(form, part) {
  const start = form.elements[`${part}_start`].value;
  const end = form.elements[`${part}_end`].value;
  return start || end ? { start, end } : null;
}

document.querySelector("#org-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const hours = {
    morning: windowOf(form, "morning"),
    afternoon: windowOf(form, "afternoon"),
    timezone: form.elements.timezone.value.trim() || null,
  };
  const body = { name: form.elements.name.value, hours };
  const id = form.dataset.id;
  const saved = await attempt(
    () => (id ? api("PATCH", `/api/organizations/${id}`, body) : api("POST", "/api/organizations", body)),
    form.querySelector(".form-error"),
  );
  if (!saved) return;
  document.querySelector("#org-dialog").close();
  notify(t("common.saved"), "info");
  load();
});
document.querySelector("#org-dialog").addEventListener("click", (event) => {
  if (event.target.value === "cancel") document.querySelector("#org-dialog").close();
});
newButton.addEventListener("click", () => openDialog(null));
const zones = document.querySelector("#timezones");
for (const zone of Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : ["Asia/Shanghai"]) zones.append(new Option(zone));
load();
