// SOP管理: 话术库 (categories, scripts, search), 流程配置 (nodes table, material, copy),
// SOP模板 (ordered flows, allowed organizations) and 质检规则.
import { api } from "../api.js";
import { t } from "../i18n.js";
import { attempt, cell, confirmDialog, notify, startPage } from "../shell.js";
import { dateOnly } from "../times.js";

const me = await startPage("/admin/sop");
const $ = (selector) => document.querySelector(selector);
const state = { categories: [], flows: [], orgs: [], materials: [], scripts: [], keyword: "", category: "" };

function option(select, value, text) {
  select.append(new Option(text, value));
}

function actionCell(buttons) {
  const td = cell("");
  td.className = "actions";
  for (const [key, handler, extra] of buttons) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `link ${extra || ""}`;
    b.textContent = t(key);
    b.addEventListener("click", handler);
    td.append(b);
  }
  return td;
}

function fill(body, rows, columns) {
  body.replaceChildren(...rows);
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell(t("common.empty"));
    td.colSpan = columns;
    tr.append(td);
    body.append(tr);
  }
}

// 编辑 fills a form with the row it edits; saving then updates that row, and the form's
// reset (after saving, or 取消编辑) returns it to adding.
function startEditing(form, id, headingKey, name) {
  form.dataset.editing = id;
  form.querySelector("h2").textContent = t(headingKey, { name });
  form.querySelector("[data-cancel-edit]").hidden = false;
  formError(form, null);
  form.scrollIntoView({ block: "nearest" });
}

for (const [selector, key] of [["#script-form", "sop.script.add"], ["#template-form", "sop.template.add"], ["#rule-form", "sop.rule.add"]]) {
  const form = $(selector);
  form.addEventListener("reset", () => {
    delete form.dataset.editing;
    form.querySelector("h2").textContent = t(key);
    form.querySelector("[data-cancel-edit]").hidden = true;
  });
}

function formError(form, error) {
  const box = form.querySelector(".form-error");
  box.textContent = error ? error.text || String(error) : "";
  box.hidden = !error;
}

async function submit(form, action) {
  try {
    await action();
    formError(form, null);
    form.reset();
    notify(t("common.saved"), "info");
  } catch (error) {
    formError(form, error);
  }
}

// ---- 话术库 ---------------------------------------------------------------------------

async function loadCategories() {
  state.categories = (await api("GET", "/api/sop/categories")).items;
  const tree = $("#categories");
  tree.replaceChildren();
  const all = document.createElement("button");
  all.type = "button";
  all.className = "link";
  all.textContent = t("common.all");
  all.addEventListener("click", () => { state.category = ""; loadScripts(); });
  tree.append(all);
  for (const c of state.categories) {
    const item = document.createElement("button");
    item.type = "button";
    item.className = c.parent_id ? "link child" : "link";
    item.setAttribute("role", "treeitem");
    item.textContent = c.name;
    item.addEventListener("click", () => { state.category = c.id; loadScripts(); });
    tree.append(item);
  }
  for (const select of [$("#category-parent"), $("#script-category")]) {
    select.replaceChildren();
    if (select.id === "category-parent") option(select, "", t("sop.category.top"));
    for (const c of state.categories) {
      if (select.id === "category-parent" && c.parent_id) continue;
      option(select, c.id, c.parent_id ? `— ${c.name}` : c.name);
    }
  }
}

async function loadScripts() {
  const query = new URLSearchParams();
  if (state.keyword) query.set("keyword", state.keyword);
  if (state.category) query.set("category_id", state.category);
  const page = await attempt(() => api("GET", `/api/sop/scripts?${query}`));
  if (!page) return;
  const rows = page.items.map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.name = s.name;
    tr.append(cell(s.name), cell(s.keywords.join("，")), cell(s.content),
      cell(dateOnly(s.updated_at, me.timezone)));
    tr.append(actionCell([["common.edit", () => {
      const form = $("#script-form");
      startEditing(form, s.id, "sop.script.editing", s.name);
      form.elements.category_id.value = s.category_id;
      form.elements.name.value = s.name;
      form.elements.keywords.value = s.keywords.join("，");
      form.elements.content.value = s.content;
    }], ["common.delete", async () => {
      if (!(await confirmDialog(t("sop.confirmDelete", { name: s.name })))) return;
      if ((await attempt(() => api("DELETE", `/api/sop/scripts/${s.id}`))) !== undefined) loadScripts();
    }, "danger"]]));
    return tr;
  });
  fill($("#scripts tbody"), rows, 5);
}

