// 邀请客户 (manual §4.3, §5.2): an invitation card — the title, the salesperson, the meeting
// number and the short link — shared through the phone's own share sheet (Web Share API)
// where the browser offers it, else copied; and SMS to one or more numbers.
import { api } from "./api.js";
import { t } from "./i18n.js";
import { attempt, notify } from "./shell.js";

export function mountInvite(dialog, button, { sessionId, session, me }) {
  const part = (name) => dialog.querySelector(`[data-invite="${name}"]`);
  const shareButton = dialog.querySelector("#share-invite");
  const card = { title: "", text: "", url: "" };
  shareButton.hidden = typeof navigator.share !== "function";

  button.addEventListener("click", async () => {
    const link = await attempt(() => api("POST", `/api/sessions/${sessionId}/invite-link`));
    if (!link) return;
    card.url = `${location.origin}${link.short_path || link.path}`;
    card.title = session.title || t("hall.card.title");
    card.text = t("hall.card.text", { host: me.name, meeting: session.meeting_number });
    part("title").textContent = card.title;
    part("host").textContent = me.name;
    part("meeting").textContent = session.meeting_number;
    part("short").textContent = card.url;
    part("short").href = card.url;
    dialog.querySelector("#invite-link").value = `${location.origin}${link.path}`;
    dialog.querySelector("#sms-result").textContent = "";
    dialog.showModal();
  });

  shareButton.addEventListener("click", async () => {
    try {
      await navigator.share({ title: card.title, text: card.text, url: card.url });
    } catch (error) {
      if (error.name !== "AbortError") notify(t("hall.shareFailed"));
    }
  });

  dialog.querySelector("#copy-link").addEventListener("click", async () => {
    const text = `${card.text} ${card.url}`;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard permission (an older WebView): copy through a selected field.
      const field = document.createElement("textarea");
      field.value = text;
      dialog.append(field);
      field.select();
      document.execCommand("copy");
      field.remove();
    }
    notify(t("hall.copied"), "info");
  });

  dialog.querySelector("#sms-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const numbers = dialog.querySelector("#sms-numbers").value.split(/[\s,，;；]+/).filter(Boolean);
    const result = await attempt(
      () => api("POST", `/api/sessions/${sessionId}/sms-invites`, { numbers }),
      form.querySelector(".form-error"),
    );
    if (!result) return;
    form.querySelector(".form-error").hidden = true;
    dialog.querySelector("#sms-result").textContent = t("hall.smsSent", { n: result.sent.length });
  });
  dialog.addEventListener("click", (event) => {
    if (event.target.value === "cancel") dialog.close();
  });
}
