// The staff pages' frame: header, side navigation by the manual's names, messages, dialogs.
import { watchAccount } from "./account-events.js";
import { api, token } from "./api.js";
import { has, lang, serverMessage, setLang, t, translate } from "./i18n.js";

const NAV = [
  { key: "nav.workbench", href: "/workbench", needs: "session.start" },
  { key: "nav.records", href: "/records", needs: "session.start" },
  { key: "nav.resources", href: "/admin/materials", needs: "material.use" },
  { key: "nav.sop", href: "/admin/sop", needs: "sop.manage" },
  { key: "nav.accounts", href: "/admin/accounts", needs: "account.list" },
  { key: "nav.organizations", href: "/admin/organizations", needs: "org.view" },
];

export async function startPage(active) {
  if (!token.get()) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    return new Promise(() => {});
  }
  const me = await api("GET", "/api/me");
  const header = document.createElement("header");
  header.className = "topbar";
  header.innerHTML = `
    <strong data-i18n="app.title"></strong>
    <span class="spacer"></span>
    <span class="who"></span>
    <button type="button" class="link" id="switch-lang" data-i18n="app.language"></button>
    <button type="button" class="link" id="logout" data-i18n="nav.logout"></button>`;
  header.querySelector(".who").textContent = `${me.name}（${t(`role.${me.role}`)}）`;
  const nav = document.createElement("nav");
  nav.className = "sidebar";
  nav.innerHTML = `<div class="nav-group" data-i18n="nav.settings"></div>`;
  for (const item of NAV) {
    if (!me.operations.includes(item.needs)) continue;
    const link = document.createElement("a");
    link.href = item.href;
    link.dataset.i18n = item.key;
    if (item.href === active) link.setAttribute("aria-current", "page");
    nav.append(link);
  }
  document.body.prepend(header, nav);
  header.querySelector("#switch-lang").addEventListener("click", () => {
    setLang(lang() === "zh-CN" ? "en" : "zh-CN");
    location.reload();
  });
  const account = watchAccount(token.get(), showLoginEnded);
  header.querySelector("#logout").addEventListener("click", async () => {
    account.stop();
    await api("POST", "/api/logout").catch(() => {});
    token.clear();
    location.assign("/login");
  });
  translate();
  return me;
}

// The login of this page has ended (kicked out, disabled, logged out elsewhere…): say why
// at once, over everything, and offer to log in again. Safe to call more than once.
export function showLoginEnded(info) {
  if (document.querySelector("#login-ended")) return;
  token.clear();
  const reason = info?.reason || "revoked";
  const dialog = document.createElement("dialog");
  dialog.id = "login-ended";
  dialog.className = "confirm";
  dialog.setAttribute("role", "alertdialog");
  dialog.innerHTML = `<p class="login-ended-text"></p><menu>
    <button type="button" class="primary" data-i18n="login_ended.relogin"></button></menu>`;
  dialog.querySelector("p").textContent = has(`login_ended.${reason}`) ? t(`login_ended.${reason}`) : serverMessage(info || {});
  translate(dialog);
  dialog.addEventListener("cancel", (event) => event.preventDefault());
  dialog.querySelector("button").addEventListener("click", () => {
    location.assign(`/login?ended=${encodeURIComponent(reason)}&next=${encodeURIComponent(location.pathname)}`);
  });
  document.body.append(dialog);
  dialog.showModal();
}

export function notify(text, kind = "error") {
  let box = document.querySelector("#notice");
  if (!box) {
    box = document.createElement("div");
    box.id = "notice";
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    document.body.append(box);
  }
  box.className = `notice ${kind}`;
  box.textContent = text;
  clearTimeout(box._timer);
  box._timer = setTimeout(() => box.classList.add("hidden"), 6000);
}

export function confirmDialog(text) {
  const dialog = document.createElement("dialog");
  dialog.className = "confirm";
  dialog.innerHTML = `<p></p><menu>
    <button type="button" value="cancel" data-i18n="common.cancel"></button>
    <button type="button" value="ok" class="primary" data-i18n="common.confirm"></button></menu>`;
  dialog.querySelector("p").textContent = text;
  translate(dialog);
  document.body.append(dialog);
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("click", (event) => {
      const value = event.target.value;
      if (value !== "ok" && value !== "cancel") return;
      dialog.close();
      dialog.remove();
      resolve(value === "ok");
    });
  });
}

// Runs `action`; on failure shows the error in the user's language and keeps the form as typed.
export async function attempt(action, errorBox) {
  try {
    return await action();
  } catch (error) {
    const text = error.text || String(error);
    if (errorBox) {
      errorBox.textContent = text;
      errorBox.hidden = false;
    } else {
      notify(text);
    }
    return undefined;
  }
}

export function cell(text) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  return td;
}
