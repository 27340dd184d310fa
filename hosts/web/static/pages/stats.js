// 监控统计: the period and bucket, figure cards, and per chart a Plotly chart with its table
// and CSV. A company admin drills from the company (by organization) into one organization
// (by salesperson); an org admin always sees their own organization.
import { api, ApiError, token } from "../api.js";
import { has, lang, t } from "../i18n.js";
import { attempt, cell, startPage } from "../shell.js";
import { dateOnly } from "../times.js";

const Plotly = window.Plotly;
const me = await startPage("/stats");
const form = document.querySelector("#stats-form");
const errorBox = document.querySelector("#stats-error");
const zh = lang() === "zh-CN";
const state = { org: "", orgName: "" };

// Plotly's own words (mode bar) in Chinese; numbers with "." and "," as in both languages.
Plotly.register({
  moduleType: "locale",
  name: "zh-CN",
  dictionary: {
    "Download plot as a png": t("stats.plot.download"),
    "Download plot": t("stats.plot.download"),
    "Reset axes": t("stats.plot.reset"),
    "Autoscale": t("stats.plot.autoscale"),
  },
  format: { decimal: ".", thousands: "," },
});
const CONFIG = {
  locale: zh ? "zh-CN" : "en",
  displaylogo: false,
  responsive: true,
  // Only saving the picture and resetting the view: the rest is noise for a manager.
  modeBarButtonsToRemove: ["zoom2d", "pan2d", "select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d", "toggleSpikelines", "hoverClosestCartesian", "hoverCompareCartesian"],
  toImageButtonOptions: { filename: t("stats.title") },
};
const FONT = { family: "system-ui, 'PingFang SC', 'Microsoft YaHei', sans-serif", size: 12 };

function layout(xTitle, yTitle, extra = {}) {
  return {
    font: FONT,
    separators: ".,",
    margin: { l: 64, r: 64, t: 16, b: 64 },
    xaxis: { title: { text: xTitle }, type: "category", automargin: true },
    yaxis: { title: { text: yTitle }, rangemode: "tozero", automargin: true, separatethousands: true },
    legend: { orientation: "h", y: -0.25 },
    hoverlabel: { font: FONT },
    ...extra,
  };
}

const fmt = (value, digits = 2) => (value === null || value === undefined ? "-" : Number(value).toLocaleString(zh ? "zh-CN" : "en", { maximumFractionDigits: digits }));

// The figure columns every table shares (the API's names).
const COLUMNS = [
  ["sessions", "stats.col.sessions", 0],
  ["duration_minutes_total", "stats.col.durationTotal", 2],
  ["duration_minutes_average", "stats.col.durationAverage", 2],
  ["customers", "stats.col.customers", 0],
  ["video_percent", "stats.col.videoPercent", 2],
  ["evaluations", "stats.col.evaluations", 0],
  ["evaluation_average", "stats.col.ratingAverage", 2],
  ["qa_reports", "stats.col.qaReports", 0],
  ["qa_average", "stats.col.qaAverage", 2],
];

function fillTable(table, firstKey, rows, first) {
  const head = document.createElement("tr");
  for (const key of [firstKey, ...COLUMNS.map((c) => c[1])]) {
    const th = document.createElement("th");
    th.textContent = t(key);
    head.append(th);
  }
  table.tHead.replaceChildren(head);
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const row of rows) {
    const tr = document.createElement("tr");
    const name = first(row);
    tr.append(typeof name === "string" ? cell(name) : name);
    for (const [key, , digits] of COLUMNS) tr.append(cell(fmt(row[key], digits)));
    body.append(tr);
  }
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell(t("common.empty"));
    td.colSpan = COLUMNS.length + 1;
    tr.append(td);
    body.append(tr);
  }
}

function cards(total) {
  const box = document.querySelector("#stats-total");
  box.replaceChildren();
  const items = [
    ["stats.col.sessions", fmt(total.sessions, 0)],
    ["stats.col.durationTotal", fmt(total.duration_minutes_total)],
    ["stats.col.durationAverage", fmt(total.duration_minutes_average)],
    ["stats.col.customers", fmt(total.customers, 0)],
    ["stats.col.videoPercent", fmt(total.video_percent)],
    ["stats.col.ratingAverage", fmt(total.evaluation_average)],
    ["stats.col.qaAverage", fmt(total.qa_average)],
  ];
  for (const [key, value] of items) {
    const card = document.createElement("div");
    card.className = "stat-card";
    card.innerHTML = `<div class="label"></div><div class="value"></div>`;
    card.querySelector(".label").textContent = t(key);
    card.querySelector(".value").textContent = value;
    card.dataset.figure = key;
    box.append(card);
  }
}

