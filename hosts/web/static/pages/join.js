// The customer's page. What the form needs comes with the page; what the session needs
// (its socket, media, stage, 美颜) is fetched once the form shows, while the person types;
// the whiteboard and co-browse modules only when something is shared: a phone on a slow
// line shows the form, and then the salesperson, sooner.
import { ApiError, answer, api } from "../api.js";
import { has, serverMessage, t, translate } from "../i18n.js";
import { mountDeviceCheck } from "../device-check.js";
import { notify } from "../notice.js";
import { earlyInvite } from "./join-early.js";

let sessionModules = null;
// The session's modules, fetched once (a failed fetch is tried again on the next call).
function inSession() {
  sessionModules ??= Promise.all([
    import("../media-session.js"),
    import("../room-client.js"),
    import("../room-view.js"),
    import("../video-dock.js"),
    import("../beauty.js"),
  ]).then(
    (modules) => Object.assign({}, ...modules),
    (error) => {
      sessionModules = null;
      throw error;
    },
  );
  return sessionModules;
}

// Marks of the customer's way in, read by benchmarks/bench_first_load.py (and by anyone
// with the browser's performance panel): modules run, form ready, 进入会话 pressed; the
// media session adds its own.
performance.mark("join:modules");
translate();
// /join/<signed token> or the short /j/<code>: the API takes either.
const inviteToken = location.pathname.split("/").pop();
const seatKey = `zhanye.seat.${inviteToken.slice(-16)}`;
const showError = (error) =>
  notify(has(`room.error.${error.code}`) ? t(`room.error.${error.code}`) : serverMessage(error));

// A link that cannot open a session gets a page of its own saying what to do next.
function showLinkProblem(kind) {
  const box = document.querySelector("#link-problem");
  box.querySelector("h1").textContent = t(`join.${kind}Title`);
  box.querySelector("[data-problem=what]").textContent = t(`join.${kind}Text`);
  document.querySelector("#welcome").hidden = true;
  box.hidden = false;
  document.title = t(`join.${kind}Title`);
}

// What the invite says: null when the page now shows why it cannot be used. A customer
// with a seat on this device goes back in, and the session shows its own end. `early`:
// the look-up join-early.js started as the page arrived.
async function readInvite(seated = false, early = null) {
  try {
    const found = early ? await fromEarly(await early) : await api("GET", `/api/invites/${inviteToken}`);
    if (found.state === "ended" && !seated) {
      showLinkProblem("ended");
      return null;
    }
    return found;
  } catch (error) {
    if (error.status === 403 || error.status === 404) showLinkProblem("invalid");
    else notify(error.text || String(error));
    return null;
  }
}

async function fromEarly({ response, data, error }) {
  if (error) throw new ApiError(0, "network", String(error));
  return answer(`/api/invites/${inviteToken}`, response, data);
}

const info = await readInvite(Boolean(remembered() && !remembered().left), earlyInvite);
let deviceCheck = null;
let media = null;
if (info) {
  document.querySelector("#join-info").textContent = t("join.info", {
    host: info.host_name || "-",
    number: info.meeting_number,
  });
  performance.mark("join:form");
  inSession().catch(() => {}); // asked again, and its failure shown, on 进入会话
  // Checked before joining; a retry that finds a device after joining brings it in.
  deviceCheck = mountDeviceCheck(document.querySelector("#device-check"), {
    onResult: () => media?.restart(),
  });
} else {
  document.querySelector("#join-form").hidden = true;
}

