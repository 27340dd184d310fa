// The cashier (流水录入): a bill names a customer (from the book or typed: name, gender,
// phone), shows their member discount, what is payable and the exact change before it is
// paid; the bill list with 冲红; reports by day, month, quarter or year with 合计, a chart
// (Plotly, served by the desk itself) and export as CSV or Excel. The SDK does the sums.
import { lang, t } from "./messages.js";

let desk = null; // the desk page's helpers, handed over by kiosk.js
const $ = (selector) => document.querySelector(selector);
const form = () => $("#cashier-form");

// "清蒸鲈鱼 1 88.00" per line → [name, quantity, unit price]; the SDK checks them.
export function billItems(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const parts = line.split(/\s+/);
    return [parts.slice(0, -2).join(" "), Number(parts.at(-2)), parts.at(-1)];
  });
}

function zhe(rate) {
  return String(Math.round(Number(rate) * 1000) / 100);
}

// The quote as the cashier reads it: 合计, the member discount, 应收, and 找零 or 还差.
function quoteText(q) {
  const parts = [t("quoteAmount", q)];
  parts.push(Number(q.discount) < 1 ? t("quoteMember", { zhe: zhe(q.discount) }) : t("quoteFull"));
  parts.push(t("quotePayable", q));
  if (q.change !== null) parts.push(t("quoteChange", q));
  if (q.short !== null) parts.push(t("quoteShort", q));
  return parts.join(" · ");
}

let quoteSeq = 0;
async function requote() {
  const f = form().elements;
  const items = billItems(f.items.value);
  const line = $("#cashier-quote");
  if (!items.length) {
    line.textContent = "";
    return;
  }
  const seq = ++quoteSeq;
  try {
    const q = await desk.call("POST", "/api/desk/ledger/quote", { items, paid: f.paid.value.trim() || null, phone: f.phone.value.trim() || null });
    if (seq === quoteSeq) line.textContent = quoteText(q);
  } catch (error) {
    if (seq === quoteSeq) line.textContent = desk.explain(error);
  }
}

let quoteTimer = null;
function requoteSoon() {
  clearTimeout(quoteTimer);
  quoteTimer = setTimeout(requote, 250);
}

// Customers of the book matching what is typed in 顾客电话 or 姓名: one click fills the bill.
let matchTimer = null;
let matchSeq = 0;
async function findCustomers(text) {
  const list = $("#cashier-matches");
  const seq = ++matchSeq;
  list.replaceChildren();
  if (!text.trim()) return;
  const { items } = await desk.call("GET", `/api/desk/customers?q=${encodeURIComponent(text.trim())}`);
  if (seq !== matchSeq) return;
  for (const c of items.slice(0, 8)) {
    const li = document.createElement("li");
    const level = c.level ? ` · ${c.level.name}` : "";
    li.append(desk.actionButton(`${c.name || t("unknown")} · ${c.phone}${level}`, () => {
      const f = form().elements;
      f.phone.value = c.phone;
      f.name.value = c.name || "";
      f.gender.value = c.gender || "";
      list.replaceChildren();
      requote();
    }));
    list.append(li);
  }
}

async function saveBill(event) {
  event.preventDefault();
  const f = event.target.elements;
  try {
    const entry = await desk.call("POST", "/api/desk/ledger", {
      items: billItems(f.items.value),
      paid: f.paid.value.trim(),
      phone: f.phone.value.trim() || null,
      name: f.name.value.trim() || null,
      gender: f.gender.value || null,
    });
    $("#bill-result").textContent = t("billResult", entry.settlement);
    event.target.reset();
    $("#cashier-quote").textContent = "";
    loadReport();
  } catch (error) {
    $("#bill-result").textContent = desk.explain(error);
  }
}

// Plotly.js comes from the desk itself (the plotly package's own copy), loaded once.
let plotly = null;
function loadPlotly() {
  plotly ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/vendor/plotly.min.js";
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => reject(new Error("plotly.min.js"));
    document.head.append(script);
  });
  return plotly;
}

// Only the newest report is drawn: an older one whose answer or Plotly.js came late
// must not replace it.
let reportSeq = 0;

async function drawChart(kind, rows, seq) {
  const Plotly = await loadPlotly();
  if (seq !== reportSeq) return;
  const periods = rows.map((r) => r.period);
  const values = rows.map((r) => Number(r.payable));
  Plotly.react("report-chart", [{
    type: "bar",
    x: periods,
    y: values,
    text: rows.map((r) => r.payable),
    textposition: "outside",
    cliponaxis: false,
    marker: { color: "#c2410c" },
    hovertemplate: `%{x}<br>${t("payable")}：%{y:,.2f}<extra></extra>`,
  }], {
    margin: { l: 70, r: 20, t: 30, b: 60 },
    height: 260,
    xaxis: { title: { text: t(`axis_${kind}`) }, type: "category", automargin: true },
    yaxis: { title: { text: t("axisYuan") }, rangemode: "tozero", automargin: true, tickformat: ",.2f" },
    font: { family: "Noto Sans CJK SC, sans-serif" },
    separators: ".,",
  }, { displayModeBar: false, responsive: true, locale: lang === "zh-CN" ? "zh-CN" : "en" });
}

