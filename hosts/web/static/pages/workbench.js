import { api } from "../api.js";
import { t } from "../i18n.js";
import { attempt, startPage } from "../shell.js";

await startPage("/workbench");
const errorBox = document.querySelector("#start-error");
const dialog = document.querySelector("#unfinished-dialog");

async function start(startNew) {
  errorBox.hidden = true;
  const project = document.querySelector("#project").value.trim() || null;
  try {
    const session = await api("POST", "/api/sessions", { project, start_new: startNew, touch_points: navigator.maxTouchPoints || 0 });
    location.assign(`/sessions/${session.id}`);
  } catch (error) {
    if (error.code === "unfinished_session") {
      document.querySelector("#unfinished-text").textContent = t("workbench.unfinished", { number: error.extra.meeting_number });
      dialog.dataset.sessionId = error.extra.session_id;
      dialog.showModal();
      return;
    }
    await attempt(() => Promise.reject(error), errorBox);
  }
}

document.querySelector("#start").addEventListener("click", () => start(false));
document.querySelector("#start-new").addEventListener("click", () => {
  dialog.close();
  start(true);
});
document.querySelector("#rejoin").addEventListener("click", () => {
  location.assign(`/sessions/${dialog.dataset.sessionId}`);
});
