// The desk page: the incoming-call pop-up, quick actions, the customer book.
import { t, translate } from "./messages.js";

translate();
const popup = document.querySelector("#popup");
const state = { call: null, customer: null };

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error?.message || response.statusText);
  return data;
}

function toast(text) {
  const box = document.querySelector("#toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(box.timer);
  box.timer = setTimeout(() => (box.hidden = true), 5000);
}

function list(element, items, render) {
  element.replaceChildren();
  if (!items.length) {
    const li = document.createElement("li");
    li.textContent = t("none");
    element.append(li);
  }
  for (const item of items) {
    const li = document.createElement("li");
    li.textContent = render(item);
    element.append(li);
  }
}

function openPopup(data) {
  state.call = data.call_id;
  state.customer = data.customer;
  document.querySelector("#popup-title").textContent = `${t("incoming")} ${data.number || ""}`;
  const name = data.customer ? data.customer.name || t("unknown") : t("unknown");
  document.querySelector("#popup-who").textContent = data.known ? `${name} · ${t("known")}` : name;
  document.querySelector("#popup-state").textContent = "";
  list(document.querySelector("#popup-calls"), data.recent_calls, (c) => `${c.started_at.slice(0, 16).replace("T", " ")} ${c.outcome}`);
  list(document.querySelector("#popup-upcoming"), data.upcoming, (r) => `${r.start.slice(0, 16).replace("T", " ")} · ${r.party_size}`);
  document.querySelector("#reserve-form").hidden = true;
  document.querySelector("#reserve").disabled = !data.customer;
  if (!popup.open) popup.showModal();
}

function connect() {
  const socket = new WebSocket(`ws://${location.host}/ws/desk`);
  socket.addEventListener("open", () => (document.querySelector("#status").textContent = "●"));
  socket.addEventListener("message", (event) => {
    const { type, data } = JSON.parse(event.data);
    if (type === "PopUpOpened") openPopup(data);
    else if (type === "PopUpUpdated" && data.call_id === state.call) document.querySelector("#popup-state").textContent = t("answer");
    else if (type === "PopUpClosed" && data.call_id === state.call) {
      document.querySelector("#popup-state").textContent = t(data.missed ? "missed" : "ended");
      if (document.querySelector("#reserve-form").hidden) setTimeout(() => popup.close(), 1500);
    } else if (type === "AutoSmsSent" && data.sent) toast(t("autoSms", { number: data.number }));
  });
  socket.addEventListener("close", () => {
    document.querySelector("#status").textContent = "○";
    setTimeout(connect, 1000);
  });
}

document.querySelector("#answer").addEventListener("click", () => call("POST", "/api/desk/call/answer").catch((e) => toast(t("error", { detail: e.message }))));
document.querySelector("#hangup").addEventListener("click", () => call("POST", "/api/desk/call/hangup").catch((e) => toast(t("error", { detail: e.message }))));
document.querySelector("#close").addEventListener("click", () => popup.close());
document.querySelector("#reserve").addEventListener("click", async () => {
  const form = document.querySelector("#reserve-form");
  const select = form.elements.resource;
  select.replaceChildren();
  for (const r of (await call("GET", "/api/desk/resources")).items) select.append(new Option(`${r.name}（${r.capacity}）`, String(r.id)));
  form.hidden = false;
});
document.querySelector("#reserve-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target.elements;
  const start = new Date(f.start.value);
  const end = new Date(start.getTime() + Number(f.hours.value) * 3600_000);
  try {
    const result = await call("POST", "/api/desk/reservations", {
      resource_id: Number(f.resource.value),
      customer_id: state.customer.id,
      party_size: Number(f.party.value),
      start: start.toISOString(),
      end: end.toISOString(),
    });
    document.querySelector("#reserve-result").textContent = t("confirmed", { sms: result.sms });
  } catch (error) {
    document.querySelector("#reserve-result").textContent = t("error", { detail: error.message });
  }
});

let searchTimer = null;
document.querySelector("#search").addEventListener("input", (event) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    const { items } = await call("GET", `/api/desk/customers?q=${encodeURIComponent(event.target.value)}`);
    const results = document.querySelector("#results");
    results.replaceChildren();
    for (const c of items) {
      const li = document.createElement("li");
      li.textContent = `${c.name || t("unknown")} · ${c.phone}`;
      li.addEventListener("click", () => editCard(c));
      results.append(li);
    }
  }, 200);
});

function editCard(customer) {
  const form = document.querySelector("#card-form");
  form.hidden = false;
  form.dataset.id = customer.id;
  document.querySelector("#card-phone").textContent = customer.phone;
  form.elements.name.value = customer.name || "";
  form.elements.birthday.value = customer.birthday || "";
  form.elements.notes.value = customer.notes || "";
}

document.querySelector("#card-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target.elements;
  try {
    await call("PATCH", `/api/desk/customers/${event.target.dataset.id}`, {
      name: f.name.value, birthday: f.birthday.value || null, notes: f.notes.value,
    });
    toast(t("saved"));
  } catch (error) {
    toast(t("error", { detail: error.message }));
  }
});

connect();
