// Replays a session's stored co-browse log step by step: the page as it was at any step
// of one shared link. (The record's shared-screen replay, /records/{id}/board, plays the
// same pages on the recording's timeline.)
import { api } from "../api.js";
import { CobrowsePlayback } from "../cobrowse-playback.js";
import { t } from "../i18n.js";
import { startPage } from "../shell.js";

await startPage("/records");
const sessionId = location.pathname.split("/")[2];
const { shares } = await api("GET", `/api/records/${sessionId}/cobrowse`);
const select = document.querySelector("#share");
const timeline = document.querySelector("#timeline");
const position = document.querySelector("#position");
const playback = new CobrowsePlayback(document.querySelector("#replay"));
for (const [index, share] of shares.entries()) select.append(new Option(`${share.name}（${share.url}）`, String(index)));

function show() {
  const share = shares[Number(select.value)];
  if (!share || !share.events.length) return;
  const upTo = Number(timeline.value);
  playback.show(share, upTo + 1);
  const at = new Date(share.events[upTo].at).toLocaleTimeString();
  position.textContent = t("cobrowse.replayAt", { n: upTo + 1, total: share.events.length, time: at });
}

function load() {
  const share = shares[Number(select.value)];
  timeline.max = String(Math.max(0, (share?.events.length || 1) - 1));
  timeline.value = timeline.max;
  show();
}

select.addEventListener("change", load);
timeline.addEventListener("input", show);
load();
