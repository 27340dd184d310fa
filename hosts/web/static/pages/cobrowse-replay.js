// Replays a session's stored co-browse log: the page as it was at any step.
import { api } from "../api.js";
import { t } from "../i18n.js";
import { startPage } from "../shell.js";
import { Replayer } from "/sdk/cobrowse/replayer.js";

await startPage("/records");
const sessionId = location.pathname.split("/")[2];
const { shares } = await api("GET", `/api/records/${sessionId}/cobrowse`);
const select = document.querySelector("#share");
const timeline = document.querySelector("#timeline");
const position = document.querySelector("#position");
const replayer = new Replayer(document.querySelector("#replay"));
for (const [index, share] of shares.entries()) select.append(new Option(`${share.name}（${share.url}）`, String(index)));

function show() {
  const share = shares[Number(select.value)];
  if (!share || !share.events.length) return;
  const upTo = Number(timeline.value);
  // Start from the last snapshot at or before the step, then apply what followed.
  let start = 0;
  for (let i = 0; i <= upTo; i += 1) if (share.events[i].kind === "snapshot") start = i;
  replayer.reset(share.events[start].data);
  for (let i = start + 1; i <= upTo; i += 1) replayer.apply(share.events[i].kind, share.events[i].data);
  replayer.setControl(false);
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