// `prepared`: the peer made for this join (none on a rejoin), with its devices on their
// way; `seat.media`: the server's answer to its offer, when the offer went with the join.
async function enter(seat, prepared = null) {
  const { MediaSession, RoomClient, enlargeable, mountBeauty, renderMembers, renderStage } = await inSession();
  document.querySelector("#welcome").hidden = true;
  document.querySelector("#in-session").hidden = false;
  document.querySelector("#room-title").textContent = t("join.room", { number: seat.meeting_number });
  const client = new RoomClient(seat.session_id, { seat: seat.seat_token });
  const connection = document.querySelector("#connection");
  client.addEventListener("connection", (event) => {
    connection.textContent = t(`connection.${event.detail.state}`);
  });
  client.addEventListener("failure", (event) => showError(event.detail));
  // Opened early: the handshake is on its way while the page builds the session's view
  // (every listener below is added before this task ends, so none misses an event).
  client.connect();
  // A tap on a video enlarges it; its shrink icon puts it back (manual §5.6).
  const tiles = enlargeable(document.querySelector("#stage"));
  client.addEventListener("room", () => {
    const room = client.room;
    renderStage(document.querySelector("#stage"), room, client.me);
    tiles.apply();
    renderMembers(document.querySelector("#members"), room, client.me, client, showError);
    const mine = room.participants[client.me.participant_id];
    if (mine) {
      document.querySelector("#my-audio").setAttribute("aria-pressed", String(mine.audio_on));
      document.querySelector("#my-video").setAttribute("aria-pressed", String(mine.video_on));
    }
    if (room.state === "ended") {
      document.querySelector("#in-session").hidden = true;
      document.querySelector("#evaluation").hidden = false;
      if (room.evaluations[client.me.participant_id]) showThanks();
    }
  });
  media = new MediaSession(client, document.querySelector("#stage"), {
    slots: 2,
    onError: showError,
    devices: () => deviceCheck?.result,
    prepared,
    answered: seat.media || null,
  });
  mountBeauty(document.querySelector("#beauty-control"), media);
  const toggle = (kind) => () => {
    const mine = client.room.participants[client.me.participant_id];
    client.send(`room.set_${kind}`, { target: mine.id, on: !mine[`${kind}_on`] }).catch(showError);
  };
  document.querySelector("#my-audio").addEventListener("click", toggle("audio"));
  document.querySelector("#my-video").addEventListener("click", toggle("video"));
  document.querySelector("#leave").addEventListener("click", async () => {
    await client.send("room.leave").catch(() => {});
    client.close();
    // The seat is kept: joining again from this device is the same participant.
    remember({ ...seat, left: true });
    location.reload();
  });
  setupEvaluation(client);
  loadSharingOnDemand(client, seat);
}

// The board's module arrives with the first share (or at once when one is open already);
// co-browse's with the first co-browse share, which is then handed to it with any events
// that came while it loaded.
function loadSharingOnDemand(client, seat) {
  let board = null;
  const loadBoard = () => {
    board ??= Promise.all([import("../whiteboard.js"), boardStyle()]).then(([{ mountBoard }]) =>
      mountBoard(document.querySelector("#board-panel"), client, {
        sessionId: seat.session_id,
        credentials: { seat: seat.seat_token },
        staff: false,
        onError: (error) => (has(`board.error.${error.code}`) ? notify(t(`board.error.${error.code}`)) : showError(error)),
      }),
    );
    board.catch(showError);
  };
  let cobrowse = null;
  let waiting = [];
  client.addEventListener("event", ({ detail }) => {
    if (detail.type.startsWith("whiteboard.") || detail.type.startsWith("share.")) loadBoard();
    if (!detail.type.startsWith("cobrowse.") || waiting === null) return;
    waiting.push(detail);
    cobrowse ??= import("../cobrowse-customer.js").then(({ attachCobrowseCustomer }) => {
      attachCobrowseCustomer(client, document.querySelector("#cobrowse"));
      const missed = waiting;
      waiting = null;
      for (const event of missed) client.emit("event", event);
    });
    cobrowse.catch(showError);
  });
  client.addEventListener("connection", (event) => {
    if (event.detail.state !== "open" || board) return;
    client
      .send("whiteboard.sync")
      .then((snapshot) => {
        if (snapshot.current || snapshot.documents?.length) loadBoard();
      })
      .catch(() => {});
  });
}

// The board's style sheet, with the board (it is not on the form's path): resolves once
// it applied, or failed (the board still works, plainer).
function boardStyle() {
  return new Promise((resolve) => {
    const link = Object.assign(document.createElement("link"), { rel: "stylesheet", href: "/static/whiteboard.css" });
    link.addEventListener("load", resolve);
    link.addEventListener("error", resolve);
    document.head.append(link);
  });
}

function showThanks() {
  document.querySelector("#evaluation-form").hidden = true;
  document.querySelector("#thanks").hidden = false;
}