$("#category-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(event.target);
  const made = await attempt(() => api("POST", "/api/sop/categories",
    { name: data.get("name"), parent_id: data.get("parent_id") || null }));
  if (made) { event.target.reset(); await loadCategories(); }
});

$("#script-search").addEventListener("submit", (event) => {
  event.preventDefault();
  state.keyword = new FormData(event.target).get("keyword").trim();
  loadScripts();
});
$("#script-search").addEventListener("reset", () => { state.keyword = ""; state.category = ""; setTimeout(loadScripts); });

$("#script-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const editing = form.dataset.editing;
  submit(form, async () => {
    const body = {
      category_id: data.get("category_id"), name: data.get("name"),
      keywords: data.get("keywords"), content: data.get("content"),
    };
    if (editing) await api("PUT", `/api/sop/scripts/${editing}`, body);
    else await api("POST", "/api/sop/scripts", body);
    await loadScripts();
  });
});

// ---- 流程配置 ---------------------------------------------------------------------------
// Nodes are edited as table rows (first-level rows, each followed by its second-level
// rows). Each row keeps its node's id, so saving sends back every field it was given.

function scriptOptions(select, chosen) {
  // Linked scripts first, in their order (the order their cards show in), then the rest;
  // a linked script this page does not list still stays linked.
  select.replaceChildren();
  const names = new Map(state.scripts.map((s) => [s.id, s.name]));
  for (const id of chosen) select.append(new Option(names.get(id) || id, id, false, true));
  for (const s of state.scripts) if (!chosen.includes(s.id)) select.append(new Option(s.name, s.id));
}

function nodeRow(node, level) {
  const tr = document.createElement("tr");
  tr.dataset.id = node.id || "";
  const field = (element, key) => {
    element.setAttribute("aria-label", t(key));
    const td = document.createElement("td");
    td.append(element);
    tr.append(td);
    return element;
  };
  const levelSelect = document.createElement("select");
  levelSelect.name = "node-level";
  levelSelect.append(new Option(t("sop.node.level1"), "1"), new Option(t("sop.node.level2"), "2"));
  field(levelSelect, "sop.node.level").value = String(level);
  const title = field(document.createElement("input"), "sop.node.title");
  title.name = "node-title";
  title.value = node.title || "";
  const phrases = field(document.createElement("input"), "sop.node.phrases");
  phrases.name = "node-phrases";
  phrases.value = (node.key_phrases || []).join("，");
  const required = document.createElement("input");
  required.type = "checkbox";
  required.name = "node-required";
  field(required, "sop.node.required").checked = Boolean(node.required);
  const pages = field(document.createElement("input"), "sop.node.pages");
  pages.name = "node-pages";
  pages.placeholder = "1-3,5";
  pages.value = (node.pages || []).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(",");
  const scripts = document.createElement("select");
  scripts.name = "node-scripts";
  scripts.multiple = true;
  scripts.size = 3;
  scriptOptions(field(scripts, "sop.node.scripts"), node.script_ids || []);
  tr.append(actionCell([
    ["sop.node.up", () => { if (tr.previousElementSibling) tr.previousElementSibling.before(tr); }],
    ["common.delete", () => tr.remove(), "danger"],
  ]));
  return tr;
}

function showNodes(nodes) {
  $("#flow-nodes tbody").replaceChildren(
    ...nodes.flatMap((n) => [nodeRow(n, 1), ...n.children.map((c) => nodeRow(c, 2))]));
}

// The rows as the API's node list; the SDK checks every field.
function readNodes() {
  const nodes = [];
  const rows = [...$("#flow-nodes tbody").rows];
  rows.forEach((tr, index) => {
    const value = (name) => tr.querySelector(`[name=${name}]`);
    const node = {
      title: value("node-title").value,
      key_phrases: value("node-phrases").value,
      required: value("node-required").checked,
      pages: value("node-pages").value,
      script_ids: [...value("node-scripts").selectedOptions].map((o) => o.value),
    };
    if (tr.dataset.id) node.id = tr.dataset.id;
    if (value("node-level").value === "2") {
      if (!nodes.length) throw { text: t("sop.flow.orphan", { row: index + 1 }) };
      nodes[nodes.length - 1].children.push(node);
    } else {
      nodes.push({ ...node, children: [] });
    }
  });
  return nodes;
}

