// Calling out from the desk (点击拨号): a floating dial pad, 拨打 on a customer's card and
// on each call-log row. The desk phone dials (the SDK checks the number); the call shows
// here while it lasts and lands in the call log as 去电.
import { t } from "./messages.js";

let desk = null; // the desk page's helpers, handed over by kiosk.js
const $ = (selector) => document.querySelector(selector);
// ``failed``: why the last dial did not go through; it stays shown over the events of
// that attempt, which may arrive after the refusal.
const state = { call: null, failed: null };

function show(text) {
  $("#dialpad-state").textContent = text;
}

function openPad(number = "") {
  const pad = $("#dialpad");
  pad.hidden = false;
  $("#dialpad-toggle").setAttribute("aria-expanded", "true");
  if (number) $("#dialpad-number").value = number;
  $("#dialpad-number").focus();
}

// Dial a number on the desk phone (from the pad, a card or the call log).
export async function dial(number) {
  openPad(number);
  state.failed = null;
  show(t("dialling", { number }));
  try {
    const { number: dialled } = await desk.call("POST", "/api/desk/call/dial", { number });
    $("#dialpad-number").value = dialled;
  } catch (error) {
    state.failed = desk.explain(error);
    show(state.failed);
  }
}

// A 拨打 button for a number (call-log rows, cards).
export function dialButton(number) {
  return desk.actionButton(t("dial"), () => dial(number));
}

// The live stream: the desk phone is calling out, or that call ended.
export function callDialled(data) {
  state.call = data.call_id;
  const who = data.customer?.name ? `${data.customer.name} ${data.number}` : data.number;
  openPad();
  if (state.failed === null) show(t("callingOut", { who }));
}

export function callEnded(data) {
  if (data.call_id !== state.call) return;
  state.call = null;
  show(state.failed ?? t("callOutEnded", { n: data.duration_s }));
}

export function installPhone(helpers) {
  desk = helpers;
  $("#dialpad-toggle").addEventListener("click", () => {
    const pad = $("#dialpad");
    if (pad.hidden) openPad();
    else {
      pad.hidden = true;
      $("#dialpad-toggle").setAttribute("aria-expanded", "false");
    }
  });
  for (const key of $("#dialpad-keys").querySelectorAll("button")) {
    key.addEventListener("click", () => {
      $("#dialpad-number").value += key.textContent;
    });
  }
  $("#dialpad-back").addEventListener("click", () => {
    $("#dialpad-number").value = $("#dialpad-number").value.slice(0, -1);
  });
  $("#dialpad-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const number = $("#dialpad-number").value.trim();
    if (number) dial(number);
  });
  $("#dialpad-hangup").addEventListener("click", () => {
    desk.call("POST", "/api/desk/call/hangup").catch((error) => show(desk.explain(error)));
  });
  $("#card-dial").addEventListener("click", () => dial($("#card-phone").textContent));
}
