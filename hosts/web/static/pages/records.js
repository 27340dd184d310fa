// 会话记录: the search panel, the list, a record's details and the export with progress.
import { api, ApiError, token } from "../api.js";
import { renderAnnotatedPages } from "../annotated-pages.js";
import { t } from "../i18n.js";
import { attempt, cell, notify, startPage } from "../shell.js";
import { dateTime, sessionClock, startOfDay } from "../times.js";

const PAGE_SIZE = 20;
const me = await startPage("/records");
const state = { offset: 0, filters: {} };
const facets = await api("GET", "/api/records/facets");

function fillSelect(select, options) {
  select.replaceChildren(new Option(t("common.all"), ""));
  for (const [value, label] of options) select.append(new Option(label, value));
}
fillSelect(document.querySelector("#filter-org"), facets.orgs.map((o) => [o.id, o.name]));
fillSelect(document.querySelector("#filter-host"), facets.hosts.map((h) => [h.id, h.name]));
fillSelect(document.querySelector("#filter-project"), facets.projects.map((p) => [p, p]));
fillSelect(document.querySelector("#filter-evaluation"), [
  ["rated", t("records.rated")], ["unrated", t("records.unrated")],
  ...[5, 4, 3, 2, 1].map((n) => [String(n), t("records.score", { n })]),
]);
fillSelect(document.querySelector("#filter-link"), (facets.links || []).map((l) => [l.id, l.name]));
fillSelect(document.querySelector("#filter-insured"), ["yes", "no", "unmarked"].map((v) => [v, t(`records.insured.${v}`)]));
fillSelect(document.querySelector("#filter-video"), ["used", "unused"].map((v) => [v, t(`records.video.${v}`)]));
fillSelect(document.querySelector("#filter-state"), ["waiting", "live", "ended"].map((s) => [s, t(`records.state.${s}`)]));
// A salesperson only ever sees their own records: no one else to pick.
document.querySelector("#host-filter").hidden = me.role === "salesperson";

const pad = (n) => String(n).padStart(2, "0");
// Times in the organization's zone, whatever the computer's clock is set to.
const when = (iso) => dateTime(iso, me.timezone);
function duration(ms) {
  if (ms === null || ms === undefined) return "-";
  const s = Math.floor(ms / 1000);
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}
const label = (prefix, value) => (value ? t(`${prefix}.${value}`) : "-");

// The search panel as the API's filter names; dates are days in the organization's zone.
function readFilters(form) {
  const filters = {};
  for (const [name, value] of new FormData(form)) {
    if (!value) continue;
    if (name === "created_from") filters[name] = startOfDay(value, me.timezone);
    else if (name === "created_before") filters[name] = startOfDay(value, me.timezone, 1);
    else filters[name] = value;
  }
  return filters;
}

function emptyRow(body, columns, key = "common.empty") {
  const tr = document.createElement("tr");
  const td = cell(t(key));
  td.colSpan = columns;
  td.className = "empty";
  tr.append(td);
  body.append(tr);
}

// Only the newest query's answer is shown (an earlier, slower one must not replace it).
let loads = 0;

async function load() {
  const mine = ++loads;
  const errorBox = document.querySelector("#filter-error");
  errorBox.hidden = true;
  const query = new URLSearchParams({ ...state.filters, offset: state.offset, limit: PAGE_SIZE });
  const page = await attempt(() => api("GET", `/api/records?${query}`), errorBox);
  if (mine !== loads) return;
  if (!page) return;
  const body = document.querySelector("#records tbody");
  body.replaceChildren();
  for (const record of page.items) body.append(row(record));
  if (!page.items.length) emptyRow(body, 13, "records.empty");
  document.querySelector("#total").textContent = t("common.total", { n: page.total });
  document.querySelector("#prev").disabled = state.offset === 0;
  document.querySelector("#next").disabled = state.offset + PAGE_SIZE >= page.total;
}

function row(record) {
  const tr = document.createElement("tr");
  tr.dataset.meeting = record.meeting_number;
  tr.append(
    cell(record.id), cell(record.meeting_number), cell(record.org_name), cell(record.project || "-"),
    cell(record.host_name), cell(record.host_login || "-"), cell(when(record.started_at)),
    cell(duration(record.duration_ms)), qaCell(record), cell(evaluationText(record)),
    cell(insuredText(record.insured)),
    cell(record.network_quality ? t(`media.network.${record.network_quality}`) : "-"),
  );
  const actions = cell("");
  actions.className = "actions";
  for (const [key, handler] of [["records.view", showDetails], ["records.evaluationDetails", showEvaluations]]) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.textContent = t(key);
    button.addEventListener("click", () => handler(record.id));
    actions.append(button);
  }
  tr.append(actions);
  return tr;
}

