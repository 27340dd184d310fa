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
  const opening = pad.hidden;
  pad.hidden = false;
  if (opening) restorePlace(); // its size is known once shown
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

// The pad floats where the desk put it: dragged by its title bar (mouse, pen or a finger
// on a touch screen) or moved with the arrow keys on its grip, and kept there for the
// next visit — always wholly on the screen, however the window has changed since.
const PLACE_KEY = "zhanye.dialpadPlace";

function place(left, top) {
  const pad = $("#dialpad");
  const width = pad.offsetWidth || 280;
  const height = pad.offsetHeight || 200;
  const x = Math.round(Math.min(Math.max(0, left), Math.max(0, innerWidth - width)));
  const y = Math.round(Math.min(Math.max(0, top), Math.max(0, innerHeight - height)));
  pad.style.left = `${x}px`;
  pad.style.top = `${y}px`;
  pad.style.right = "auto";
  return { left: x, top: y };
}

function remember(spot) {
  try {
    localStorage.setItem(PLACE_KEY, JSON.stringify(spot));
  } catch {
    // A browser that keeps nothing: the pad is still moved, just not remembered.
  }
}

function restorePlace() {
  let spot = null;
  try {
    spot = JSON.parse(localStorage.getItem(PLACE_KEY) || "null");
  } catch {
    spot = null;
  }
  if (spot && Number.isFinite(spot.left) && Number.isFinite(spot.top)) place(spot.left, spot.top);
}

function installDrag() {
  const pad = $("#dialpad");
  const handle = $("#dialpad-handle");
  let grab = null;
  handle.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    const box = pad.getBoundingClientRect();
    grab = { id: event.pointerId, dx: event.clientX - box.left, dy: event.clientY - box.top };
    handle.setPointerCapture(event.pointerId);
    pad.classList.add("dragging");
    event.preventDefault();
  });
  handle.addEventListener("pointermove", (event) => {
    if (grab && event.pointerId === grab.id) place(event.clientX - grab.dx, event.clientY - grab.dy);
  });
  const drop = (event) => {
    if (!grab || event.pointerId !== grab.id) return;
    grab = null;
    pad.classList.remove("dragging");
    const box = pad.getBoundingClientRect();
    remember(place(box.left, box.top));
  };
  handle.addEventListener("pointerup", drop);
  handle.addEventListener("pointercancel", drop);
  const grip = $("#dialpad-grip");
  grip.setAttribute("aria-label", t("moveDialpad"));
  grip.title = t("moveDialpad");
  grip.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? 50 : 10;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    const box = pad.getBoundingClientRect();
    remember(place(box.left + move[0], box.top + move[1]));
  });
  addEventListener("resize", () => {
    if (!pad.style.left) return;
    const box = pad.getBoundingClientRect();
    place(box.left, box.top);
  });
}

export function installPhone(helpers) {
  desk = helpers;
  installDrag();
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
