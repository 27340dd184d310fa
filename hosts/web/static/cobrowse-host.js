// The salesperson's side of co-browsing in the session hall: push a product link
// (推送), watch the customer's page in a mirror with their trail, hand control over
// (切换操作方), end sharing.
import { api } from "./api.js";
import { t } from "./i18n.js";
import { Replayer } from "/sdk/cobrowse/replayer.js";

// The pages of one kind (link: H5 products; assessment: 测评 questionnaires), newest first.
async function listLinks(kind) {
  try {
    return (await api("GET", `/api/materials?kind=${kind}&limit=200`)).items;
  } catch (error) {
    // A server without assessments refuses the kind: it has none to offer.
    if (kind === "assessment" && error.status === 400) return [];
    throw error;
  }
}

export function attachCobrowseHost(client, panel, notify) {
  const frame = panel.querySelector("iframe");
  const status = panel.querySelector("[data-cobrowse=status]");
  const controlButton = panel.querySelector("[data-cobrowse=control]");
  const endButton = panel.querySelector("[data-cobrowse=end]");
  const waiting = panel.querySelector("[data-cobrowse=waiting]");
  const mirrorFrame = panel.querySelector("[data-cobrowse=frame]");
  // ready: the customer's page has arrived (until then the panel says it is waited for).
  const state = { share: null, seq: 0, lease: null, syncing: false, ready: false };
  const replayer = new Replayer(frame, {
    onOperate: (kind, data) =>
      client
        .send("cobrowse.operate", { share: state.share, epoch: state.lease.epoch, kind, data })
        .catch((error) => notify(t(`cobrowse.error.${error.code}`))),
  });

  function render() {
    panel.hidden = !state.share;
    waiting.hidden = state.ready;
    mirrorFrame.hidden = !state.ready;
    if (!state.lease) return;
    const mine = state.lease.holder === client.me.participant_id;
    status.textContent = t(mine ? "cobrowse.operatorMe" : "cobrowse.operatorCustomer");
    controlButton.textContent = t(mine ? "cobrowse.giveBack" : "cobrowse.takeControl");
    replayer.setControl(mine);
  }

  async function resync(last) {
    if (state.syncing) return;
    state.syncing = true;
    try {
      const result = await client.send("cobrowse.resync", { last_seq: last });
      state.share = result.share;
      state.lease = result.lease;
      if (result.reset && result.snapshot) {
        replayer.reset(result.snapshot);
        state.seq = result.snapshot_seq;
        state.ready = true;
      }
      for (const event of result.events) {
        replayer.apply(event.kind, event.data);
        state.seq = event.seq;
      }
      render();
    } catch {
      // nothing is being shared
    } finally {
      state.syncing = false;
    }
  }

  client.addEventListener("connection", (event) => {
    if (event.detail.state === "open") resync(state.share ? state.seq : null);
  });
  client.addEventListener("event", ({ detail: { type, data } }) => {
    if (type === "cobrowse.started") {
      state.share = data.share;
      state.lease = data.lease;
      state.seq = 0;
      state.ready = false;
      render();
    } else if (type === "cobrowse.page" && data.share === state.share) {
      if (state.syncing) return;
      if (data.kind === "snapshot") {
        state.ready = true;
        render(); // the frame is shown before the page is built in it
        replayer.reset(data.data);
        state.seq = data.seq;
        render();
      } else if (data.seq === state.seq + 1) {
        replayer.apply(data.kind, data.data);
        state.seq = data.seq;
      } else if (data.seq > state.seq + 1) {
        resync(state.seq);
      }
    } else if (type === "cobrowse.control" && data.share === state.share) {
      state.lease = { holder: data.holder, epoch: data.epoch };
      render();
    } else if (type === "cobrowse.submitted" && data.share === state.share) {
      notify(t("cobrowse.assessmentSubmitted", { name: data.name, n: data.answers }), "info");
    } else if (type === "cobrowse.ended" && data.share === state.share) {
      state.share = null;
      state.lease = null;
      render();
    }
  });

  controlButton.addEventListener("click", () => {
    const mine = state.lease && state.lease.holder === client.me.participant_id;
    const room = client.room;
    const customer = Object.values(room.participants).find((p) => p.role === "customer" && p.present);
    const to = mine ? customer?.id : client.me.participant_id;
    if (!to) return;
    client.send("cobrowse.control", { share: state.share, to }).catch((e) => notify(t(`cobrowse.error.${e.code}`)));
  });
  endButton.addEventListener("click", () => client.send("cobrowse.end", { share: state.share }).catch(() => {}));

  return {
    // Lists the link materials (products, or the assessments 测评) in `dialog`, newest
    // first, as buttons; `onPick(link)` gets the one tapped (manual §5.3).
    async choose(dialog, { assessment = false, onPick }) {
      const list = dialog.querySelector("[data-cobrowse=links]");
      const empty = dialog.querySelector("[data-share=empty]");
      dialog.querySelector("[data-share=title]").textContent = t(assessment ? "hall.pickAssessment" : "hall.pickProduct");
      dialog.querySelector(".form-error").hidden = true;
      list.replaceChildren();
      empty.hidden = true;
      dialog.showModal();
      const links = await listLinks(assessment ? "assessment" : "link");
      for (const link of links) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "link-item";
        button.dataset.material = link.id;
        button.dataset.name = link.name;
        const name = document.createElement("strong");
        name.textContent = link.name;
        const when = document.createElement("small");
        when.textContent = link.created_at ? new Date(link.created_at).toLocaleString() : link.title || link.url;
        button.append(name, when);
        button.addEventListener("click", () => onPick(link));
        list.append(button);
      }
      empty.textContent = t(assessment ? "hall.noAssessments" : "hall.noProducts");
      empty.hidden = links.length > 0;
    },
    async push(materialId) {
      await client.send("cobrowse.share", { material_id: materialId });
    },
  };
}
