// Replays a session's whiteboard and share log: the shared page and its strokes as they
// were at any moment of the session (?t=milliseconds since the first share jumps there).
import { api, token } from "../api.js";
import { t } from "../i18n.js";
import { startPage } from "../shell.js";
import { mountBoard } from "../whiteboard.js";

await startPage("/records");
const sessionId = location.pathname.split("/")[2];
const { events } = await api("GET", `/api/sessions/${sessionId}/board/events`);
const timeline = document.querySelector("#timeline");
const position = document.querySelector("#position");

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
const start = events.length ? events[0].at_ms : 0;
const end = events.length ? events[events.length - 1].at_ms : 0;
timeline.max = String(end - start);
document.querySelector("#nothing-shared").hidden = events.length > 0;

function show() {
  const upTo = start + Number(timeline.value);
  const state = board.state;
  state.reset();
  state.pending.clear();
  state.ink.clear();
  state.loadSnapshot(empty);
  let applied = 0;
  for (const event of events) {
    if (event.at_ms > upTo) break;
    state.apply({ seq: event.seq, author: event.author, at_ms: event.at_ms, op_id: "", effects: event.effects });
    applied += 1;
  }
  const time = new Date(upTo).toLocaleTimeString();
  position.textContent = t("board.replayAt", { n: applied, total: events.length, time });
}

timeline.addEventListener("input", show);
const asked = Number(new URLSearchParams(location.search).get("t"));
timeline.value = String(Number.isFinite(asked) && asked > 0 ? Math.min(asked, end - start) : end - start);
show();