// 评价: the customers' average score and how many rated, "-" when nobody did.
function evaluationText(record) {
  if (!record.evaluation_count) return t("records.unrated");
  return t("records.evaluationValue", { score: record.average_score, n: record.evaluation_count });
}

const insuredText = (insured) => t(`records.insured.${insured === true ? "yes" : insured === false ? "no" : "unmarked"}`);

// 素材类型 in words; 素材内容: a link's address, a document's type and pages.
function materialRow(m) {
  const kind = t(`records.materialKind.${m.kind}`);
  let content = m.content || "-";
  if (m.kind !== "link" && m.kind !== "assessment") {
    const parts = [];
    if (m.content_kind) parts.push(m.content_kind.toUpperCase());
    if (m.pages) parts.push(t("materials.pages", { n: m.pages }));
    content = parts.join(" · ") || "-";
  }
  return [kind, m.name, content];
}

// 测评: each submitted assessment with who submitted it, when, and its answers.
function renderAssessments(record) {
  const holder = document.querySelector("#record-assessments");
  holder.replaceChildren();
  const items = record.assessments || [];
  document.querySelector("#record-assessments-panel").hidden = !items.length;
  for (const a of items) {
    const section = document.createElement("div");
    section.className = "assessment";
    const title = document.createElement("h4");
    title.textContent = t("records.assessmentTitle", { name: a.name, who: a.participant_name, when: when(a.submitted_at) });
    const table = document.createElement("table");
    table.innerHTML = "<thead><tr><th></th><th></th></tr></thead><tbody></tbody>";
    const [question, answer] = table.querySelectorAll("th");
    question.textContent = t("records.question");
    answer.textContent = t("records.answer");
    section.append(title, table);
    holder.append(section);
    fillTable(table, a.answers.map((x) => [x.label, x.value]), 2);
  }
}

function renderOutcome(record) {
  const s = record.summary;
  const form = document.querySelector("#insured-form");
  form.dataset.id = s.id;
  document.querySelector("#record-insured").value = s.insured === true ? "yes" : s.insured === false ? "no" : "";
  document.querySelector("#record-insured-by").textContent = record.insured_by
    ? t("records.insuredBy", { who: record.insured_by, when: when(record.insured_at) })
    : "";
}

document.querySelector("#insured-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const value = form.elements.insured.value;
  const insured = value === "yes" ? true : value === "no" ? false : null;
  const saved = await attempt(() => api("PUT", `/api/records/${form.dataset.id}/insured`, { insured }));
  if (!saved) return;
  notify(t("common.saved"), "info");
  const record = await attempt(() => api("GET", `/api/records/${form.dataset.id}`));
  if (record) renderOutcome(record);
  load();
});

// The QA score with a pass / fail badge, "-" when the assistant did not run.
function qaCell(record) {
  if (record.qa_score === null || record.qa_score === undefined) return cell("-");
  const td = cell(t("records.qa.scoreValue", { n: record.qa_score }));
  td.className = "qa-cell";
  const badge = document.createElement("span");
  badge.className = `qa-badge ${record.qa_passed ? "qa-pass" : "qa-fail"}`;
  badge.textContent = t(record.qa_passed ? "records.qa.passed" : "records.qa.failed");
  td.append(" ", badge);
  return td;
}

function fillTable(table, rows, columns) {
  const body = table.querySelector("tbody");
  body.replaceChildren();
  for (const values of rows) {
    const tr = document.createElement("tr");
    tr.append(...values.map((v) => cell(v)));
    body.append(tr);
  }
  if (!rows.length) emptyRow(body, columns);
}

// 质检报告: score and verdict, violations with their evidence, what was never said,
// speech rates and silences. Times are offsets from the session's start (the SDK's).
const clockTime = sessionClock;
const listOrNone = (items) => (items.length ? items.join(t("records.qa.separator")) : t("records.qa.noneItem"));