function bucketLabel(start) {
  const bucket = form.bucket.value;
  return bucket === "day" ? start : t(`stats.bucketFrom.${bucket}`, { start });
}

function draw(stats) {
  cards(stats.total);
  const xTitle = t(`stats.axis.${stats.bucket}`);
  const labels = stats.buckets.map((b) => bucketLabel(b.start));
  Plotly.react("chart-sessions", [
    {
      type: "bar", name: t("stats.col.sessions"), x: labels, y: stats.buckets.map((b) => b.sessions),
      hovertemplate: `%{x}<br>${t("stats.col.sessions")}：%{y:,}<extra></extra>`, marker: { color: "#1f6feb" },
    },
    {
      type: "scatter", mode: "lines+markers", name: t("stats.col.durationAverage"), yaxis: "y2", x: labels,
      y: stats.buckets.map((b) => b.duration_minutes_average),
      hovertemplate: `%{x}<br>${t("stats.col.durationAverage")}：%{y:,.2f}<extra></extra>`, marker: { color: "#f59e0b" },
    },
  ], layout(xTitle, t("stats.axis.sessions"), {
    yaxis2: { title: { text: t("stats.axis.minutes"), standoff: 8 }, overlaying: "y", side: "right", rangemode: "tozero", showgrid: false, automargin: true },
  }), CONFIG);
  fillTable(document.querySelector("#table-buckets"), `stats.axis.${stats.bucket}`, stats.buckets, (b) => bucketLabel(b.start));

  const byOrg = stats.group_kind === "org";
  const groupTitle = t(byOrg ? "stats.chart.byOrg" : "stats.chart.byHost");
  document.querySelector("#groups-title").textContent = groupTitle;
  const names = stats.groups.map((g) => g.name);
  Plotly.react("chart-groups", [
    {
      type: "bar", name: t("stats.col.sessions"), x: names, y: stats.groups.map((g) => g.sessions),
      hovertemplate: `%{x}<br>${t("stats.col.sessions")}：%{y:,}<extra></extra>`, marker: { color: "#1f6feb" },
    },
    {
      type: "bar", name: t("stats.col.customers"), x: names, y: stats.groups.map((g) => g.customers),
      hovertemplate: `%{x}<br>${t("stats.col.customers")}：%{y:,}<extra></extra>`, marker: { color: "#10b981" },
    },
  ], layout(t(byOrg ? "stats.axis.org" : "stats.axis.host"), t("stats.axis.count"), { barmode: "group" }), CONFIG);
  fillTable(document.querySelector("#table-groups"), byOrg ? "stats.axis.org" : "stats.axis.host", stats.groups, (g) => {
    if (!byOrg) return g.name;
    // An organization's name drills into it: the same figures by salesperson.
    const td = document.createElement("td");
    const link = document.createElement("button");
    link.type = "button";
    link.className = "link";
    link.textContent = g.name;
    link.dataset.org = g.id;
    link.addEventListener("click", () => drill(g.id, g.name));
    td.append(link);
    return td;
  });

  const stars = [1, 2, 3, 4, 5].map((n) => t("stats.stars", { n }));
  Plotly.react("chart-ratings", [{
    type: "bar", name: t("stats.col.evaluations"), x: stars, y: stats.total.evaluation_counts,
    hovertemplate: `%{x}<br>${t("stats.col.evaluations")}：%{y:,}<extra></extra>`, marker: { color: "#8b5cf6" },
  }], layout(t("stats.axis.rating"), t("stats.axis.evaluations")), CONFIG);
  const ratings = document.querySelector("#table-ratings");
  const head = document.createElement("tr");
  for (const text of [t("stats.axis.rating"), ...stars, t("stats.col.ratingAverage")]) {
    const th = document.createElement("th");
    th.textContent = text;
    head.append(th);
  }
  ratings.tHead.replaceChildren(head);
  const row = document.createElement("tr");
  row.append(cell(t("stats.col.evaluations")), ...stats.total.evaluation_counts.map((n) => cell(fmt(n, 0))), cell(fmt(stats.total.evaluation_average)));
  ratings.tBodies[0].replaceChildren(row);

  const rules = stats.violations.map((v) => v.rule_name);
  Plotly.react("chart-violations", [{
    type: "bar", orientation: "h", name: t("stats.col.violations"), y: rules, x: stats.violations.map((v) => v.count),
    hovertemplate: `%{y}<br>${t("stats.col.violations")}：%{x:,}<extra></extra>`, marker: { color: "#ef4444" },
  }], layout(t("stats.axis.times"), t("stats.axis.rule"), {
    xaxis: { title: { text: t("stats.axis.times") }, rangemode: "tozero", automargin: true },
    yaxis: { title: { text: t("stats.axis.rule"), standoff: 12 }, type: "category", autorange: "reversed", automargin: true },
    margin: { l: 64, r: 24, t: 16, b: 48 },
  }), CONFIG);
  const violations = document.querySelector("#table-violations");
  const vhead = document.createElement("tr");
  for (const key of ["stats.axis.rule", "stats.col.kind", "stats.col.violations"]) {
    const th = document.createElement("th");
    th.textContent = t(key);
    vhead.append(th);
  }
  violations.tHead.replaceChildren(vhead);
  violations.tBodies[0].replaceChildren(...stats.violations.map((v) => {
    const tr = document.createElement("tr");
    tr.append(cell(v.rule_name), cell(has(`sop.rule.kind.${v.kind}`) ? t(`sop.rule.kind.${v.kind}`) : v.kind), cell(fmt(v.count, 0)));
    return tr;
  }));
}