$("#flow-add-node").addEventListener("click", () => {
  $("#flow-nodes tbody").append(nodeRow({}, $("#flow-nodes tbody").rows.length ? 2 : 1));
});

$("#flow-form").addEventListener("reset", (event) => {
  delete event.target.dataset.editing;
  event.target.querySelector("h2").textContent = t("sop.flow.add");
  showNodes([]);
});

async function loadFlows() {
  const page = await attempt(() => api("GET", "/api/sop/flows"));
  if (!page) return;
  state.flows = page.items;
  const materialName = (id) => state.materials.find((m) => m.id === id)?.name || "";
  const rows = page.items.map((f) => {
    const tr = document.createElement("tr");
    tr.dataset.name = f.name;
    const linked = f.material_id ? `${t("records.yes")} · ${materialName(f.material_id)}` : t("records.no");
    const count = f.nodes.reduce((n, node) => n + 1 + node.children.length, 0);
    tr.append(cell(f.name), cell(linked), cell(String(count)), cell(dateOnly(f.updated_at, me.timezone)));
    tr.append(actionCell([
      ["common.edit", async () => {
        const form = $("#flow-form");
        await loadAllScripts();
        form.dataset.editing = f.id;
        form.querySelector("h2").textContent = t("sop.flow.editing", { name: f.name });
        form.elements.name.value = f.name;
        form.elements.material_id.value = f.material_id || "";
        form.elements.pages.value = f.pages.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(",");
        showNodes(f.nodes);
        formError(form, null);
      }],
      ["sop.flow.copy", async () => {
        if (await attempt(() => api("POST", `/api/sop/flows/${f.id}/copy`, {}))) await loadFlows();
      }],
      ["common.delete", async () => {
        if (!(await confirmDialog(t("sop.confirmDelete", { name: f.name })))) return;
        if ((await attempt(() => api("DELETE", `/api/sop/flows/${f.id}`))) !== undefined) await loadFlows();
      }, "danger"],
    ]));
    return tr;
  });
  fill($("#flows tbody"), rows, 5);
  const select = $("#template-flows");
  select.replaceChildren();
  for (const f of state.flows) option(select, f.id, f.name);
}

async function loadAllScripts() {
  state.scripts = (await attempt(() => api("GET", "/api/sop/scripts")))?.items || state.scripts;
}

$("#flow-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const editing = form.dataset.editing;
  submit(form, async () => {
    const body = {
      name: data.get("name"), material_id: data.get("material_id") || null,
      pages: data.get("pages") || null, nodes: readNodes(),
    };
    if (editing) await api("PUT", `/api/sop/flows/${editing}`, { ...body, material_id: body.material_id || "", pages: body.pages || "" });
    else await api("POST", "/api/sop/flows", body);
    await loadFlows();
  });
});

// ---- SOP模板 ------------------------------------------------------------------------------

async function loadTemplates() {
  const page = await attempt(() => api("GET", "/api/sop/templates"));
  if (!page) return;
  const flowName = (id) => state.flows.find((f) => f.id === id)?.name || id;
  const orgName = (id) => state.orgs.find((o) => o.id === id)?.name || id;
  const rows = page.items.map((tpl) => {
    const tr = document.createElement("tr");
    tr.dataset.name = tpl.name;
    tr.append(cell(tpl.name), cell(tpl.flow_ids.map(flowName).join(" → ")),
      cell(tpl.org_ids.length ? tpl.org_ids.map(orgName).join("，") : t("sop.template.allOrgs")));
    tr.append(actionCell([["common.edit", () => {
      const form = $("#template-form");
      startEditing(form, tpl.id, "sop.template.editing", tpl.name);
      form.elements.name.value = tpl.name;
      for (const o of $("#template-flows").options) o.selected = tpl.flow_ids.includes(o.value);
      for (const o of $("#template-orgs").options) o.selected = tpl.org_ids.includes(o.value);
    }], ["common.delete", async () => {
      if (!(await confirmDialog(t("sop.confirmDelete", { name: tpl.name })))) return;
      if ((await attempt(() => api("DELETE", `/api/sop/templates/${tpl.id}`))) !== undefined) await loadTemplates();
    }, "danger"]]));
    return tr;
  });
  fill($("#templates tbody"), rows, 4);
}

