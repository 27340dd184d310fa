// The reservations screen (预订管理): the day's board or the bookings found by name or
// number, new bookings (from the board or a customer's card), moves to another room or
// table, notes, check-out, and the rooms and tables themselves. Every rule (capacity, no
// double booking, the texts to the customer) is the SDK's; this page only asks.
import { t } from "./messages.js";
import { dialButton } from "./kiosk-phone.js";

let desk = null; // the desk page's helpers, handed over by kiosk.js
const $ = (selector) => document.querySelector(selector);
const result = (text) => ($("#board-result").textContent = text);

// What the SDK did about the customer's text: sent (with the text) or held back (why).
function texted(data, sentKey, heldKey) {
  if (data.sms === null) return t("bookingSaved");
  return data.sms_blocked ? t(heldKey, { reason: desk.reasonOf(data.sms_blocked) }) : t(sentKey, data);
}

// The rooms and tables in use, for the selects and the management table.
async function fetchResources() {
  return (await desk.call("GET", "/api/desk/resources")).items;
}

function fillResources(select, items, chosen = null) {
  select.replaceChildren();
  for (const r of items) select.append(new Option(t("resourceOption", { name: r.name, capacity: r.capacity }), String(r.id)));
  if (chosen !== null) select.value = String(chosen);
}

// The board: one day, or, while something is typed in 查找预订, the bookings found (any
// day, any state) with their dates.
let boardSeq = 0;
export async function loadBoard() {
  const text = $("#board-search").value.trim();
  const day = $("#board-day").value;
  const query = text ? `?q=${encodeURIComponent(text)}` : day ? `?day=${day}` : "";
  const seq = ++boardSeq;
  const { items, day: shown } = await desk.call("GET", `/api/desk/reservations${query}`);
  if (seq !== boardSeq) return; // a newer search or day is on its way
  if (!text) $("#board-day").value = shown;
  $("#board-caption").textContent = text ? t("boardFound", { text, n: items.length }) : t("boardDay", { day: shown });
  const body = $("#board tbody");
  body.replaceChildren();
  if (!items.length) body.append(desk.emptyRow(7, t(text ? "noBookingsFound" : "noBoard")));
  for (const r of items) {
    const buttons = [];
    if (r.status === "booked") {
      buttons.push(
        desk.actionButton(t("settle"), () => openCheckout(r)),
        desk.actionButton(t("reschedule"), () => reschedule(r)),
        desk.actionButton(t("editBooking"), () => openEdit(r)),
        desk.actionButton(t("cancel"), () => cancel(r)),
        // Tell the customer, or ask whether the plan still holds (短信、电话告知).
        dialButton(r.phone),
        desk.actionButton(t("sms"), () => desk.smsTo(r.phone, r.customer || r.phone)),
      );
    } else {
      buttons.push(desk.actionButton(t("bookingNotes"), () => openEdit(r)));
    }
    const start = text ? desk.when(r.start) : desk.clock(r.start);
    const tr = desk.tableRow([start, r.resource, `${r.customer} ${r.phone}`, String(r.party_size), t(r.status === "cancelled" ? "status_cancelled" : r.status), r.notes || ""], buttons);
    tr.dataset.id = r.id;
    body.append(tr);
  }
}

function refresh() {
  loadBoard().catch((error) => desk.toast(desk.explain(error)));
}

async function cancel(r) {
  if (!confirm(t("confirmCancel", { customer: r.customer, time: desk.when(r.start), resource: r.resource }))) return;
  try {
    result(texted(await desk.call("POST", `/api/desk/reservations/${r.id}/cancel`), "cancelled", "cancelledHeld"));
    refresh();
  } catch (error) {
    desk.toast(desk.explain(error));
  }
}

// 改期: a new date and time (the shop's) and how long, picked in a dialog; what is
// missing or wrong is said there, in the desk's language, and the SDK's refusals too
// (a time in the past, a room taken then).
function reschedule(r) {
  const form = $("#reschedule-form");
  const p = desk.zoned(r.start);
  const day = `${p.y}-${p.m.padStart(2, "0")}-${p.d.padStart(2, "0")}`;
  form.dataset.id = r.id;
  form.dataset.was = `${day}T${p.hh}:${p.mm}`;
  form.dataset.hours = String((new Date(r.end) - new Date(r.start)) / 3600_000);
  $("#reschedule-title").textContent = t("rescheduleOf", { customer: r.customer, time: desk.when(r.start), resource: r.resource });
  $("#reschedule-result").textContent = "";
  form.elements.day.value = day;
  form.elements.time.value = `${p.hh}:${p.mm}`;
  form.elements.hours.value = form.dataset.hours;
  $("#reschedule-dialog").showModal();
  form.elements.day.focus();
}