function row(values) {
  const tr = document.createElement("tr");
  for (const value of values) {
    const td = document.createElement("td");
    td.textContent = String(value);
    tr.append(td);
  }
  return tr;
}

export async function loadReport() {
  const kind = $("#report-kind").value;
  const seq = ++reportSeq;
  let data;
  try {
    data = await desk.call("GET", `/api/desk/ledger/report?kind=${kind}`);
  } catch (error) {
    desk.toast(desk.explain(error));
    return;
  }
  if (seq !== reportSeq) return;
  const { rows, total } = data;
  const voided = (r) => (r.voided ? t("voidedCount", { count: r.voided, payable: r.voided_payable }) : "");
  const body = $("#report-table tbody");
  body.replaceChildren();
  if (!rows.length) body.append(desk.emptyRow(5, t("noReport")));
  for (const r of rows) body.append(row([r.period, r.bills, r.amount, r.payable, voided(r)]));
  const foot = $("#report-table tfoot");
  foot.replaceChildren();
  if (rows.length) foot.append(row([t("total"), total.bills, total.amount, total.payable, voided(total)]));
  loadBills().catch((error) => desk.toast(desk.explain(error)));
  drawChart(kind, rows, seq).catch((error) => ($("#report-chart").textContent = desk.explain(error)));
}

// 冲红 asks for the reason in a dialog; a missing reason or the SDK's refusal is said there.
function openVoid(bill, summary) {
  const form = $("#void-form");
  form.reset();
  form.dataset.id = bill.id;
  form.dataset.summary = summary;
  $("#void-title").textContent = t("voidTitle", { summary, payable: bill.settlement.payable });
  $("#void-result").textContent = "";
  $("#void-dialog").showModal();
  form.elements.reason.focus();
}

async function saveVoid(event) {
  event.preventDefault();
  const form = event.target;
  const reason = form.elements.reason.value.trim();
  if (!reason) {
    $("#void-result").textContent = t("needVoidReason");
    form.elements.reason.focus();
    return;
  }
  try {
    await desk.call("POST", `/api/desk/ledger/${form.dataset.id}/void`, { reason });
  } catch (error) {
    $("#void-result").textContent = desk.explain(error);
    return;
  }
  $("#void-dialog").close();
  $("#bill-result").textContent = t("billVoided", { summary: form.dataset.summary });
  loadReport();
}

// The latest bills; a wrong one is voided (冲红) with a reason, kept and marked.
async function loadBills() {
  const { items } = await desk.call("GET", "/api/desk/ledger/bills");
  const body = $("#bills tbody");
  body.replaceChildren();
  if (!items.length) body.append(desk.emptyRow(6, t("noBills")));
  for (const bill of items) {
    const summary = bill.items.map((i) => `${i.name}×${i.quantity}`).join("、");
    const status = bill.voided_at ? t("voided", { reason: bill.void_reason }) : t("valid");
    const g = bill.guest;
    const who = g ? [g.name, g.gender, g.phone].filter(Boolean).join(" ") : "";
    const buttons = [];
    if (!bill.voided_at) {
      buttons.push(desk.actionButton(t("voidBill"), () => openVoid(bill, summary)));
    }
    const tr = desk.tableRow([desk.when(bill.at), who, summary, bill.settlement.payable, status], buttons);
    if (bill.voided_at) tr.classList.add("voided");
    body.append(tr);
  }
}

// 导出: the report as shown, as a CSV or Excel file.
async function exportReport() {
  const kind = $("#report-kind").value;
  const fmt = $("#report-format").value;
  const result = $("#report-result");
  try {
    const response = await fetch(`/api/desk/ledger/export?kind=${kind}&format=${fmt}`, { headers: { Authorization: `Bearer ${desk.token()}` } });
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      throw Object.assign(new Error(data.error?.message || response.statusText), { code: data.error?.code, detailZh: data.error?.message_zh });
    }
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = `ledger-${kind}.${fmt}`;
    document.body.append(link);
    link.click();
    link.remove();
    result.textContent = t("exported", { file: link.download });
  } catch (error) {
    result.textContent = desk.explain(error);
  }
}

export function installCashier(helpers) {
  desk = helpers;
  $("#void-form").addEventListener("submit", saveVoid);
  $("#void-cancel").addEventListener("click", () => $("#void-dialog").close());
  $("#report-chart").setAttribute("aria-label", t("chartLabel"));
  const f = form().elements;
  form().addEventListener("submit", saveBill);
  for (const field of [f.items, f.paid, f.phone]) field.addEventListener("input", requoteSoon);
  for (const field of [f.phone, f.name]) {
    field.addEventListener("input", (event) => {
      clearTimeout(matchTimer);
      matchTimer = setTimeout(() => findCustomers(event.target.value).catch(() => {}), 250);
    });
  }
  $("#report-kind").addEventListener("change", loadReport);
  $("#report-export").addEventListener("click", exportReport);
}
