// Replays a session's shared screen as the customer had it at any moment: the shared
// document with its strokes, or the co-browsed product page (H5 link), in step with the
// session's recording when there is one.
//
// With a recording the timeline is the recording's: 0 .. its duration, its segments
// end to end. A moment t of it is the server time recording_started + t, the clock the
// whiteboard's ops and the co-browse events are stamped with, so the screen shows every
// op and page event up to then. Playing the video moves the timeline and the screen
// (every frame while it plays); moving the timeline seeks the video (loading the
// segment that holds that moment). Without a recording the timeline spans the logs.
// ?t=milliseconds jumps there.
//
// What is on screen at a moment: a co-browsed page while its sharing runs (from its
// start to its end), the shared document otherwise. When both are up, whichever was
// brought up last is in front: a link pushed over a document, or a document shared
// (again) over a link.
import { api, token } from "../api.js";
import { renderAnnotatedPages } from "../annotated-pages.js";
import { CobrowsePlayback } from "../cobrowse-playback.js";
import { t } from "../i18n.js";
import { segmentUrls } from "../recording-segments.js";
import { notify, startPage } from "../shell.js";
import { dateTime } from "../times.js";
import { mountBoard } from "../whiteboard.js";

const me = await startPage("/records");
const sessionId = location.pathname.split("/")[2];
const [{ events }, { shares }] = await Promise.all([
  api("GET", `/api/sessions/${sessionId}/board/events`),
  api("GET", `/api/records/${sessionId}/cobrowse`).catch((error) => {
    notify(error.text || error.message);
    return { shares: [] };
  }),
]);
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
document.querySelector("#nothing-shared").hidden = events.length > 0 || shares.length > 0;

// ---- the timeline: the recording's, or that of the board's and co-browse logs -----------
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
  // From the first to the last moment of either log.
  let earliest = Infinity;
  let latest = -Infinity;
  const moment = (at) => {
    earliest = Math.min(earliest, at);
    latest = Math.max(latest, at);
  };
  if (events.length) {
    moment(events[0].at_ms);
    moment(events[events.length - 1].at_ms);
  }
  for (const share of shares) {
    moment(share.started_ms);
    if (share.ended_ms !== null) moment(share.ended_ms);
    if (share.events.length) moment(share.events[share.events.length - 1].at);
  }
  start = Number.isFinite(earliest) ? earliest : 0;
  length = Number.isFinite(earliest) ? latest - earliest : 0;
  document.querySelector("#no-recording").hidden = !Number.isFinite(earliest);
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
}

// ---- the co-browsed page at a moment, in the sandboxed replayer -------------------------
const cobrowseView = document.querySelector("#cobrowse-view");
const cobrowseFrame = document.querySelector("#cobrowse-frame");
const cobrowseWaiting = document.querySelector("#cobrowse-waiting");
const playback = new CobrowsePlayback(document.querySelector("#cobrowse-replay"));
// The share running at `at` (a new share ends the one before it). One that ended with
// the session (or after the timeline) stays on screen to the timeline's last moment.
function shareAt(at) {
  let running = null;
  for (const share of shares) {
    const ended = share.ended_ms === null || share.ended_ms >= start + length ? Infinity : share.ended_ms;
    if (share.started_ms <= at && at < ended) running = share;
  }
  return running;
}
// When a document was last shared at or before `at` (it then comes in front).
const documentShares = events.filter((e) => e.effects.some((f) => f.kind === "document_shared")).map((e) => e.at_ms);
function documentSharedAt(at) {
  let when = -Infinity;
  for (const shared of documentShares) if (shared <= at) when = shared;
  return when;
}

// ---- the screen at a moment: the board or the co-browsed page ---------------------------
function showScreen(at) {
  showBoard(at);
  const share = shareAt(at);
  const documentUp = board.state.document !== null;
  const linkInFront = share !== null && (!documentUp || share.started_ms >= documentSharedAt(at));
  const time = dateTime(at, me.timezone).slice(11); // the wall clock in the organization's zone
  let step;
  if (linkInFront) {
    const count = CobrowsePlayback.countAt(share, at);
    const ready = playback.show(share, count);
    document.querySelector("#cobrowse-name").textContent = t("cobrowse.replayShared", { name: share.name });
    cobrowseWaiting.hidden = ready;
    cobrowseFrame.hidden = !ready;
    step = t("cobrowse.replayAt", { n: count, total: share.events.length, time });
  } else {
    step = t("board.replayAt", { n: applied, total: events.length, time });
  }
  cobrowseView.hidden = !linkInFront;
  document.querySelector("#board-view").hidden = linkInFront;
  document.querySelector("#screen-idle").hidden = linkInFront || documentUp || (!events.length && !shares.length);
  document.body.dataset.replayMs = String(Math.round(at - start));
  const seconds = (ms) => `${Math.floor(ms / 60000)}:${String(Math.floor((ms / 1000) % 60)).padStart(2, "0")}`;
  position.textContent = recording ? `${step} · ${t("board.replayClock", { time, position: seconds(at - start) })}` : step;
}

// ---- the recording's segments: fetched once each, played end to end ----------
const segmentUrl = segmentUrls(sessionId);
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
      // Until the other segment is in the player, its position is not the recording's.
      current = -1;
      player.src = await segmentUrl(segments[index].name);
      await new Promise((resolve) => player.addEventListener("loadedmetadata", resolve, { once: true }));
      current = index;
      player.dataset.segment = String(index);
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
  showScreen(start + ms);
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
  showScreen(start + ms);
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
showScreen(start + first);
if (recording) {
  seeking = true;
  await seekRecording(first, { play: false });
  seeking = false;
}

// ---- the annotated pages kept with the record -------------------------------------------
const annotated = await api("GET", `/api/sessions/${sessionId}/board/record`).catch(() => ({ pages: [] }));
await renderAnnotatedPages(document.querySelector("#annotated"), annotated.pages);
document.querySelector("#annotated-panel").hidden = !annotated.pages.length;