async function saveReschedule(event) {
  event.preventDefault();
  const form = event.target;
  const f = form.elements;
  const say = (text, field = null) => {
    $("#reschedule-result").textContent = text;
    field?.focus();
  };
  // A date or time half typed reads as empty (the picker's value is only ever whole).
  if (!f.day.value) return say(t("needDate"), f.day);
  if (!f.time.value) return say(t("needClock"), f.time);
  const hours = Number(f.hours.value);
  if (!f.hours.value || !Number.isFinite(hours) || hours < 1 || hours > 8) return say(t("badHours"), f.hours);
  const begin = `${f.day.value}T${f.time.value.slice(0, 5)}`;
  if (begin === form.dataset.was && String(hours) === form.dataset.hours) return say(t("sameTime"), f.day);
  try {
    const data = await desk.call("PATCH", `/api/desk/reservations/${form.dataset.id}`, { start: begin, end: desk.laterLocal(begin, hours) });
    $("#reschedule-dialog").close();
    result(texted(data, "changedTo", "changedHeld"));
    refresh();
  } catch (error) {
    say(desk.explain(error));
  }
}

function openCheckout(r) {
  const form = $("#checkout-form");
  form.dataset.id = r.id;
  $("#checkout-title").textContent = t("checkoutOf", { customer: r.customer, resource: r.resource });
  form.hidden = false;
  form.elements.items.focus();
}

// 修改: another room or table (换房), the party size and the notes (备注) of one booking.
async function openEdit(r) {
  const dialog = $("#booking-dialog");
  const form = $("#booking-edit");
  form.dataset.id = r.id;
  form.dataset.resource = String(r.resource_id);
  form.dataset.party = String(r.party_size);
  form.dataset.notes = r.notes || "";
  const booked = r.status === "booked";
  $("#booking-edit-title").textContent = t("editBookingOf", { customer: r.customer, time: desk.when(r.start) });
  $("#booking-edit-result").textContent = "";
  form.elements.resource.disabled = !booked;
  form.elements.party.disabled = !booked;
  fillResources(form.elements.resource, await fetchResources(), r.resource_id);
  if (form.elements.resource.value !== String(r.resource_id)) form.elements.resource.append(new Option(r.resource, String(r.resource_id)));
  form.elements.resource.value = String(r.resource_id);
  form.elements.party.value = String(r.party_size);
  form.elements.notes.value = r.notes || "";
  dialog.showModal();
}

async function saveEdit(event) {
  event.preventDefault();
  const form = event.target;
  const f = form.elements;
  const id = form.dataset.id;
  const said = [];
  try {
    if (f.notes.value !== form.dataset.notes) {
      await desk.call("PUT", `/api/desk/reservations/${id}/notes`, { notes: f.notes.value });
      said.push(t("bookingSaved"));
    }
    if (!f.resource.disabled && (f.resource.value !== form.dataset.resource || f.party.value !== form.dataset.party)) {
      const data = await desk.call("PATCH", `/api/desk/reservations/${id}`, { resource_id: Number(f.resource.value), party_size: Number(f.party.value) });
      said.splice(0, said.length, texted(data, "movedTo", "changedHeld"));
    }
  } catch (error) {
    $("#booking-edit-result").textContent = desk.explain(error);
    refresh();
    return;
  }
  $("#booking-dialog").close();
  result(said.length ? said.join(" ") : t("nothingChanged"));
  refresh();
}

// 新建预订: the customer comes from the book (a match clicked) or is typed (a new number
// goes into the book), then the room or table, the time, the party and notes.
export async function openBooking(customer = null) {
  const form = $("#booking-form");
  form.reset();
  $("#booking-result").textContent = "";
  $("#booking-matches").replaceChildren();
  if (customer) {
    form.elements.phone.value = customer.phone;
    form.elements.name.value = customer.name || "";
  }
  fillResources(form.elements.resource, await fetchResources());
  if (!form.elements.resource.options.length) $("#booking-result").textContent = t("noResources");
  form.hidden = false;
  form.scrollIntoView({ block: "nearest" });
  (customer ? form.elements.start : form.elements.phone).focus();
}

let matchTimer = null;
let matchSeq = 0;
async function findCustomers(text) {
  const list = $("#booking-matches");
  const seq = ++matchSeq;
  list.replaceChildren();
  if (text.trim().length < 1) return;
  const { items } = await desk.call("GET", `/api/desk/customers?q=${encodeURIComponent(text.trim())}`);
  if (seq !== matchSeq) return;
  for (const c of items.slice(0, 8)) {
    const li = document.createElement("li");
    li.append(desk.actionButton(`${c.name || t("unknown")} · ${c.phone}`, () => {
      const f = $("#booking-form").elements;
      f.phone.value = c.phone;
      f.name.value = c.name || "";
      list.replaceChildren();
    }));
    list.append(li);
  }
}