// A moment of the session as a link into its recording (the playback page seeks to it),
// or plain text when the session has no recording or the moment has no time.
function momentCell(record, offsetMs, timeMs) {
  const td = cell(offsetMs == null ? "-" : clockTime(offsetMs));
  if (offsetMs != null && timeMs != null && record.recording_url) {
    const link = document.createElement("a");
    link.href = `${record.recording_url}?at=${encodeURIComponent(timeMs)}`;
    link.className = "moment";
    link.title = t("records.playFromHere");
    link.textContent = td.textContent;
    td.replaceChildren(link);
  }
  return td;
}

function renderSop(record) {
  const body = document.querySelector("#record-sop tbody");
  body.replaceChildren();
  for (const step of record.sop_steps) {
    const tr = document.createElement("tr");
    const said = step.text ? `${step.role ? t(`records.qa.role.${step.role}`) : step.speaker || ""}：${step.text}` : "-";
    tr.append(
      cell(step.level1),
      cell(step.level2),
      cell(t(`records.sop.status.${step.status}`)),
      cell(step.script),
      momentCell(record, step.offset_ms, step.time_ms),
      cell(said),
    );
    body.append(tr);
  }
  if (!record.sop_steps.length) emptyRow(body, 6);
}

function renderQa(report, record) {
  document.querySelector("#record-qa-none").hidden = Boolean(report);
  document.querySelector("#record-qa-report").hidden = !report;
  if (!report) return;
  document.querySelector("#record-qa-score").textContent = t("records.qa.scoreValue", { n: report.score });
  const badge = document.querySelector("#record-qa-badge");
  badge.textContent = t(report.passed ? "records.qa.passed" : "records.qa.failed");
  badge.className = `qa-badge ${report.passed ? "qa-pass" : "qa-fail"}`;
  document.querySelector("#record-qa-missing").textContent = listOrNone(report.missing_mandatory);
  document.querySelector("#record-qa-rate").textContent = listOrNone(
    Object.entries(report.speech_rate_cpm).map(([role, n]) => t("records.qa.rate", { role: t(`records.qa.role.${role}`), n: Math.round(n) })),
  );
  document.querySelector("#record-qa-silences").textContent = listOrNone(
    report.silences.map((x) => t("records.qa.silence", { from: clockTime(x.start_ms), to: clockTime(x.end_ms), seconds: Math.round((x.end_ms - x.start_ms) / 1000) })),
  );
  const body = document.querySelector("#record-qa-violations tbody");
  body.replaceChildren();
  for (const v of report.violations) {
    const heard = Boolean(v.speaker);
    const tr = document.createElement("tr");
    tr.className = `qa-${v.severity}`;
    tr.append(
      heard ? momentCell(record, v.offset_ms, v.time_ms) : cell("-"),
      cell(v.role ? t(`records.qa.role.${v.role}`) : heard ? v.speaker : "-"),
      cell(v.rule_name),
      cell(v.text || t(`records.qa.sessionWide.${v.kind}`)),
      cell(`-${v.deduction}`),
    );
    body.append(tr);
  }
  if (!report.violations.length) emptyRow(body, 5, "records.qa.noViolations");
}

function evaluationRows(record) {
  return record.evaluations.map((e) => [e.name, e.score ? t("records.score", { n: e.score }) : "-", e.comment || "-"]);
}

