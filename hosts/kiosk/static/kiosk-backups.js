// 数据备份与恢复: the backups with their time (the shop's) and whether each verifies,
// 立即备份, and 恢复 of a chosen one after a confirmation — the SDK keeps the current
// data as a backup first. While a backup or restore runs, a progress bar says so.
import { t } from "./messages.js";

let desk = null; // the desk page's helpers, handed over by kiosk.js
const $ = (selector) => document.querySelector(selector);

// Whether this page has a backup or restore running: its steps are shown only then (a
// step that arrives after the job's answer must not cover the result).
let running = false;

function busy(text) {
  running = text !== null;
  const bar = $("#backup-progress");
  bar.hidden = text === null;
  // Indeterminate until the first step reports its pages.
  bar.removeAttribute("value");
  $("#backup-result").textContent = text ?? "";
  for (const button of document.querySelectorAll('[data-panel="backups"] button')) button.disabled = text !== null;
}

// The live stream: the backup or restore this page started got further. The bar spans
// every step: step 2 of 3 half done is half-way.
export function backupStep(data) {
  if (!running) return;
  const bar = $("#backup-progress");
  const part = data.total > 0 ? Math.min(1, data.done / data.total) : 0;
  bar.hidden = false;
  bar.max = 100;
  bar.value = Math.round(((data.index - 1 + part) / data.steps) * 100);
  const percent = Math.round(part * 100);
  $("#backup-result").textContent = t(`backupStep_${data.step}`, { index: data.index, steps: data.steps, percent });
}

function size(bytes) {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

export async function loadBackups() {
  const { items } = await desk.call("GET", "/api/desk/backups");
  const body = $("#backups tbody");
  body.replaceChildren();
  if (!items.length) body.append(desk.emptyRow(5, t("noBackups")));
  for (const b of items) {
    const verdict = b.ok ? t("backupOk", { rows: b.rows }) : t("backupBad", { problem: b.problem_zh || b.problem });
    const buttons = b.ok ? [desk.actionButton(t("restore"), () => restore(b))] : [];
    const tr = desk.tableRow([desk.when(b.taken_at), b.name, size(b.size), verdict], buttons);
    if (!b.ok) tr.classList.add("damaged");
    body.append(tr);
  }
}

async function backUp() {
  busy(t("backingUp"));
  try {
    const made = await desk.call("POST", "/api/desk/backups");
    busy(null);
    $("#backup-result").textContent = t("backedUp", made);
  } catch (error) {
    busy(null);
    $("#backup-result").textContent = desk.explain(error);
  }
  loadBackups().catch((error) => desk.toast(desk.explain(error)));
}

async function restore(b) {
  if (!confirm(t("confirmRestore", { time: desk.when(b.taken_at), name: b.name }))) return;
  busy(t("restoring"));
  try {
    const done = await desk.call("POST", `/api/desk/backups/${encodeURIComponent(b.name)}/restore`);
    busy(null);
    $("#backup-result").textContent = t("restored", { time: desk.when(b.taken_at), kept: done.kept_as });
  } catch (error) {
    busy(null);
    $("#backup-result").textContent = desk.explain(error);
  }
  loadBackups().catch((error) => desk.toast(desk.explain(error)));
}

export function installBackups(helpers) {
  desk = helpers;
  $('[data-tab="backups"]').addEventListener("click", () => loadBackups().catch((error) => desk.toast(desk.explain(error))));
  $("#backup-now").addEventListener("click", backUp);
}
