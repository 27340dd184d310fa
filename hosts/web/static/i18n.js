// Translation: t(key, params), the current language, and translating marked elements.
// The Chinese catalogue comes with every page; the English one only to a page that speaks
// English (a customer's phone on a slow line loads half the text).
import { ZH } from "./messages.js";

const STORAGE_KEY = "zhanye.lang";
export const DEFAULT_LANG = "zh-CN";
const LANGUAGES = ["zh-CN", "en"];
const MESSAGES = { "zh-CN": ZH };

// Read once per page (a page asks for it at every t(): on a slow phone the URL and
// storage look-ups added up); setLang changes it.
let current = null;

export function lang() {
  if (current) return current;
  const fromUrl = new URLSearchParams(location.search).get("lang");
  if (fromUrl && LANGUAGES.includes(fromUrl)) {
    localStorage.setItem(STORAGE_KEY, fromUrl);
    current = fromUrl;
  } else {
    const saved = localStorage.getItem(STORAGE_KEY);
    current = saved && LANGUAGES.includes(saved) ? saved : DEFAULT_LANG;
  }
  return current;
}

// Chooses the language; the page reloads to speak it (its catalogue is loaded as it starts).
export function setLang(value) {
  localStorage.setItem(STORAGE_KEY, value);
  current = LANGUAGES.includes(value) ? value : DEFAULT_LANG;
}

if (lang() === "en") MESSAGES.en = (await import("./messages-en.js")).EN;

export function t(key, params = {}) {
  const table = MESSAGES[lang()] || MESSAGES[DEFAULT_LANG];
  const text = table[key] ?? MESSAGES[DEFAULT_LANG][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

// Elements carry data-i18n (text), data-i18n-placeholder, data-i18n-title, data-i18n-label.
export function translate(root = document) {
  document.documentElement.lang = lang();
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}

// A server error's own text in the page's language: its Chinese message (message_zh, or
// an ApiError's detailZh) when the page speaks Chinese and the server sent one, else English.
export function serverMessage(error) {
  const zh = error.detailZh || error.message_zh || error.data?.message_zh;
  return lang().startsWith("zh") && zh ? zh : error.detail || error.message;
}

export function has(key) {
  return key in (MESSAGES[lang()] || {}) || key in MESSAGES[DEFAULT_LANG];
}