function setupEvaluation(client) {
  const stars = document.querySelector("#stars");
  let score = 0;
  for (let i = 1; i <= 5; i += 1) {
    const star = document.createElement("button");
    star.type = "button";
    star.textContent = "★";
    star.setAttribute("role", "radio");
    star.setAttribute("aria-checked", "false");
    star.setAttribute("aria-label", t("join.stars", { n: i }));
    star.addEventListener("click", () => {
      score = i;
      for (const [index, s] of [...stars.children].entries()) s.setAttribute("aria-checked", String(index < i));
    });
    stars.append(star);
  }
  document.querySelector("#evaluation-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const errorBox = event.target.querySelector(".form-error");
    if (!score) {
      errorBox.textContent = t("join.pickScore");
      errorBox.hidden = false;
      return;
    }
    try {
      await client.send("room.evaluate", { score, comment: event.target.elements.comment.value });
      showThanks();
    } catch (error) {
      errorBox.textContent = has(`room.error.${error.code}`) ? t(`room.error.${error.code}`) : serverMessage(error);
      errorBox.hidden = false;
    }
  });
}

// This device's seat in the session, kept across closed tabs (localStorage): reopening
// the invite brings the customer back as the same participant, not a second customer.
function remembered() {
  try {
    return JSON.parse(localStorage.getItem(seatKey) || "null");
  } catch {
    return null;
  }
}

function remember(seat) {
  localStorage.setItem(seatKey, JSON.stringify(seat));
}

// The customer's peer, made while the form shows (no device is taken yet): its offer goes
// with the join, whose reply brings the server's answer with the seat, so the media starts
// while the session's socket is still opening.
let peerReady = null;
const makePeer = () => {
  peerReady = inSession().then(({ preparePeer }) => preparePeer({ slots: 2 }));
  peerReady.catch(() => {});
};
// What the form's join takes: the peer if it is ready within `ms` (its offer goes with the
// join) and the peer with the devices on their way (one made afresh if none could be).
async function takePeer(ms) {
  const ready = peerReady || Promise.reject(new Error("no peer"));
  peerReady = null;
  const built = await Promise.race([ready.catch(() => null), new Promise((r) => setTimeout(() => r(null), ms))]);
  const devices = () => deviceCheck?.result;
  const prepared = ready.then(
    (peer) => {
      peer.attach(devices(), showError);
      return peer;
    },
    () => inSession().then(({ prepareMedia }) => prepareMedia({ slots: 2, devices, onError: showError })),
  );
  return { offer: built ? built.takeOffer() : undefined, prepared };
}

let rejoined = false;
const saved = info ? remembered() : null;
if (saved && !saved.left) {
  try {
    const seat = await api("POST", `/api/invites/${inviteToken}/rejoin`, { seat_token: saved.seat_token });
    remember(seat);
    rejoined = true;
    await enter(seat);
  } catch (error) {
    // Refused (expired, another session): join afresh. Offline: the seat is kept.
    if (error.status) localStorage.removeItem(seatKey);
    else notify(t("room.error.network"));
    // Too late to come back to a session that has ended: say so rather than offer the form.
    if (error.status && info.state === "ended") showLinkProblem("ended");
  }
}
if (info && !rejoined) makePeer();

document.querySelector("#join-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  performance.mark("join:enter");
  const form = event.target;
  const errorBox = form.querySelector(".form-error");
  errorBox.hidden = true;
  // The offer goes with the join and the devices are taken while it is on its way (the
  // person has just asked to enter); a refused join releases them at once.
  const { offer, prepared } = await takePeer(500);
  let seat;
  try {
    seat = await api("POST", `/api/invites/${inviteToken}/join`, {
      name: form.elements.name.value,
      recording_acknowledged: form.elements.ack.checked,
      // The SDK tells the terminal from the browser; the page adds what headers lack.
      touch_points: navigator.maxTouchPoints || 0,
      seat_token: remembered()?.seat_token,
      offer,
    });
  } catch (error) {
    inSession().then(({ discardPrepared }) => discardPrepared(prepared), () => {});
    makePeer(); // for the next try
    // Ended or expired while the form was open: the link's own page says so, in words
    // for customers rather than the advice the server gives staff.
    if ([403, 404, 409].includes(error.status) && !(await readInvite())) return;
    errorBox.textContent = error.text || String(error);
    errorBox.hidden = false;
    return;
  }
  performance.mark("join:seat");
  remember(seat);
  enter(seat, prepared).catch((error) => notify(error.text || String(error)));
});