async function showDetails(id) {
  const record = await attempt(() => api("GET", `/api/records/${id}`));
  if (!record) return;
  const s = record.summary;
  const yesNo = (flag) => t(flag ? "records.yes" : "records.no");
  const facts = [
    ["records.meetingNumber", s.meeting_number], ["records.status", label("records.state", s.state)],
    ["records.createdAt", when(s.created_at)], ["records.creator", s.host_login ? `${s.host_name}（${s.host_login}）` : s.host_name],
    ["records.orgName", s.org_name], ["records.project", s.project || "-"],
    ["records.participantCount", String(s.participant_count)], ["records.customerCount", String(s.customer_count)],
    ["records.sharedFile", yesNo(record.shared_file)], ["records.sharedLink", yesNo(record.shared_link)],
    ["records.meetingTitle", s.title || "-"], ["records.insured", insuredText(s.insured)],
    ["records.startTime", when(s.started_at)], ["records.endTime", when(s.ended_at)],
    ["records.duration", duration(s.duration_ms)], ["records.recording", record.recording_status ? label("records.recordingState", record.recording_status) : t("records.recordingNone")],
    ["records.terminal", label("records.terminal", s.terminal)], ["records.endReason", label("records.endReason", s.end_reason)],
  ];
  const factBody = document.querySelector("#record-facts tbody");
  factBody.replaceChildren();
  for (let i = 0; i < facts.length; i += 2) {
    const tr = document.createElement("tr");
    for (const [key, value] of facts.slice(i, i + 2)) {
      const th = document.createElement("th");
      th.textContent = t(key);
      tr.append(th, cell(value));
    }
    factBody.append(tr);
  }
  fillTable(document.querySelector("#record-materials"), record.shared_materials.map(materialRow), 3);
  renderAssessments(record);
  renderOutcome(record);
  const playback = document.querySelector("#record-playback");
  playback.hidden = !record.recording_url;
  if (record.recording_url) playback.href = record.recording_url;
  const replay = document.querySelector("#record-replay");
  replay.hidden = !record.shared_link;
  replay.href = `/records/${id}/cobrowse`;
  const boardReplay = document.querySelector("#record-board-replay");
  // The shared-screen replay shows documents, the board and co-browsed links alike.
  boardReplay.hidden = !record.shared_materials.length;
  boardReplay.href = `/records/${id}/board`;
  const annotated = record.annotated_pages || [];
  document.querySelector("#record-annotated-panel").hidden = !annotated.length;
  const thumbnails = renderAnnotatedPages(document.querySelector("#record-annotated"), annotated);
  fillTable(
    document.querySelector("#record-participants"),
    record.participants.map((p) => [p.name, t(`records.role.${p.role}`), duration(p.duration_ms)]),
    3,
  );
  renderSop(record);
  renderQa(record.qa_report, record);
  fillTable(document.querySelector("#record-evaluations"), evaluationRows(record), 3);
  document.querySelector("#record-dialog").showModal();
  await thumbnails;
}

async function showEvaluations(id) {
  const record = await attempt(() => api("GET", `/api/records/${id}`));
  if (!record) return;
  fillTable(document.querySelector("#evaluation-table"), evaluationRows(record), 3);
  document.querySelector("#evaluation-dialog").showModal();
}

// The download needs the login token, so it is fetched and handed over as a blob.
async function download(job) {
  const response = await fetch(`/api/records/export/${job.id}/file`, { headers: { Authorization: `Bearer ${token.get()}` } });
  if (!response.ok) {
    const error = (await response.json().catch(() => ({}))).error || { code: "error", message: response.statusText };
    throw new ApiError(response.status, error.code, error.message, {}, error.message_zh || null);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = job.filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function runExport() {
  const button = document.querySelector("#export");
  const panel = document.querySelector("#export-panel");
  const bar = document.querySelector("#export-progress");
  const count = document.querySelector("#export-count");
  const text = document.querySelector("#export-label");
  const show = (job) => {
    bar.max = Math.max(job.total, 1);
    bar.value = job.state === "done" ? bar.max : job.done;
    count.textContent = t("records.exportCount", { done: job.done, total: job.total });
    text.textContent = t(`records.exportState.${job.state}`);
  };
  button.disabled = true;
  try {
    let job = await api("POST", "/api/records/export", {
      format: document.querySelector("#export-format").value,
      filters: readFilters(document.querySelector("#filters")),
      lang: document.documentElement.lang === "en" ? "en" : "zh-CN",
    });
    panel.hidden = false;
    show(job);
    while (job.state === "queued" || job.state === "running") {
      await sleep(300);
      job = await api("GET", `/api/records/export/${job.id}`);
      show(job);
    }
    if (job.state === "failed") {
      notify(t("records.exportFailed", { detail: job.error || "" }));
      return;
    }
    await download(job);
    notify(t("records.exportDone", { n: job.done }), "info");
  } catch (error) {
    notify(error.text || String(error));
  } finally {
    button.disabled = false;
  }
}

for (const dialog of document.querySelectorAll("dialog")) {
  dialog.addEventListener("click", (event) => {
    if (event.target.value === "close") dialog.close();
  });
}
document.querySelector("#export").addEventListener("click", runExport);
document.querySelector("#filters").addEventListener("submit", (event) => {
  event.preventDefault();
  state.filters = readFilters(event.target);
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
// A query submitted before this script was ready reaches the page as its URL's query (the
// form's own GET): it is applied, not lost.
const filterForm = document.querySelector("#filters");
const asked = new URLSearchParams(location.search);
for (const [key, value] of asked) {
  const field = filterForm.elements[key];
  if (field && value) field.value = value;
}
state.filters = readFilters(filterForm);
load();
// /records?view=<id> (the workbench's 查看记录) opens that record's details at once.
const wanted = asked.get("view");
if (wanted) showDetails(wanted);
