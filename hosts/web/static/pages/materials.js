import { api, ApiError, token } from "../api.js";
import { t } from "../i18n.js";
import { attempt, cell, confirmDialog, notify, startPage } from "../shell.js";
import { dateTime } from "../times.js";

const me = await startPage("/admin/materials");
const state = { kind: "file", keyword: "" };
const progressPanel = document.querySelector("#progress-panel");
const progressBar = document.querySelector("#progress");
const progressLabel = document.querySelector("#progress-label");

// Not awaited: the tabs and buttons below must work while the organizations load.
async function loadOrgChoice() {
  const orgs = (await api("GET", "/api/organizations")).items;
  const select = document.querySelector("#upload-orgs");
  for (const org of orgs) select.append(new Option(org.name, org.id));
  document.querySelector(".org-choice").hidden = false;
}
if (me.role === "company_admin") attempt(loadOrgChoice);
const chosenOrgs = () => [...document.querySelector("#upload-orgs").selectedOptions].map((o) => o.value);

function showProgress(text, value, max = 100) {
  progressPanel.hidden = false;
  progressLabel.textContent = text;
  progressBar.max = max;
  progressBar.value = value;
}

function sizeText(bytes) {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

// Only the newest query's answer is shown (an earlier, slower one must not replace it).
let loads = 0;

async function load() {
  const mine = ++loads;
  const query = new URLSearchParams({ kind: state.kind, keyword: state.keyword });
  const page = await attempt(() => api("GET", `/api/materials?${query}`));
  if (!page || mine !== loads) return;
  for (const tab of document.querySelectorAll("#kinds [role=tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.kind === state.kind));
  }
  const body = document.querySelector("#materials tbody");
  body.replaceChildren();
  for (const m of page.items) {
    const tr = document.createElement("tr");
    tr.dataset.name = m.name;
    const page = m.kind === "link" || m.kind === "assessment";
    const where = page ? m.url : sizeText(m.size || 0);
    const type = page ? t(`materials.kind.${m.kind}`) : (m.content_kind || m.kind).toUpperCase();
    tr.append(cell(m.name), cell(type), cell(where), cell(dateTime(m.created_at, me.timezone)));
    const actions = cell("");
    actions.className = "actions";
    const button = (key, handler, extra = "") => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = `link ${extra}`;
      b.textContent = t(key);
      b.addEventListener("click", handler);
      actions.append(b);
    };
    if (m.kind === "file") button("materials.preview", () => preview(m));
    if (!page) button("materials.download", () => download(m));
    // The SDK says whether this person may edit or delete it (uploader, or an admin over it).
    if (m.can_delete) button("common.edit", () => (page ? openLinkDialog(m.kind, m) : openRename(m)));
    if (m.can_delete) button("common.delete", () => remove(m), "danger");
    tr.append(actions);
    body.append(tr);
  }
  if (!page.items.length) {
    const tr = document.createElement("tr");
    const td = cell(t("materials.empty"));
    td.colSpan = 5;
    td.className = "empty";
    tr.append(td);
    body.append(tr);
  }
}

// Sends the file with XMLHttpRequest so the upload's progress can be shown.
function uploadBytes(file, kind, name) {
  const query = new URLSearchParams({ name, kind, org_ids: chosenOrgs().join(",") });
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/materials/upload?${query}`);
    xhr.setRequestHeader("Authorization", `Bearer ${token.get()}`);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        const percent = Math.round((event.loaded / event.total) * 100);
        showProgress(t("materials.uploading", { percent }), percent);
      }
    });
    xhr.addEventListener("load", () => {
      const data = JSON.parse(xhr.responseText || "{}");
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else {
        const error = data.error || { code: "error", message: xhr.statusText };
        const { code, message, message_zh: messageZh, ...extra } = error;
        reject(new ApiError(xhr.status, code, message, extra, messageZh || null));
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "upload failed")));
    xhr.send(file);
  });
}

async function convertWithProgress(material) {
  let finished = false;
  const poll = async () => {
    while (!finished) {
      const status = await api("GET", `/api/materials/${material.id}/conversion`).catch(() => null);
      if (status && status.total) showProgress(t("materials.converting", status), status.done, status.total);
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  poll();
  try {
    const result = await api("POST", `/api/materials/${material.id}/convert`);
    showProgress(t("materials.converting", { done: result.pages.length, total: result.pages.length }), 1, 1);
    return result;
  } finally {
    finished = true;
  }
}

// 上传素材 (manual §4.5): the chosen file, then its 文件名称 (the file's own name
// without its extension to start with), then the upload.
const uploadDialog = document.querySelector("#upload-dialog");
const pending = { file: null, kind: "file" };

function handleUpload(input, kind) {
  const file = input.files[0];
  input.value = "";
  if (!file) return;
  pending.file = file;
  pending.kind = kind;
  const form = document.querySelector("#upload-form");
  form.reset();
  form.querySelector(".form-error").hidden = true;
  document.querySelector("#upload-title").textContent = t(kind === "video" ? "materials.uploadVideo" : "materials.upload");
  document.querySelector("#upload-file").textContent = t("materials.chosenFile", { name: file.name, size: sizeText(file.size) });
  form.elements.name.value = file.name.replace(/\.[^.]+$/, "");
  uploadDialog.showModal();
}

document.querySelector("#upload-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = event.target.elements.name.value.trim();
  const box = event.target.querySelector(".form-error");
  if (!name) {
    box.textContent = t("materials.fileNameRequired");
    box.hidden = false;
    return;
  }
  uploadDialog.close();
  upload(pending.file, pending.kind, name);
});

async function upload(file, kind, name) {
  showProgress(t("materials.uploading", { percent: 0 }), 0);
  const material = await attempt(() => uploadBytes(file, kind, name));
  if (!material) {
    progressPanel.hidden = true;
    return;
  }
  if (kind === "file") await attempt(() => convertWithProgress(material));
  notify(t("materials.uploaded", { name: material.name }), "info");
  state.kind = kind;
  load();
}

async function preview(material) {
  const dialog = document.querySelector("#preview-dialog");
  document.querySelector("#preview-title").textContent = material.name;
  const holder = document.querySelector("#preview-pages");
  holder.replaceChildren();
  dialog.showModal();
  const result = await attempt(() => convertWithProgress(material));
  if (!result) return;
  document.querySelector("#preview-count").textContent = t("materials.pages", { n: result.pages.length });
  for (const page of result.pages) {
    const response = await fetch(`/api/materials/${material.id}/pages/${page.number}`, {
      headers: { Authorization: `Bearer ${token.get()}` },
    });
    const img = document.createElement("img");
    img.alt = `${material.name} · ${page.number}`;
    img.src = URL.createObjectURL(await response.blob());
    holder.append(img);
  }
}

async function download(material) {
  const response = await fetch(`/api/materials/${material.id}/download`, {
    headers: { Authorization: `Bearer ${token.get()}` },
  });
  if (!response.ok) return notify(t("error.not_found"));
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = material.name;
  link.click();
}

async function remove(material) {
  if (!(await confirmDialog(t("materials.confirmDelete", { name: material.name })))) return;
  if (await attempt(() => api("DELETE", `/api/materials/${material.id}`))) load();
}

document.querySelector("#file-input").addEventListener("change", (e) => handleUpload(e.target, "file"));
document.querySelector("#video-input").addEventListener("change", (e) => handleUpload(e.target, "video"));
for (const tab of document.querySelectorAll("#kinds [role=tab]")) {
  tab.addEventListener("click", () => {
    state.kind = tab.dataset.kind;
    load();
  });
}
document.querySelector("#filters").addEventListener("submit", (event) => {
  event.preventDefault();
  state.keyword = event.target.elements.keyword.value.trim();
  load();
});
const linkDialog = document.querySelector("#link-dialog");
// One dialog adds or edits (编辑) a link or an assessment: URL, title, has-audio flag.
function openLinkDialog(kind, material = null) {
  const form = document.querySelector("#link-form");
  form.reset();
  form.dataset.kind = kind;
  form.dataset.id = material ? material.id : "";
  const adding = kind === "assessment" ? "materials.addAssessment" : "materials.addLink";
  document.querySelector("#link-dialog-title").textContent = material ? t("materials.editing", { name: material.name }) : t(adding);
  if (material) {
    form.elements.name.value = material.name;
    form.elements.url.value = material.url || "";
    form.elements.title.value = material.title || "";
    form.elements.has_audio.checked = Boolean(material.has_audio);
    form.elements.mask_selectors.value = (material.mask_selectors || []).join("\n");
  }
  linkDialog.querySelector(".form-error").hidden = true;
  linkDialog.showModal();
}
document.querySelector("#add-link").addEventListener("click", () => openLinkDialog("link"));
document.querySelector("#add-assessment").addEventListener("click", () => openLinkDialog("assessment"));

const renameDialog = document.querySelector("#rename-dialog");
function openRename(material) {
  const form = document.querySelector("#rename-form");
  form.reset();
  form.dataset.id = material.id;
  form.elements.name.value = material.name;
  form.querySelector(".form-error").hidden = true;
  renameDialog.showModal();
}
document.querySelector("#rename-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const saved = await attempt(
    () => api("PATCH", `/api/materials/${form.dataset.id}`, { name: form.elements.name.value }),
    form.querySelector(".form-error"),
  );
  if (!saved) return;
  renameDialog.close();
  notify(t("common.saved"), "info");
  load();
});
for (const dialog of document.querySelectorAll("dialog")) {
  dialog.addEventListener("click", (event) => {
    if (event.target.value === "cancel") dialog.close();
  });
}
document.querySelector("#link-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target.elements;
  const form = event.target;
  const selectors = f.mask_selectors.value.split("\n").map((x) => x.trim()).filter(Boolean);
  let request;
  if (form.dataset.id) {
    const body = { name: f.name.value, url: f.url.value, title: f.title.value, has_audio: f.has_audio.checked, mask_selectors: selectors };
    request = () => api("PATCH", `/api/materials/${form.dataset.id}`, body);
  } else {
    const body = { name: f.name.value, url: f.url.value, title: f.title.value || null, has_audio: f.has_audio.checked };
    if (form.dataset.kind === "assessment") body.assessment = true;
    if (selectors.length) body.mask_selectors = selectors;
    const orgs = chosenOrgs();
    if (orgs.length) body.org_ids = orgs;
    request = () => api("POST", "/api/materials/links", body);
  }
  const saved = await attempt(request, form.querySelector(".form-error"));
  if (!saved) return;
  linkDialog.close();
  if (form.dataset.id) notify(t("common.saved"), "info");
  state.kind = form.dataset.kind;
  load();
});
load();
