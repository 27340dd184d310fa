// The staff pages' frame: header, side navigation by the manual's names, messages, dialogs.
import { watchAccount } from "./account-events.js";
import { api, token } from "./api.js";
import { has, lang, serverMessage, setLang, t, translate } from "./i18n.js";
import { notify } from "./notice.js";

// The SDK's staff areas (GET /api/me → areas: the ones the role may use) as pages,
// grouped under their headings: selling first, settings last.
const NAV = [
  {
    heading: "nav.group.work",
    items: [
      { area: "workbench", key: "nav.workbench", href: "/workbench" },
      { area: "records", key: "nav.records", href: "/records" },
      { area: "materials", key: "nav.resources", href: "/admin/materials" },
      { area: "sop", key: "nav.sop", href: "/admin/sop" },
      { area: "stats", key: "nav.stats", href: "/stats" },
    ],
  },
  {
    heading: "nav.settings",
    items: [
      { area: "accounts", key: "nav.accounts", href: "/admin/accounts" },
      { area: "organizations", key: "nav.organizations", href: "/admin/organizations" },
    ],
  },
];
const PAGES = NAV.flatMap((group) => group.items);

// 无权访问: the page's own content is replaced by what happened and a way back.
function showNoAccess(me, page) {
  const main = document.querySelector("main") || document.body.appendChild(document.createElement("main"));
  const home = PAGES.find((item) => me.areas.includes(item.area));
  const panel = document.createElement("section");
  panel.className = "panel no-access";
  panel.setAttribute("role", "alert");
  panel.innerHTML = `<h1></h1><p></p><p class="row"></p>`;
  panel.querySelector("h1").textContent = t("noAccess.title");
  panel.querySelector("p").textContent = t("noAccess.text", { role: t(`role.${me.role}`), page: t(page.key) });
  const back = document.createElement("a");
  back.className = "button primary";
  if (home) {
    back.href = home.href;
    back.textContent = t("noAccess.back", { page: t(home.key) });
  } else {
    back.href = "/login";
    back.textContent = t("noAccess.logout");
    back.addEventListener("click", () => token.clear());
  }
  panel.querySelector(".row").append(back);
  main.replaceChildren(panel);
  for (const dialog of document.querySelectorAll("dialog")) dialog.remove();
}

// Pages that need nothing else of the shell import it from notice.js.
export { notify };

export async function startPage(active) {
  if (!token.get()) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    return new Promise(() => {});
  }
  const me = await api("GET", "/api/me");
  const header = document.createElement("header");
  header.className = "topbar";
  header.innerHTML = `
    <button type="button" class="nav-toggle" id="nav-toggle" aria-controls="sidebar" aria-expanded="false" data-i18n-label="nav.menu">☰</button>
    <strong data-i18n="app.title"></strong>
    <span class="spacer"></span>
    <span class="who"></span>
    <button type="button" class="link" id="switch-lang" data-i18n="app.language"></button>
    <button type="button" class="link" id="logout" data-i18n="nav.logout"></button>`;
  header.querySelector(".who").textContent = `${me.name}（${t(`role.${me.role}`)}）`;
  const nav = document.createElement("nav");
  nav.className = "sidebar";
  nav.id = "sidebar";
  for (const group of NAV) {
    const items = group.items.filter((item) => me.areas.includes(item.area));
    if (!items.length) continue;
    const heading = document.createElement("div");
    heading.className = "nav-group";
    heading.dataset.i18n = group.heading;
    nav.append(heading);
    for (const item of items) {
      const link = document.createElement("a");
      link.href = item.href;
      link.dataset.i18n = item.key;
      if (item.href === active) link.setAttribute("aria-current", "page");
      nav.append(link);
    }
  }
  document.body.prepend(header, nav);
  mountDrawer(header.querySelector("#nav-toggle"), nav);
  addManifest();
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
  const page = PAGES.find((item) => item.href === active);
  if (page && !me.areas.includes(page.area)) {
    showNoAccess(me, page);
    translate();
    // The page's own script stops here: it would only ask for what is refused.
    return new Promise(() => {});
  }
  translate();
  return me;
}

// Below 640 px the side navigation is a drawer under the top bar (admin.css), opened by
// the ☰ button and closed by choosing a page, tapping outside it or Escape.
function mountDrawer(toggle, nav) {
  const set = (open) => {
    document.body.classList.toggle("nav-open", open);
    toggle.setAttribute("aria-expanded", String(open));
  };
  toggle.addEventListener("click", (event) => {
    event.stopPropagation();
    set(!document.body.classList.contains("nav-open"));
  });
  document.addEventListener("click", (event) => {
    if (document.body.classList.contains("nav-open") && !nav.contains(event.target)) set(false);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") set(false);
  });
}

// Staff pages can be added to a phone's home screen and open full screen (#19.5).
export function addManifest() {
  if (document.querySelector('link[rel="manifest"]')) return;
  const head = document.head;
  const link = (rel, href) => Object.assign(document.createElement("link"), { rel, href });
  const colour = Object.assign(document.createElement("meta"), { name: "theme-color", content: "#1f6feb" });
  head.append(link("manifest", "/static/manifest.webmanifest"), link("apple-touch-icon", "/static/icons/icon-192.png"), colour);
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

// A question with 取消 / 确定; `title` heads it (温馨提示) when given.
export function confirmDialog(text, { title = "" } = {}) {
  const dialog = document.createElement("dialog");
  dialog.className = "confirm";
  dialog.innerHTML = `<h2 hidden></h2><p></p><menu>
    <button type="button" value="cancel" data-i18n="common.cancel"></button>
    <button type="button" value="ok" class="primary" data-i18n="common.confirm"></button></menu>`;
  dialog.querySelector("p").textContent = text;
  dialog.querySelector("h2").textContent = title;
  dialog.querySelector("h2").hidden = !title;
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