async function saveBooking(event) {
  event.preventDefault();
  const f = event.target.elements;
  const start = f.start.value;
  try {
    const data = await desk.call("POST", "/api/desk/reservations", {
      resource_id: Number(f.resource.value),
      phone: f.phone.value.trim(),
      name: f.name.value.trim() || null,
      party_size: Number(f.party.value),
      start,
      end: desk.laterLocal(start, Number(f.hours.value)),
      notes: f.notes.value.trim() || null,
    });
    const text = data.sms_blocked ? t("confirmedHeld", { reason: desk.reasonOf(data.sms_blocked) }) : t("confirmed", data);
    event.target.hidden = true;
    result(text);
    $("#board-search").value = "";
    $("#board-day").value = start.slice(0, 10);
    refresh();
  } catch (error) {
    $("#booking-result").textContent = desk.explain(error);
  }
}

// 包间/桌位: the shop's rooms and tables with how many each seats.
async function loadResources() {
  const items = await fetchResources();
  const body = $("#resources tbody");
  body.replaceChildren();
  if (!items.length) body.append(desk.emptyRow(4, t("noResources")));
  for (const r of items) {
    const edit = desk.actionButton(t("edit"), () => {
      const form = $("#resource-form");
      form.dataset.id = r.id;
      form.elements.name.value = r.name;
      form.elements.kind.value = r.kind;
      form.elements.capacity.value = String(r.capacity);
      $("#resource-form-title").textContent = t("editResource", r);
    });
    const remove = desk.actionButton(t("delete"), async () => {
      if (!confirm(t("confirmRemoveResource", r))) return;
      try {
        await desk.call("DELETE", `/api/desk/resources/${r.id}`);
        $("#resource-result").textContent = t("resourceRemoved", r);
        loadResources();
      } catch (error) {
        $("#resource-result").textContent = desk.explain(error);
      }
    });
    body.append(desk.tableRow([r.name, t(`kind_${r.kind}`), String(r.capacity)], [edit, remove]));
  }
}

async function saveResource(event) {
  event.preventDefault();
  const form = event.target;
  const f = form.elements;
  const body = { name: f.name.value.trim(), kind: f.kind.value, capacity: Number(f.capacity.value) };
  try {
    const saved = form.dataset.id
      ? await desk.call("PATCH", `/api/desk/resources/${form.dataset.id}`, body)
      : await desk.call("POST", "/api/desk/resources", body);
    form.reset();
    $("#resource-result").textContent = t("resourceSaved", saved);
    loadResources();
  } catch (error) {
    $("#resource-result").textContent = desk.explain(error);
  }
}

export function installBoard(helpers) {
  desk = helpers;
  $('[data-tab="board"]').addEventListener("click", () => {
    refresh();
    loadResources().catch((error) => desk.toast(desk.explain(error)));
  });
  $("#board-day").addEventListener("change", () => {
    $("#board-search").value = "";
    refresh();
  });
  let searchTimer = null;
  $("#board-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(refresh, 250);
  });
  $("#board-new").addEventListener("click", () => openBooking().catch((error) => desk.toast(desk.explain(error))));
  $("#booking-form").addEventListener("submit", saveBooking);
  $("#booking-cancel").addEventListener("click", () => ($("#booking-form").hidden = true));
  for (const field of ["phone", "name"]) {
    $("#booking-form").elements[field].addEventListener("input", (event) => {
      clearTimeout(matchTimer);
      matchTimer = setTimeout(() => findCustomers(event.target.value).catch(() => {}), 250);
    });
  }
  $("#booking-edit").addEventListener("submit", saveEdit);
  $("#reschedule-form").addEventListener("submit", saveReschedule);
  $("#reschedule-cancel").addEventListener("click", () => $("#reschedule-dialog").close());
  $("#booking-edit-cancel").addEventListener("click", () => $("#booking-dialog").close());
  $("#resource-form").addEventListener("submit", saveResource);
  $("#resource-form").addEventListener("reset", (event) => {
    delete event.target.dataset.id;
    $("#resource-form-title").textContent = t("newResource");
  });
  // Check-out of a reservation (结账): the bill goes into the ledger with the member discount.
  $("#checkout-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      const entry = await desk.call("POST", `/api/desk/reservations/${form.dataset.id}/check-out`, {
        items: desk.billItems(form.elements.items.value),
        paid: form.elements.paid.value.trim(),
      });
      result(t("billResult", entry.settlement));
      form.reset();
      form.hidden = true;
      refresh();
    } catch (error) {
      result(desk.explain(error));
    }
  });
  $("#checkout-cancel").addEventListener("click", () => ($("#checkout-form").hidden = true));
}