$("#template-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const chosen = (select) => [...select.selectedOptions].map((o) => o.value);
  const body = { name: form.elements.name.value, flow_ids: chosen($("#template-flows")), org_ids: chosen($("#template-orgs")) };
  const editing = form.dataset.editing;
  submit(form, async () => {
    if (editing) await api("PUT", `/api/sop/templates/${editing}`, body);
    else await api("POST", "/api/sop/templates", body);
    await loadTemplates();
  });
});

// ---- 质检规则 -----------------------------------------------------------------------------

async function loadRules() {
  const page = await attempt(() => api("GET", "/api/sop/rules"));
  if (!page) return;
  const rows = page.items.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.name = r.name;
    const definition = r.expression || r.order.join(" → ") || r.max_silence_ms || r.max_cpm || r.min_cpm || "";
    tr.append(cell(r.name), cell(t(`sop.rule.kind.${r.kind}`)), cell(String(definition)),
      cell(t(`sop.rule.severity.${r.severity}`)), cell(String(r.deduction)));
    tr.append(actionCell([["common.edit", () => {
      const form = $("#rule-form");
      startEditing(form, r.id, "sop.rule.editing", r.name);
      const f = form.elements;
      f.name.value = r.name;
      f.kind.value = r.kind;
      f.expression.value = r.expression || "";
      f.order.value = r.order.join("，");
      f.limit.value = r.kind === "silence" ? (r.max_silence_ms ?? "") / 1000 || "" : r.max_cpm ?? "";
      f.role.value = r.role || "salesperson";
      f.severity.value = r.severity;
      f.deduction.value = r.deduction;
      form.dataset.enabled = String(r.enabled);
    }], ["common.delete", async () => {
      if (!(await confirmDialog(t("sop.confirmDelete", { name: r.name })))) return;
      if ((await attempt(() => api("DELETE", `/api/sop/rules/${r.id}`))) !== undefined) await loadRules();
    }, "danger"]]));
    return tr;
  });
  fill($("#rules tbody"), rows, 6);
}

$("#rule-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const kind = data.get("kind");
  const limit = data.get("limit") ? Number(data.get("limit")) : null;
  const body = {
    name: data.get("name"), kind, role: data.get("role"), severity: data.get("severity"),
    deduction: Number(data.get("deduction") || 0),
  };
  if (kind === "forbidden" || kind === "mandatory") body.expression = data.get("expression");
  if (kind === "order") body.order = data.get("order");
  if (kind === "silence") body.max_silence_ms = limit === null ? null : limit * 1000;
  if (kind === "speech_rate") body.max_cpm = limit;
  const editing = form.dataset.editing;
  if (editing) body.enabled = form.dataset.enabled !== "false";
  submit(form, async () => {
    if (editing) await api("PUT", `/api/sop/rules/${editing}`, body);
    else await api("POST", "/api/sop/rules", body);
    await loadRules();
  });
});

// ---- tabs ---------------------------------------------------------------------------------

function showTab(name) {
  for (const tab of document.querySelectorAll("#sop-tabs [role=tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  }
  for (const section of document.querySelectorAll(".sop-tab")) section.hidden = section.id !== `tab-${name}`;
}
for (const tab of document.querySelectorAll("#sop-tabs [role=tab]")) {
  tab.addEventListener("click", async () => {
    if (tab.dataset.tab === "flows") await loadAllScripts();
    showTab(tab.dataset.tab);
  });
}

state.materials = (await attempt(() => api("GET", "/api/materials?limit=200")))?.items || [];
const materialSelect = $("#flow-material");
option(materialSelect, "", t("sop.flow.noMaterial"));
for (const m of state.materials) option(materialSelect, m.id, m.name);
state.orgs = (await attempt(() => api("GET", "/api/organizations")))?.items || [];
for (const o of state.orgs) option($("#template-orgs"), o.id, o.name);
showTab(new URLSearchParams(location.search).get("tab") || "scripts");
await loadCategories();
await Promise.all([loadScripts(), loadFlows(), loadRules(), loadAllScripts()]);
showNodes([]);
await loadTemplates();
