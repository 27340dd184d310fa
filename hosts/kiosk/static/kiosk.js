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

// Tabs: the customer book, bulk SMS, the ledger.
for (const tab of document.querySelectorAll("[data-tab]")) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll("[data-tab]")) other.setAttribute("aria-selected", String(other === tab));
    for (const panel of document.querySelectorAll("[data-panel]")) panel.hidden = panel.dataset.panel !== tab.dataset.tab;
    if (tab.dataset.tab === "ledger") loadReport();
  });
}

function bulkForm() {
  return {
    template: document.querySelector("#sms-template").value,
    numbers: document.querySelector("#sms-numbers").value.split(/\s+/).filter(Boolean),
    groups: document.querySelector("#sms-groups").value.split(/[,，]/).map((g) => g.trim()).filter(Boolean),
  };
}

document.querySelector("#sms-preview").addEventListener("click", async () => {
  try {
    const result = await call("POST", "/api/desk/sms/preview", bulkForm());
    document.querySelector("#sms-summary").textContent = t("smsSummary", result);
    list(document.querySelector("#sms-list"), result.items.slice(0, 20), (p) => `${p.number}：${p.text}（${p.characters}字 / ${p.parts}条）`);
  } catch (error) {
    toast(t("error", { detail: error.message }));
  }
});

document.querySelector("#sms-send").addEventListener("click", async () => {
  try {
    const report = await call("POST", "/api/desk/sms/send", bulkForm());
    const optedOut = report.skipped.filter(([, why]) => why === "opted_out").length;
    document.querySelector("#sms-summary").textContent = t("smsReport", {
      sent: report.sent.length, failed: report.failed.length, skipped: report.skipped.length, optedOut,
    });
    const bar = document.querySelector("#sms-progress");
    bar.hidden = false;
    bar.max = Math.max(1, report.sent.length);
    const poll = async () => {
      const { pending } = await call("GET", "/api/desk/sms/outbox");
      bar.value = bar.max - Math.min(bar.max, pending);
      if (pending > 0) {
        document.querySelector("#sms-list").replaceChildren();
        setTimeout(poll, 1000);
      }
    };
    poll();
  } catch (error) {
    toast(t("error", { detail: error.message }));
  }
});

document.querySelector("#bill-save").addEventListener("click", async () => {
  const items = document.querySelector("#bill-items").value.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const parts = line.split(/\s+/);
    return [parts.slice(0, -2).join(" "), Number(parts.at(-2)), parts.at(-1)];
  });
  try {
    const entry = await call("POST", "/api/desk/ledger", { items, paid: document.querySelector("#bill-paid").value.trim() });
    document.querySelector("#bill-result").textContent = t("billResult", entry.settlement);
    loadReport();
  } catch (error) {
    document.querySelector("#bill-result").textContent = t("error", { detail: error.message });
  }
});

async function loadReport() {
  const { rows } = await call("GET", `/api/desk/ledger/report?kind=${document.querySelector("#report-kind").value}`);
  const body = document.querySelector("#report-table tbody");
  body.replaceChildren();
  for (const row of rows) {
    const tr = document.createElement("tr");
    for (const value of [row.period, row.bills, row.amount, row.payable]) {
      const td = document.createElement("td");
      td.textContent = String(value);
      tr.append(td);
    }
    body.append(tr);
  }
  // A bar per period, scaled to the largest total.
  const svg = document.querySelector("#report-chart");
  svg.replaceChildren();
  const max = Math.max(1, ...rows.map((r) => Number(r.payable)));
  const width = 100 / Math.max(1, rows.length);
  rows.forEach((row, i) => {
    const height = (Number(row.payable) / max) * 150;
    const bar = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    bar.setAttribute("x", `${i * width + width * 0.1}%`);
    bar.setAttribute("width", `${width * 0.8}%`);
    bar.setAttribute("y", String(160 - height));
    bar.setAttribute("height", String(height));
    bar.setAttribute("fill", "#c2410c");
    const label = document.createElementNS("http://www.w3.org/2000/svg", "title");
    label.textContent = `${row.period}: ${row.payable}`;
    bar.append(label);
    svg.append(bar);
  });
}
document.querySelector("#report-kind").addEventListener("change", loadReport);

// The reservations board: one day, with reschedule and cancel (each texts the customer).
async function loadBoard() {
  const day = document.querySelector("#board-day").value;
  const { items, day: shown } = await call("GET", `/api/desk/reservations${day ? `?day=${day}` : ""}`);
  document.querySelector("#board-day").value = shown;
  const body = document.querySelector("#board tbody");
  body.replaceChildren();
  for (const r of items) {
    const tr = document.createElement("tr");
    tr.dataset.id = r.id;
    const start = new Date(r.start);
    for (const value of [start.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }), r.resource, r.customer, r.party_size, t(r.status)]) {
      const td = document.createElement("td");
      td.textContent = String(value);
      tr.append(td);
    }
    const actions = document.createElement("td");
    if (r.status === "booked") {
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.textContent = t("cancel");
      cancel.addEventListener("click", async () => {
        try {
          const result = await call("POST", `/api/desk/reservations/${r.id}/cancel`);
          document.querySelector("#board-result").textContent = t("cancelled", result);
          loadBoard();
        } catch (error) {
          toast(t("error", { detail: error.message }));
        }
      });
      const move = document.createElement("button");
      move.type = "button";
      move.textContent = t("reschedule");
      move.addEventListener("click", async () => {
        const text = prompt(t("newTime"));
        if (!text) return;
        const begin = new Date(text.replace(" ", "T"));
        const hours = (new Date(r.end) - new Date(r.start)) / 3600_000;
        try {
          const result = await call("PATCH", `/api/desk/reservations/${r.id}`, {
            start: begin.toISOString(),
            end: new Date(begin.getTime() + hours * 3600_000).toISOString(),
          });
          document.querySelector("#board-result").textContent = t("changedTo", result);
          loadBoard();
        } catch (error) {
          toast(t("error", { detail: error.message }));
        }
      });
      actions.append(move, cancel);
    }
    tr.append(actions);
    body.append(tr);
  }
}
document.querySelector("#board-day").addEventListener("change", loadBoard);
document.querySelector('[data-tab="board"]').addEventListener("click", loadBoard);
