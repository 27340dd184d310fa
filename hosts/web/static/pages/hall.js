import { api, token } from "../api.js";
import { has, serverMessage, t } from "../i18n.js";
import { attachCobrowseHost } from "../cobrowse-host.js";
import { mountDeviceCheck } from "../device-check.js";
import { MediaSession } from "../media-session.js";
import { RoomClient } from "../room-client.js";
import { renderMembers, renderStage } from "../room-view.js";
import { attempt, confirmDialog, notify, showLoginEnded, startPage } from "../shell.js";
import { mountBoard, shareDialog as boardShareDialog } from "../whiteboard.js";
import { mountSopPanel } from "../sop-panel.js";

await startPage("/workbench");
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
  // Nothing more can be shown or sent once the session has ended.
  for (const id of ["#end", "#invite", "#share-link", "#share-file"]) document.querySelector(id).disabled = ended;
  if (ended) connection.textContent = t("hall.ended");
});
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
const media = new MediaSession(client, document.querySelector("#stage"), {
  onError: showError,
  devices: () => deviceCheck.result,
});
const boardError = (error) => (has(`board.error.${error.code}`) ? notify(t(`board.error.${error.code}`)) : showError(error));
const board = mountBoard(document.querySelector("#board-panel"), client, {
  sessionId,
  credentials: { token: token.get() },
  staff: true,
  onError: boardError,
});
const openShare = boardShareDialog(document.querySelector("#board-share-dialog"), board, {
  listMaterials: async () => (await api("GET", "/api/materials?limit=200")).items,
  onError: boardError,
});
document.querySelector("#share-file").addEventListener("click", openShare);
// SOP 实时辅助: script card, checklist and QA alerts for the salesperson only.
const sopPanel = mountSopPanel(document.querySelector("#sop-panel"), client, { onError: showError });
client.connect();

const inviteDialog = document.querySelector("#invite-dialog");
document.querySelector("#invite").addEventListener("click", async () => {
  const link = await attempt(() => api("POST", `/api/sessions/${sessionId}/invite-link`));
  if (!link) return;
  document.querySelector("#invite-link").value = `${location.origin}${link.path}`;
  document.querySelector("#sms-result").textContent = "";
  inviteDialog.showModal();
});
document.querySelector("#copy-link").addEventListener("click", async () => {
  const input = document.querySelector("#invite-link");
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    document.execCommand("copy");
  }
  notify(t("hall.copied"), "info");
});
document.querySelector("#sms-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const numbers = document.querySelector("#sms-numbers").value.split(/[\s,，;；]+/).filter(Boolean);
  const result = await attempt(
    () => api("POST", `/api/sessions/${sessionId}/sms-invites`, { numbers }),
    form.querySelector(".form-error"),
  );
  if (!result) return;
  form.querySelector(".form-error").hidden = true;
  document.querySelector("#sms-result").textContent = t("hall.smsSent", { n: result.sent.length });
});
inviteDialog.addEventListener("click", (event) => {
  if (event.target.value === "cancel") inviteDialog.close();
});
document.querySelector("#end").addEventListener("click", async () => {
  if (!(await confirmDialog(t("hall.confirmEnd")))) return;
  await client.send("room.end").catch(showError);
});

// Co-browsing of product links (manual §5.3).
const cobrowse = attachCobrowseHost(client, document.querySelector("#cobrowse-panel"), notify);
const shareDialog = document.querySelector("#share-dialog");
document.querySelector("#share-link").addEventListener("click", () => cobrowse.choose(shareDialog));
shareDialog.addEventListener("click", (event) => {
  if (event.target.value === "cancel") shareDialog.close();
});
document.querySelector("#share-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const chosen = event.target.querySelector("input[name=material]:checked");
  if (!chosen) return;
  if (!(await confirmDialog(t("cobrowse.confirmPush", { name: chosen.dataset.name })))) return;
  const errorBox = event.target.querySelector(".form-error");
  try {
    await cobrowse.push(chosen.value);
    sopPanel.showMaterial(chosen.value);
    shareDialog.close();
  } catch (error) {
    errorBox.textContent = has(`cobrowse.error.${error.code}`) ? t(`cobrowse.error.${error.code}`) : serverMessage(error);
    errorBox.hidden = false;
  }
});
