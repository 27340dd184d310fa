import { api, token } from "../api.js";
import { has, serverMessage, t } from "../i18n.js";
import { mountBeauty } from "../beauty.js";
import { attachCobrowseHost } from "../cobrowse-host.js";
import { mountHallLayout } from "../hall-layout.js";
import { mountInvite } from "../hall-invite.js";
import { mountDeviceCheck } from "../device-check.js";
import { MediaSession } from "../media-session.js";
import { RoomClient } from "../room-client.js";
import { renderMembers, renderStage } from "../room-view.js";
import { confirmDialog, notify, showLoginEnded, startPage } from "../shell.js";
import { mountBoard, shareDialog as boardShareDialog } from "../whiteboard.js";
import { mountSopPanel } from "../sop-panel.js";
import { mountScriptLibrary } from "../script-library.js";

const me = await startPage("/workbench");
const sessionId = location.pathname.split("/").pop();
const session = await api("GET", `/api/sessions/${sessionId}`);
document.querySelector("#meeting-number").textContent = session.meeting_number;

const client = new RoomClient(sessionId, { token: token.get() });
const connection = document.querySelector("#connection");
const showError = (error) =>
  notify(has(`room.error.${error.code}`) ? t(`room.error.${error.code}`) : serverMessage(error));

client.addEventListener("connection", (event) => {
  connection.textContent = t(`connection.${event.detail.state}`);
  connection.className = `badge ${event.detail.state === "open" ? "online" : "disabled"}`;
});
// Customers the host muted unmute themselves only when the host allows it (the SDK's rule).
document.querySelector("#self-unmute").addEventListener("change", (event) => {
  client.send("room.set_self_unmute", { allowed: event.target.checked }).catch(showError);
});
client.addEventListener("room", () => {
  const room = client.room;
  renderStage(document.querySelector("#stage"), room, client.me);
  renderMembers(document.querySelector("#members"), room, client.me, client, showError);
  const ended = room.state === "ended";
  const selfUnmute = document.querySelector("#self-unmute");
  selfUnmute.checked = !!room.self_unmute;
  selfUnmute.disabled = ended;
  // Nothing more can be shown or sent once the session has ended; the hall says so and
  // leads to the session's record.
  for (const id of ["#end", "#invite", "#share-toggle", "#share-link", "#share-file", "#share-board", "#share-assessment"]) {
    document.querySelector(id).disabled = ended;
  }
  if (ended) connection.textContent = t("hall.ended");
  document.querySelector("#ended-notice").hidden = !ended;
});
document.querySelector("#record-link").href = `/records?view=${encodeURIComponent(sessionId)}`;
// The layout (after the stage's renderer): the shared page as the stage, the videos
// floating over it, the side panels as sheets on a phone.
mountHallLayout(document.querySelector("#hall"), client);
client.addEventListener("failure", (event) => showError(event.detail));
client.addEventListener("login_ended", (event) => {
  connection.textContent = t(`login_ended.${event.detail.reason}`);
  showLoginEnded(event.detail);
});
// The device check shows itself only when something is missing; a retry that finds the
// device brings it into the running session.
const devicePanel = document.querySelector("#device-check");
const deviceCheck = mountDeviceCheck(devicePanel, {
  onResult: (result) => {
    devicePanel.hidden = result.microphone === "ok" && result.camera === "ok";
    media.restart();
  },
});
// Its × puts it away (a phone needs the room); the session goes on with what was found.
const dismiss = Object.assign(document.createElement("button"), { type: "button", className: "link device-dismiss", textContent: "×" });
dismiss.setAttribute("aria-label", t("hall.close"));
dismiss.addEventListener("click", () => (devicePanel.hidden = true));
devicePanel.prepend(dismiss);
const media = new MediaSession(client, document.querySelector("#stage"), {
  onError: showError,
  devices: () => deviceCheck.result,
});
mountBeauty(document.querySelector("#beauty-control"), media);
const boardError = (error) => (has(`board.error.${error.code}`) ? notify(t(`board.error.${error.code}`)) : showError(error));
const board = mountBoard(document.querySelector("#board-panel"), client, {
  sessionId,
  credentials: { token: token.get() },
  staff: true,
  onError: boardError,
  // On a phone the pen tools open from their 画笔 button (manual §5.4): the page gets the room.
  collapsed: matchMedia("(max-width: 640px), (max-height: 500px) and (hover: none)").matches,
});
const openShare = boardShareDialog(document.querySelector("#board-share-dialog"), board, {
  listMaterials: async () => (await api("GET", "/api/materials?limit=200")).items,
  onError: boardError,
});
document.querySelector("#share-file").addEventListener("click", openShare);
document.querySelector("#share-board").addEventListener("click", () => board.share("blank").catch(boardError));
// SOP 实时辅助: script card, checklist and QA alerts for the salesperson only.
const sopPanel = mountSopPanel(document.querySelector("#sop-panel"), client, { onError: showError });
// 话术库: the company's scripts, browsed and searched beside the SOP card.
mountScriptLibrary(document.querySelector("#script-library"), { onError: showError });
client.connect();

// 邀请客户: a share card (Web Share where the phone offers it), the link to copy, SMS.
mountInvite(document.querySelector("#invite-dialog"), document.querySelector("#invite"), { sessionId, session, me });
document.querySelector("#end").addEventListener("click", async () => {
  if (!(await confirmDialog(t("hall.confirmEnd")))) return;
  await client.send("room.end").catch(showError);
});

// Co-browsing of product links and assessments (manual §5.3): pick one, confirm, push.
const cobrowse = attachCobrowseHost(client, document.querySelector("#cobrowse-panel"), notify);
const shareDialog = document.querySelector("#share-dialog");
shareDialog.addEventListener("click", (event) => {
  if (event.target.value === "cancel") shareDialog.close();
});
const pushLink = (assessment) => async (link) => {
  const key = assessment ? "hall.confirmAssessment" : "cobrowse.confirmPush";
  if (!(await confirmDialog(t(key, { name: link.name }), { title: t("hall.confirmTitle") }))) return;
  const errorBox = shareDialog.querySelector(".form-error");
  try {
    await cobrowse.push(link.id);
    sopPanel.showMaterial(link.id);
    shareDialog.close();
  } catch (error) {
    errorBox.textContent = has(`cobrowse.error.${error.code}`) ? t(`cobrowse.error.${error.code}`) : serverMessage(error);
    errorBox.hidden = false;
  }
};
for (const [id, assessment] of [["#share-link", false], ["#share-assessment", true]]) {
  document.querySelector(id).addEventListener("click", () =>
    cobrowse.choose(shareDialog, { assessment, onPick: pushLink(assessment) }).catch(showError),
  );
}
