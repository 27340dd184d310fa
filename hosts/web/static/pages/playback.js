// Plays a session's recording: its MP4 segments in manifest order, after the server has
// re-checked every segment's SHA-256 against the hash-chained manifest.
import { api } from "../api.js";
import { t } from "../i18n.js";
import { segmentUrls } from "../recording-segments.js";
import { notify, startPage } from "../shell.js";

await startPage("/records");
const sessionId = location.pathname.split("/")[2];
const player = document.querySelector("#player");
const list = document.querySelector("#segments");

const fetchRecording = async (query = "") => {
  try {
    return await api("GET", `/api/sessions/${sessionId}/recording${query}`);
  } catch (error) {
    notify(error.code === "not_found" ? t("playback.none") : error.text || error.message);
    throw error;
  }
};
// A session that just ended: its recording is being finished; show how far, then play.
let pending = await fetchRecording();
const processing = document.querySelector("#processing");
while (pending.status === "processing") {
  document.querySelector("#recording-status").textContent = t("playback.status.processing");
  processing.hidden = false;
  const bar = document.querySelector("#processing-bar");
  const { done = 0, total = 0 } = pending.progress || {};
  bar.max = Math.max(total, 1);
  bar.value = total ? done : 0;
  const percent = total ? Math.floor((100 * done) / total) : 0;
  document.querySelector("#processing-label").textContent = t("playback.processing", { percent });
  await new Promise((resolve) => setTimeout(resolve, 400));
  pending = await fetchRecording();
}
processing.hidden = true;
const recording = await fetchRecording("?verify=1");
document.querySelector("#recording-status").textContent = t(`playback.status.${recording.status}`);
const verified = document.querySelector("#recording-verified");
verified.textContent = t(recording.verified ? "playback.verified" : "playback.tampered");
verified.className = `badge ${recording.verified ? "online" : "disabled"}`;
if (!recording.verified) {
  // Which segments do not match, in the reader's language; the checker's own words stay
  // available (title) for whoever investigates.
  const problems = document.querySelector("#problems");
  const bad = recording.bad_segments || [];
  problems.textContent = bad.length
    ? t("playback.badSegments", { list: bad.map((i) => t("playback.segmentNumber", { n: i + 1 })).join("、") })
    : t("playback.manifestBroken");
  problems.title = recording.problems.join("\n");
  problems.hidden = false;
}

// Segments are fetched once each (a <video src> cannot send it) and played in turn.
const segmentUrl = segmentUrls(sessionId);

let current = -1;
async function play(index) {
  if (index >= recording.segments.length) return;
  current = index;
  for (const [i, item] of [...list.children].entries()) item.classList.toggle("current", i === index);
  player.src = await segmentUrl(recording.segments[index].name);
  await player.play().catch(() => {});
  if (index + 1 < recording.segments.length) segmentUrl(recording.segments[index + 1].name).catch(() => {});
}
player.addEventListener("ended", () => play(current + 1));

for (const [index, segment] of recording.segments.entries()) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link";
  button.textContent = t("playback.segment", { n: index + 1, seconds: Math.round(segment.duration_ms / 1000) });
  button.addEventListener("click", () => play(index).catch((error) => notify(error.message)));
  item.append(button);
  if ((recording.bad_segments || []).includes(index)) {
    const badge = document.createElement("span");
    badge.className = "badge disabled";
    badge.textContent = t("playback.segmentTampered");
    item.append(" ", badge);
  }
  list.append(item);
}
// ?at=<ms on the session clock> (a record's evidence links here): start at that moment.
const at = Number(new URLSearchParams(location.search).get("at"));
let startAt = { index: 0, seconds: 0 };
if (at && recording.started_ms != null) {
  let position = Math.max(0, at - recording.started_ms);
  for (const [index, segment] of recording.segments.entries()) {
    startAt = { index, seconds: position / 1000 };
    if (position < segment.duration_ms) break;
    position -= segment.duration_ms;
  }
}
if (recording.segments.length) {
  const seek = () => {
    if (startAt.seconds) player.currentTime = startAt.seconds;
  };
  player.addEventListener("loadedmetadata", seek, { once: true });
  play(startAt.index).catch((error) => notify(error.message));
}
