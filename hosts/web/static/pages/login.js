import { api, token } from "../api.js";
import { has, lang, setLang, t, translate } from "../i18n.js";
import { attempt } from "../shell.js";

translate();
document.querySelector("#switch-lang").addEventListener("click", () => {
  setLang(lang() === "zh-CN" ? "en" : "zh-CN");
  translate();
});

const form = document.querySelector("#login-form");
const errorBox = document.querySelector("#login-error");
// Sent here because the login ended (kicked out, disabled…): say why.
const ended = new URLSearchParams(location.search).get("ended");
if (ended && has(`login_ended.${ended}`)) {
  errorBox.textContent = t(`login_ended.${ended}`);
  errorBox.hidden = false;
}
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  const fields = new FormData(form);
  const result = await attempt(
    () => api("POST", "/api/login", { login: fields.get("login"), password: fields.get("password") }),
    errorBox,
  );
  if (!result) return;
  token.set(result.token);
  const me = await api("GET", "/api/me");
  const next = new URLSearchParams(location.search).get("next");
  const home = me.operations.includes("session.start") ? "/workbench" : "/admin/accounts";
  location.assign(next && next.startsWith("/") && !next.startsWith("//") ? next : home);
});
