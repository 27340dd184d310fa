// Calls to the SDK's JSON API with the login token; errors become readable messages.
import { serverMessage, t } from "./i18n.js";

const TOKEN_KEY = "zhanye.token";
// Refusals whose catalogue text is only a frame: the server says what exactly was
// refused and what to do (“资源“X”只能由上传者或其上级管理员删除”), so that is shown.
const SERVER_WORDS = new Set(["permission_denied", "not_found", "rate_limited"]);

export class ApiError extends Error {
  // detail: the server's English message; detailZh: its Chinese one (message_zh), if any.
  constructor(status, code, detail, extra = {}, detailZh = null) {
    super(detail);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.detailZh = detailZh;
    this.extra = extra;
  }
  // The server's detail in the page's language: Chinese when the page speaks it and the
  // server sent it, else English.
  get localDetail() {
    return serverMessage(this);
  }
  // The message for people, in their language.
  get text() {
    if (this.code === "login_throttled") {
      return t("error.login_throttled", { minutes: Math.max(1, Math.ceil((this.extra.retry_after_s || 60) / 60)) });
    }
    if (SERVER_WORDS.has(this.code) && this.localDetail) return this.localDetail;
    return t(`error.${this.code}`, { detail: this.localDetail });
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const current = token.get();
  if (current) headers.Authorization = `Bearer ${current}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, "network", String(error));
  }
  const data = await response.json().catch(() => ({}));
  return answer(path, response, data);
}

// A request found the login gone. The account socket usually says why (kicked out,
// disabled…) a moment later and shows it: give it that moment before leaving with the
// generic reason, so a request racing the kick-out does not hide the real one.
let leaving = false;
function loginLost() {
  if (leaving) return;
  leaving = true;
  setTimeout(() => {
    if (document.querySelector("#login-ended")) return;
    location.assign(`/login?ended=revoked&next=${encodeURIComponent(location.pathname)}`);
  }, 1500);
}

// What api() makes of a response already read (`data`: its JSON body): the data, or the
// ApiError it stands for.
export function answer(path, response, data) {
  if (!response.ok) {
    const error = data.error || { code: "error", message: response.statusText };
    const { code, message, message_zh: messageZh, ...extra } = error;
    if (response.status === 401 && path !== "/api/login") {
      token.clear();
      loginLost();
    }
    throw new ApiError(response.status, code, message, extra, messageZh || null);
  }
  return data;
}

// A file behind the login (an image, a download) as a local object URL: the token goes
// in the Authorization header, never into a URL that logs and history keep.
export async function blobUrl(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token.get()}` } });
  if (!response.ok) throw new ApiError(response.status, "error", response.statusText);
  return URL.createObjectURL(await response.blob());
}
