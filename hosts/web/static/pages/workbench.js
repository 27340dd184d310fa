// 工作台: start a session (项目, 会议主题) and the 展业会议列表 — the salesperson's
// unfinished sessions and today's, each with one click to rejoin or to its record.
// Starting while one is unfinished asks as the manual's §5.7 does.
import { api } from "../api.js";
import { t } from "../i18n.js";
import { attempt, startPage } from "../shell.js";
import { dateTime } from "../times.js";

const me = await startPage("/workbench");
const errorBox = document.querySelector("#start-error");
const dialog = document.querySelector("#unfinished-dialog");
const list = document.querySelector("#meetings");

const pad = (n) => String(n).padStart(2, "0");
function duration(ms) {
  if (ms === null || ms === undefined) return "-";
  const s = Math.floor(ms / 1000);
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

function meetingCard(m) {
  const item = document.createElement("li");
  const unfinished = m.state !== "ended";
  item.className = `meeting${unfinished ? " unfinished" : ""}`;
  item.dataset.meeting = m.meeting_number;
  item.innerHTML = `<div class="meeting-main"><div class="meeting-title"></div><div class="meeting-meta"></div></div>
    <div class="meeting-actions"></div>`;
  item.querySelector(".meeting-title").textContent = m.title || m.project || t("workbench.untitled");
  const meta = item.querySelector(".meeting-meta");
  const facts = [
    t("workbench.number", { number: m.meeting_number }),
    t(`workbench.state.${m.state}`),
    m.project && m.title ? t("workbench.projectValue", { project: m.project }) : null,
    t("workbench.customers", { n: m.customer_count }),
    t("workbench.duration", { value: duration(m.duration_ms) }),
    dateTime(m.created_at, me.timezone),
  ];
  for (const fact of facts.filter(Boolean)) {
    const span = document.createElement("span");
    span.textContent = fact;
    meta.append(span);
  }
  const actions = item.querySelector(".meeting-actions");
  const link = document.createElement("a");
  link.className = unfinished ? "button primary" : "button";
  link.href = unfinished ? `/sessions/${m.id}` : `/records?view=${encodeURIComponent(m.id)}`;
  link.textContent = t(unfinished ? "workbench.rejoin" : "workbench.viewRecord");
  actions.append(link);
  return item;
}

// Only the newest answer is shown (a slow earlier one must not replace it).
let loads = 0;
async function load() {
  const mine = ++loads;
  const page = await attempt(() => api("GET", "/api/workbench/meetings"));
  if (!page || mine !== loads) return;
  list.replaceChildren(...page.items.map(meetingCard));
  if (!page.items.length) {
    const empty = document.createElement("li");
    empty.className = "empty";
    empty.textContent = t("workbench.noMeetings");
    list.append(empty);
  }
  list.dataset.loaded = "true";
}

async function start(startNew) {
  errorBox.hidden = true;
  const project = document.querySelector("#project").value.trim() || null;
  const title = document.querySelector("#title").value.trim() || null;
  try {
    const session = await api("POST", "/api/sessions", {
      project, title, start_new: startNew, touch_points: navigator.maxTouchPoints || 0,
    });
    location.assign(`/sessions/${session.id}`);
  } catch (error) {
    if (error.code === "unfinished_session") {
      // 您当前有未结束的会议，是否加入该会议？ (manual §5.7)
      document.querySelector("#unfinished-which").textContent = t("workbench.unfinishedNumber", { number: error.extra.meeting_number });
      dialog.dataset.sessionId = error.extra.session_id;
      dialog.showModal();
      return;
    }
    await attempt(() => Promise.reject(error), errorBox);
  }
}

document.querySelector("#start-form").addEventListener("submit", (event) => {
  event.preventDefault();
  start(false);
});
document.querySelector("#start-new").addEventListener("click", () => {
  dialog.close();
  start(true);
});
document.querySelector("#rejoin").addEventListener("click", () => {
  location.assign(`/sessions/${dialog.dataset.sessionId}`);
});
document.querySelector("#refresh").addEventListener("click", load);
// Coming back to the tab (after a session) shows the list as it is now.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") load();
});
load();
