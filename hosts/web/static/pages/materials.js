import { api, ApiError, token } from "../api.js";
import { t } from "../i18n.js";
import { attempt, cell, confirmDialog, notify, startPage } from "../shell.js";
import { dateTime } from "../times.js";

const me = await startPage("/admin/materials");
const state = { kind: "file", keyword: "" };
const progressPanel = document.querySelector("#progress-panel");
const progressBar = document.querySelector("#progress");
const progressLabel = document.querySelector("#progress-label");

if (me.role === "company_admin") {
  const orgs = (await api("GET", "/api/organizations")).items;
  const select = document.querySelector("#upload-orgs");
  for (const org of orgs) select.append(new Option(org.name, org.id));
  document.querySelector(".org-choice").hidden = false;
}
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
    const where = m.kind === "link" ? m.url : sizeText(m.size || 0);
    const type = m.kind === "link" ? t("materials.kind.link") : (m.content_kind || m.kind).toUpperCase();
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
    if (m.kind !== "link") button("materials.download", () => download(m));
    // The SDK says whether this person may delete it (uploader, or an admin over it).
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
function uploadBytes(file, kind) {
  const query = new URLSearchParams({ name: file.name, kind, org_ids: chosenOrgs().join(",") });
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

async function handleUpload(input, kind) {
  const file = input.files[0];
  input.value = "";
  if (!file) return;
  showProgress(t("materials.uploading", { percent: 0 }), 0);
  const material = await attempt(() => uploadBytes(file, kind));
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
document.querySelector("#add-link").addEventListener("click", () => {
  document.querySelector("#link-form").reset();
  linkDialog.querySelector(".form-error").hidden = true;
  linkDialog.showModal();
});
for (const dialog of document.querySelectorAll("dialog")) {
  dialog.addEventListener("click", (event) => {
    if (event.target.value === "cancel") dialog.close();
  });
}
document.querySelector("#link-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target.elements;
  const body = { name: f.name.value, url: f.url.value, title: f.title.value || null, has_audio: f.has_audio.checked };
  const selectors = f.mask_selectors.value.split("\n").map((x) => x.trim()).filter(Boolean);
  if (selectors.length) body.mask_selectors = selectors;
  const orgs = chosenOrgs();
  if (orgs.length) body.org_ids = orgs;
  const saved = await attempt(() => api("POST", "/api/materials/links", body), event.target.querySelector(".form-error"));
  if (!saved) return;
  linkDialog.close();
  state.kind = "link";
  load();
});
load();
