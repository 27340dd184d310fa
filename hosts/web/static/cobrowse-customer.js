// The customer's side of co-browsing: the pushed product page in a frame whose agent
// reports the page, a small floating toolbar (draggable, collapsible), and the
// operator's inputs relayed into the page.
import { serverMessage, t } from "./i18n.js";

export function attachCobrowseCustomer(client, section) {
  const frame = section.querySelector("iframe");
  const toolbar = section.querySelector(".cobrowse-toolbar");
  const status = toolbar.querySelector("[data-cobrowse=status]");
  const takeBack = toolbar.querySelector("[data-cobrowse=take-back]");
  const state = { share: null, lease: null, maskSelectors: [], limits: {}, agentOrigin: null, retry: null };

  // Only to the agent that announced itself from the frame, at its origin.
  const toAgent = (message) => {
    if (state.agentOrigin) frame.contentWindow?.postMessage({ zhanye: "cobrowse", ...message }, state.agentOrigin);
  };

  function render() {
    section.hidden = !state.share;
    document.body.classList.toggle("cobrowsing", Boolean(state.share));
    if (!state.lease) return;
    const mine = state.lease.holder === client.me.participant_id;
    status.textContent = t(mine ? "cobrowse.youOperate" : "cobrowse.staffOperates");
    takeBack.hidden = mine;
  }

  async function report(type, payload) {
    try {
      await client.send(type, { share: state.share, ...payload });
    } catch (error) {
      // Offline: the page is re-sent as a whole once the connection is back.
      if (error.data?.needs_snapshot) toAgent({ type: "need-snapshot" });
      // Too many snapshots at once (pages loading in a row): the latest goes once allowed.
      else if (error.code === "rate_limited" && type === "cobrowse.snapshot_chunk") {
        clearTimeout(state.retry);
        state.retry = setTimeout(() => toAgent({ type: "need-snapshot" }), (error.data.retry_after_s || 1) * 1000);
      }
    }
  }

  // An assessment's answers: kept with the session record; the customer is told so.
  async function submit(answers) {
    try {
      await client.send("cobrowse.submit", { share: state.share, answers });
      notice(t("cobrowse.assessmentSent"));
    } catch (error) {
      notice(t("cobrowse.assessmentFailed", { detail: serverMessage(error.data || error) || "" }));
    }
  }

  function notice(text) {
    let box = section.querySelector("[data-cobrowse=notice]");
    if (!box) {
      box = document.createElement("p");
      box.dataset.cobrowse = "notice";
      box.className = "cobrowse-notice";
      box.setAttribute("role", "status");
      toolbar.append(box);
    }
    box.textContent = text;
  }

  window.addEventListener("message", (event) => {
    const message = event.data;
    if (event.source !== frame.contentWindow || !message || message.zhanye !== "cobrowse") return;
    if (message.type === "ready" && state.share) {
      state.agentOrigin = event.origin;
      toAgent({ type: "start", maskSelectors: state.maskSelectors, maxEventBytes: state.limits.max_event_bytes });
    } else if (event.origin !== state.agentOrigin) return;
    else if (message.type === "snapshot") report("cobrowse.snapshot", { snapshot: message.snapshot });
    else if (message.type === "snapshot-chunk")
      report("cobrowse.snapshot_chunk", { id: message.id, index: message.index, total: message.total, text: message.text });
    else if (message.type === "event") report("cobrowse.event", { kind: message.kind, data: message.data });
    else if (message.type === "submit") submit(message.answers);
  });

  client.addEventListener("connection", (event) => {
    if (event.detail.state === "open" && state.share) toAgent({ type: "need-snapshot" });
  });
  client.addEventListener("event", ({ detail: { type, data } }) => {
    if (type === "cobrowse.started" && data.sharer === client.me.participant_id) {
      state.share = data.share;
      state.lease = data.lease;
      state.maskSelectors = data.mask_selectors || [];
      state.limits = data.limits || {};
      state.agentOrigin = null;
      frame.src = data.url;
      render();
    } else if (type === "cobrowse.control" && data.share === state.share) {
      state.lease = { holder: data.holder, epoch: data.epoch };
      render();
    } else if (type === "cobrowse.operate" && data.share === state.share) {
      toAgent({ type: "operate", kind: data.kind, data: data.data });
    } else if (type === "cobrowse.ended" && data.share === state.share) {
      toAgent({ type: "stop" });
      state.share = null;
      frame.removeAttribute("src");
      render();
    }
  });

  takeBack.addEventListener("click", () =>
    client.send("cobrowse.control", { share: state.share, to: client.me.participant_id }).catch(() => {}),
  );
  toolbar.querySelector("[data-cobrowse=collapse]").addEventListener("click", () => toolbar.classList.toggle("collapsed"));
  // Dragging the toolbar by its handle, with mouse or finger.
  const handle = toolbar.querySelector("[data-cobrowse=handle]");
  handle.addEventListener("pointerdown", (down) => {
    const start = { x: down.clientX, y: down.clientY, left: toolbar.offsetLeft, top: toolbar.offsetTop };
    handle.setPointerCapture(down.pointerId);
    const move = (event) => {
      toolbar.style.left = `${Math.max(0, start.left + event.clientX - start.x)}px`;
      toolbar.style.top = `${Math.max(0, start.top + event.clientY - start.y)}px`;
      toolbar.style.right = "auto";
      toolbar.style.bottom = "auto";
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", () => handle.removeEventListener("pointermove", move), { once: true });
  });
}
