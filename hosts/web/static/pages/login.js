import { api, token } from "../api.js";
import { has, lang, setLang, t, translate } from "../i18n.js";
import { attempt } from "../shell.js";

translate();
document.querySelector("#switch-lang").addEventListener("click", () => {
  setLang(lang() === "zh-CN" ? "en" : "zh-CN");
  location.reload();
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
  location.assign(sameOriginPath(next) || home);
});

// ``next`` only as a path on this site. The browser's own URL parser decides, since it is
// the one that will follow it: "/\\evil", "/\t/evil", "//evil" and "https:evil" all leave.
function sameOriginPath(next) {
  if (!next || !next.startsWith("/")) return null;
  let target;
  try {
    target = new URL(next, location.origin);
  } catch {
    return null;
  }
  // The whole URL, not its path: "/.//evil" parses to the path "//evil" on this origin.
  return target.origin === location.origin ? target.href : null;
}
