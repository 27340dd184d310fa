// Replays a session's shared screen: the shared page and its strokes as they were at
// any moment, in step with the session's recording when there is one.
//
// With a recording the timeline is the recording's: 0 .. its duration, its segments
// end to end. A moment t of it is the server time recording_started + t, the clock the
// whiteboard's ops are stamped with, so the board shows every op up to then. Playing
// the video moves the timeline and the board (every frame while it plays); moving the
// timeline seeks the video (loading the segment that holds that moment). Without a
// recording the timeline spans the whiteboard's ops. ?t=milliseconds jumps there.
import { api, token } from "../api.js";
import { renderAnnotatedPages } from "../annotated-pages.js";
import { t } from "../i18n.js";
import { notify, startPage } from "../shell.js";
import { mountBoard } from "../whiteboard.js";

await startPage("/records");
const sessionId = location.pathname.split("/")[2];
const { events } = await api("GET", `/api/sessions/${sessionId}/board/events`);
const timeline = document.querySelector("#timeline");
const position = document.querySelector("#position");
const player = document.querySelector("#recording");

let recording = null;
try {
  recording = await api("GET", `/api/sessions/${sessionId}/recording`);
  if (!recording.segments.length || recording.started_ms === null) recording = null;
} catch (error) {
  if (error.code !== "not_found") notify(error.text || error.message);
}

// The board view is driven from the log, not from a live connection.
const replayClient = Object.assign(new EventTarget(), {
  me: { participant_id: "" },
  send: () => Promise.reject(Object.assign(new Error("replay"), { code: "replay" })),
});
const board = mountBoard(document.querySelector("#board-panel"), replayClient, {
  sessionId,
  credentials: { token: token.get() },
  staff: false,
});
const empty = { seq: 0, presenter: "", documents: [], pages: {}, current: null, video: null, strokes: [], views: {}, now_ms: 0 };
document.querySelector("#nothing-shared").hidden = events.length > 0;

// ---- the timeline: the recording's, or the whiteboard's ops ------------------------------
const segments = [];
let start;
let length;
if (recording) {
  let offset = 0;
  for (const segment of recording.segments) {
    segments.push({ ...segment, offset });
    offset += segment.duration_ms;
  }
  start = recording.started_ms;
  length = offset;
  document.querySelector("#recording-panel").hidden = false;
} else {
  start = events.length ? events[0].at_ms : 0;
  length = events.length ? events[events.length - 1].at_ms - start : 0;
  document.querySelector("#no-recording").hidden = events.length === 0;
}
timeline.max = String(length);

// ---- the board at a moment: ops applied incrementally, rebuilt when going back ----------
let applied = 0;
function rebuild() {
  const state = board.state;
  state.reset();
  state.pending.clear();
  state.ink.clear();
  state.loadSnapshot(empty);
  applied = 0;
}
rebuild();
function showBoard(at) {
  let target = 0;
  while (target < events.length && events[target].at_ms <= at) target += 1;
  if (target < applied) rebuild();
  for (; applied < target; applied += 1) {
    const event = events[applied];
    board.state.apply({ seq: event.seq, author: event.author, at_ms: event.at_ms, op_id: "", effects: event.effects });
  }
  document.body.dataset.replayMs = String(Math.round(at - start));
  const time = new Date(at).toLocaleTimeString();
  const step = t("board.replayAt", { n: applied, total: events.length, time });
  const seconds = (ms) => `${Math.floor(ms / 60000)}:${String(Math.floor((ms / 1000) % 60)).padStart(2, "0")}`;
  position.textContent = recording ? `${step} · ${t("board.replayClock", { time, position: seconds(at - start) })}` : step;
}

// ---- the recording's segments: fetched with the login token, played end to end ----------
const urls = new Map();
async function segmentUrl(name) {
  if (!urls.has(name)) {
    const response = await fetch(`/api/sessions/${sessionId}/recording/${name}`, {
      headers: { Authorization: `Bearer ${token.get()}` },
    });
    if (!response.ok) throw new Error(t("playback.segmentMissing", { name }));
    urls.set(name, URL.createObjectURL(await response.blob()));
  }
  return urls.get(name);
}
let current = -1;
let loading = Promise.resolve();
function segmentAt(ms) {
  let index = 0;
  while (index + 1 < segments.length && segments[index + 1].offset <= ms) index += 1;
  return index;
}
// Puts the player at moment `ms` of the recording (switching segment when needed).
function seekRecording(ms, { play = !player.paused } = {}) {
  const index = segmentAt(ms);
  const within = Math.max(0, ms - segments[index].offset) / 1000;
  loading = loading.then(async () => {
    if (index !== current) {
      current = index;
      player.dataset.segment = String(index);
      player.src = await segmentUrl(segments[index].name);
      await new Promise((resolve) => player.addEventListener("loadedmetadata", resolve, { once: true }));
    }
    player.currentTime = within;
    if (play) await player.play().catch(() => {});
  });
  return loading.catch((error) => notify(error.message));
}
function recordingMs() {
  return current < 0 ? 0 : segments[current].offset + player.currentTime * 1000;
}
let seeking = false;
function follow() {
  if (seeking || current < 0) return;
  const ms = Math.min(length, recordingMs());
  timeline.value = String(ms);
  showBoard(start + ms);
}
let frame = 0;
function playing() {
  follow();
  frame = player.paused ? 0 : requestAnimationFrame(playing);
}
if (recording) {
  player.addEventListener("play", () => {
    if (!frame) frame = requestAnimationFrame(playing);
  });
  player.addEventListener("seeked", follow);
  player.addEventListener("timeupdate", follow);
  player.addEventListener("ended", () => {
    if (current + 1 < segments.length) seekRecording(segments[current + 1].offset, { play: true });
  });
}

timeline.addEventListener("input", async () => {
  const ms = Number(timeline.value);
  showBoard(start + ms);
  if (!recording) return;
  seeking = true;
  try {
    await seekRecording(ms);
  } finally {
    seeking = false;
  }
});

const asked = Number(new URLSearchParams(location.search).get("t"));
const first = Number.isFinite(asked) && asked > 0 ? Math.min(asked, length) : recording ? 0 : length;
timeline.value = String(first);
showBoard(start + first);
if (recording) {
  seeking = true;
  await seekRecording(first, { play: false });
  seeking = false;
}

// ---- the annotated pages kept with the record -----------------------------------------
const annotated = await api("GET", `/api/sessions/${sessionId}/board/record`).catch(() => ({ pages: [] }));
await renderAnnotatedPages(document.querySelector("#annotated"), annotated.pages);
document.querySelector("#annotated-panel").hidden = !annotated.pages.length;
