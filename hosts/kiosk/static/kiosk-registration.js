// 注册: the SIM in the desk phone (ICCID, IMSI), whether the management platform has it
// registered, the SMS signature and what is left of today's quota, and a 注册 button.
// Until the SIM is registered every SMS feature is locked; the reason is shown here.
import { lang, t } from "./messages.js";

let desk = null; // the desk page's helpers, handed over by kiosk.js
const $ = (selector) => document.querySelector(selector);

function show(status) {
  const dash = t("unknownValue");
  const state = !status.verified ? t("regPending") : status.active ? t("regActive") : t("regInactive");
  const values = {
    "#reg-iccid": status.iccid || dash,
    "#reg-imsi": status.imsi || dash,
    "#reg-state": state,
    "#reg-signature": status.signature ? `【${status.signature}】` : dash,
    "#reg-quota": status.quota_left === null ? dash : t("quotaLeft", { left: status.quota_left, total: status.quota_per_day }),
  };
  for (const [selector, text] of Object.entries(values)) $(selector).textContent = text;
  $("#reg-panel").dataset.active = String(status.active);
  const reason = lang === "zh-CN" && status.locked_zh ? status.locked_zh : status.locked;
  $("#reg-locked").textContent = status.locked ? t("smsLocked", { reason }) : t("smsUnlocked");
}

export async function loadRegistration() {
  show(await desk.call("GET", "/api/desk/registration"));
}

async function register() {
  const button = $("#reg-register");
  button.disabled = true;
  $("#reg-result").textContent = t("registering");
  try {
    const status = await desk.call("POST", "/api/desk/registration");
    show(status);
    $("#reg-result").textContent = status.active ? t("registered") : t("notRegistered");
  } catch (error) {
    $("#reg-result").textContent = desk.explain(error);
  } finally {
    button.disabled = false;
  }
}

export function installRegistration(helpers) {
  desk = helpers;
  $('[data-tab="registration"]').addEventListener("click", () => {
    $("#reg-result").textContent = "";
    loadRegistration().catch((error) => desk.toast(desk.explain(error)));
  });
  $("#reg-register").addEventListener("click", register);
}
