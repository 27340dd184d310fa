// The SOP assistant in the session hall (staff only; the customer's page has none of it).
//
// On every (re)connect the panel sends sop.start with the chosen template and draws the
// checklist from the answer, which carries the progress so far (ticked nodes, the card
// on screen, the alerts raised). After that it only listens: the server follows the
// shared material and page itself and sends sop.flow / sop.card / sop.node / sop.alert
// on the host's staff channel, and sop.summary when the session ends. A co-browsed
// link is the exception: the hall tells the assistant with showMaterial(). All text
// comes from the message catalogue (sop.assist.*).
import { api } from "./api.js";
import { t, translate } from "./i18n.js";

const TEMPLATE_KEY = "zhanye.sopTemplate";

function el(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
}

function clock(ms) {
  // Segments from a host's ASR carry session-relative times; the server's are epoch times.
  if (ms > 1e11) return new Date(ms).toLocaleTimeString();
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

export function mountSopPanel(panel, client, { onError = () => {} } = {}) {
  panel.innerHTML = `
    <div class="row">
      <h2 data-i18n="sop.assist.title"></h2>
      <span class="spacer"></span>
      <label class="sop-template"><span data-i18n="sop.assist.template"></span><select data-sop="template"></select></label>
    </div>
    <section class="sop-card" data-sop="card" aria-live="polite">
      <h3 data-i18n="sop.assist.card"></h3>
      <p class="hint" data-sop="card-empty" data-i18n="sop.assist.cardEmpty"></p>
      <article data-sop="card-body" hidden><strong data-sop="card-name"></strong><p data-sop="card-content"></p></article>
    </section>
    <section class="sop-checklist">
      <h3 data-i18n="sop.assist.checklist"></h3>
      <p class="hint" data-sop="no-flow" data-i18n="sop.assist.noFlow"></p>
      <div data-sop="flows"></div>
    </section>
    <section class="sop-qa">
      <h3 data-i18n="sop.assist.alerts"></h3>
      <p class="hint" data-sop="no-alerts" data-i18n="sop.assist.noAlerts"></p>
      <ul class="sop-alerts" data-sop="alerts" aria-live="assertive"></ul>
      <p class="sop-summary" data-sop="summary" role="status" hidden></p>
    </section>`;
  translate(panel);
  const part = (name) => panel.querySelector(`[data-sop="${name}"]`);
  const select = part("template");
  const state = { flows: [], active: null, executed: new Set(), started: false, ready: false };

  function renderCard(card) {
    part("card-empty").hidden = Boolean(card);
    part("card-body").hidden = !card;
    if (!card) return;
    part("card-name").textContent = card.name;
    part("card-content").textContent = card.content;
    part("card").dataset.script = card.script_id;
  }

  function nodeItem(flowId, node) {
    const done = state.executed.has(`${flowId}/${node.id}`);
    const item = el("li", { className: "sop-node" });
    item.dataset.node = node.id;
    item.dataset.done = String(done);
    item.append(
      el("span", { className: "sop-tick", ariaHidden: "true", textContent: done ? "✓" : "" }),
      el("span", { className: "sop-node-title", textContent: node.title }),
    );
    if (node.required) item.append(el("span", { className: "badge", textContent: t("sop.assist.required") }));
    const status = el("span", { className: "visually-hidden", textContent: done ? t("sop.assist.done") : "" });
    item.append(status);
    if (node.children.length) item.append(el("ul", {}, node.children.map((c) => nodeItem(flowId, c))));
    return item;
  }

  function renderFlows() {
    const box = part("flows");
    box.replaceChildren();
    for (const flow of state.flows) {
      const section = el("details", { className: "sop-flow", open: flow.id === state.active });
      section.dataset.flow = flow.id;
      section.classList.toggle("active", flow.id === state.active);
      section.append(
        el("summary", { textContent: flow.name }),
        el("ol", {}, flow.nodes.map((n) => nodeItem(flow.id, n))),
      );
      box.append(section);
    }
    part("no-flow").hidden = state.active !== null;
  }

  function addAlert(alert) {
    part("no-alerts").hidden = true;
    const item = el("li", { className: `sop-alert ${alert.severity}` });
    item.dataset.rule = alert.rule_name;
    item.append(
      el("strong", { textContent: alert.rule_name }),
      el("span", { className: "badge", textContent: t(`sop.rule.severity.${alert.severity}`) }),
      el("time", { textContent: clock(alert.time_ms) }),
      el("q", { textContent: alert.text }),
    );
    part("alerts").prepend(item);
  }

  function load(progress) {
    state.started = true;
    state.flows = progress.flows;
    state.active = progress.active_flow;
    state.executed = new Set(progress.executed.map(([f, n]) => `${f}/${n}`));
    renderFlows();
    renderCard(progress.card);
    part("alerts").replaceChildren();
    part("no-alerts").hidden = progress.alerts.length > 0;
    for (const alert of progress.alerts) addAlert(alert);
    panel.dataset.state = "started";
  }

  async function start() {
    const templateId = select.value || undefined;
    try {
      load(await client.send("sop.start", templateId ? { template_id: templateId } : {}));
    } catch (error) {
      if (error.code === "conflict") {
        // The session has ended: its SOP outcome is in the session record.
        panel.dataset.state = "ended";
        part("summary").textContent = t("sop.assist.ended");
        part("summary").hidden = false;
        return;
      }
      panel.dataset.state = "failed";
      onError(error);
    }
  }

  client.addEventListener("event", (event) => {
    const { type, data } = event.detail;
    if (!type.startsWith("sop.") || !state.started) return;
    if (type === "sop.flow") {
      state.active = data.flow_id;
      renderFlows();
      if (data.flow_id === null) renderCard(null);
    } else if (type === "sop.card") {
      renderCard(data);
    } else if (type === "sop.node") {
      state.executed.add(`${data.flow_id}/${data.node_id}`);
      renderFlows();
    } else if (type === "sop.alert") {
      addAlert(data);
    } else if (type === "sop.summary") {
      const summary = part("summary");
      summary.textContent = t("sop.assist.summary", {
        score: data.qa.score,
        result: t(data.qa.passed ? "sop.assist.passed" : "sop.assist.failed"),
      });
      summary.hidden = false;
      panel.dataset.state = "finished";
    }
  });

  client.addEventListener("connection", (event) => {
    if (event.detail.state === "open" && state.ready) start();
  });

  select.addEventListener("change", () => {
    localStorage.setItem(TEMPLATE_KEY, select.value);
    start();
  });

  // The templates this salesperson's organization may use; the last one chosen first.
  const ready = (async () => {
    let templates = [];
    try {
      templates = (await api("GET", "/api/sop/templates")).items;
    } catch (error) {
      onError(error);
    }
    select.replaceChildren(
      ...templates.map((tpl) => el("option", { value: tpl.id, textContent: tpl.name })),
      el("option", { value: "", textContent: t("sop.assist.allFlows") }),
    );
    const saved = localStorage.getItem(TEMPLATE_KEY);
    if (saved !== null && [...select.options].some((o) => o.value === saved)) select.value = saved;
    state.ready = true;
    if (client.socket?.readyState === WebSocket.OPEN) await start();
  })();

  return {
    ready,
    // Shares the server does not see itself (a co-browsed link) are told to it here.
    showMaterial: (materialId, page = null) =>
      state.started
        ? client.send("sop.page", { material_id: materialId, page }).catch(onError)
        : Promise.resolve(),
  };
}