function params(extra = {}) {
  const to = new Date(`${form.to.value}T00:00:00Z`);
  to.setUTCDate(to.getUTCDate() + 1); // the page's end day is included
  const query = {
    from: form.from.value, to: to.toISOString().slice(0, 10), bucket: form.bucket.value,
    timezone: me.timezone, ...extra,
  };
  if (state.org) query.org = state.org;
  return new URLSearchParams(query).toString();
}

// Only the newest query's answer is drawn (an earlier, slower one must not replace it).
let loads = 0;

async function load() {
  const mine = ++loads;
  errorBox.hidden = true;
  const stats = await attempt(() => api("GET", `/api/stats?${params()}`), errorBox);
  if (mine !== loads) return;
  if (stats) draw(stats);
  const crumbs = document.querySelector("#stats-crumbs");
  crumbs.hidden = !(me.role !== "org_admin" && state.org);
  document.querySelector("#stats-org-name").textContent = state.orgName;
}

async function drill(org, name) {
  state.org = org;
  state.orgName = name;
  document.querySelector("#stats-org").value = org;
  await load();
}

// The CSV behind a chart; fetched with the login token and handed over as a blob.
async function downloadCsv(table) {
  const response = await fetch(`/api/stats/csv?${params({ table, lang: lang() })}`, {
    headers: { Authorization: `Bearer ${token.get()}` },
  });
  if (!response.ok) throw new ApiError(response.status, "error", await response.text());
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  const disposition = response.headers.get("Content-Disposition") || "";
  link.download = decodeURIComponent((disposition.match(/filename\*=UTF-8''([^;]+)/) || [])[1] || `${table}.csv`);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

for (const [value, key] of [["day", "stats.bucket.day"], ["week", "stats.bucket.week"], ["month", "stats.bucket.month"]]) {
  form.bucket.append(new Option(t(key), value));
}
const orgSelect = document.querySelector("#stats-org");
orgSelect.append(new Option(t("stats.allOrgs"), ""));
if (me.role === "org_admin") {
  document.querySelector("#org-filter").hidden = true;
} else {
  const facets = await api("GET", "/api/records/facets");
  for (const org of facets.orgs) orgSelect.append(new Option(org.name, org.id));
}
// The last 30 days up to today, in the organization's zone.
const today = dateOnly(new Date().toISOString(), me.timezone);
const first = new Date(`${today}T00:00:00Z`);
first.setUTCDate(first.getUTCDate() - 29);
form.from.value = new URLSearchParams(location.search).get("from") || first.toISOString().slice(0, 10);
form.to.value = new URLSearchParams(location.search).get("to") || today;

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  state.org = orgSelect.value;
  state.orgName = orgSelect.selectedOptions[0]?.textContent || "";
  await load();
});
document.querySelector("#stats-up").addEventListener("click", async () => {
  state.org = "";
  state.orgName = "";
  orgSelect.value = "";
  await load();
});
for (const button of document.querySelectorAll("[data-csv]")) {
  button.addEventListener("click", () => attempt(() => downloadCsv(button.dataset.csv), errorBox));
}
await load();
