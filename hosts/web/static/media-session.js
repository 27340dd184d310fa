// Real-time media of a session page: camera and microphone to the server, the mix of the
// others back, and the others' video in their tiles. The page offers one audio m-line, its
// camera, and SLOTS receive-only video m-lines; the server says in `media.slots` which
// participant each slot shows, and reports everyone's network as `media.network`.
import { t } from "./i18n.js";

const SLOTS = 4;
const VIDEO_STYLE = "position:absolute;inset:0;width:100%;height:100%;object-fit:cover;z-index:0";
const GATHER_MS = 300;

// The devices the page may use: both if possible, else whichever one works (a missing
// camera must not cost the voice). `checked` is the page's device check result or null.
async function takeDevices(checked, onError) {
  const found = checked || {};
  // Raw audio: the server mixes; the browser's processing would colour known tones.
  const audio = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };
  const video = { width: 640, height: 480 };
  const wanted = [
    { audio, video },
    { audio, video: false },
    { audio: false, video },
  ].filter(
    (c) => (!c.audio || found.microphone === undefined || found.microphone === "ok") &&
      (!c.video || found.camera === undefined || found.camera === "ok"),
  );
  let failure = null;
  for (const constraints of wanted) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch (error) {
      failure = failure || error;
    }
  }
  // A device check on the page has already told the person what is missing.
  if (failure && !checked) {
    onError(Object.assign(new Error(t("media.deviceError", { reason: failure.name })), { code: "device" }));
  }
  return null;
}

// The peer connection with the devices in it and its offer set, ICE candidates gathered
// (host candidates come at once; at most GATHER_MS is waited for the rest): the offer
// carries them, so the server checks the path without waiting for trickled ones.
// `takeOffer()` returns the offer with the candidates gathered by then; candidates found
// later are kept in `late` for after the answer. (Sending the offer before gathering had
// finished was tried: the server, with no candidate of the page, then learns the path
// from the page's check and completes ICE a round trip and a half later.)
async function buildPeer({ slots, checked, onError, local = null }) {
  local = local || (await takeDevices(checked, onError));
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle" });
  const microphone = local?.getAudioTracks()[0];
  const camera = local?.getVideoTracks()[0];
  pc.addTransceiver(microphone || "audio", { direction: microphone ? "sendrecv" : "recvonly" });
  const cameraSender = camera ? pc.addTransceiver(camera, { direction: "sendonly" }).sender : null;
  for (let i = 0; i < slots; i += 1) pc.addTransceiver("video", { direction: "recvonly" });
  const late = [];
  let taken = false;
  pc.onicecandidate = (event) => {
    if (taken && event.candidate?.candidate) late.push(event.candidate);
  };
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== "complete") {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, GATHER_MS);
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }
  const takeOffer = () => {
    taken = true;
    return pc.localDescription.sdp;
  };
  return { local, pc, cameraSender, takeOffer, late };
}

// Stops what a prepared peer holds (the join it was made for was refused): the camera
// and microphone are released at once.
export async function discardPrepared(prepared) {
  const ready = await prepared?.catch(() => null);
  ready?.pc.close();
  for (const track of ready?.local?.getTracks() || []) track.stop();
}

// Starts taking the devices and building the offer while the join request is on its
// way: the page hands the result to MediaSession as `prepared`, which sends the offer as
// soon as the socket is open instead of after the join reply, the socket and the room.
export function prepareMedia({ slots = SLOTS, devices = () => null, onError = () => {} } = {}) {
  return buildPeer({ slots, checked: devices(), onError });
}

export class MediaSession {
  // Construct it after the page's own "room" listener: it decorates the tiles that
  // renderStage has just drawn.
  // `devices()` returns the page's device check ({ microphone, camera }: "ok" or the
  // problem), or null before it has run: devices it found unusable are not asked for.
  // `prepared`: what prepareMedia started before the page joined; its offer goes out as
  // soon as the socket opens.
  constructor(client, stage, { slots = SLOTS, onError = () => {}, devices = () => null, prepared = null } = {}) {
    this.client = client;
    this.stage = stage;
    this.slots = slots;
    this.onError = onError;
    this.checked = devices;
    this.prepared = prepared;
    this.pc = null;
    this.local = null;
    this.started = false;
    this.slotStreams = new Map(); // mid -> MediaStream
    this.slotSources = {}; // mid -> participant id
    this.videos = new Map(); // key -> <video>, kept across re-renders
    this.network = {}; // participant id -> last media.network data
    this.audio = document.createElement("audio");
    this.audio.autoplay = true;
    this.audio.hidden = true;
    document.body.append(this.audio);
    client.addEventListener("connection", (event) => {
      if (event.detail.state === "open" && this.prepared && !this.started) this.begin();
    });
    client.addEventListener("moved", () => this.renegotiate());
    client.addEventListener("room", () => this.onRoom());
    client.addEventListener("event", (event) => this.onEvent(event.detail));
  }

  onRoom() {
    const room = this.client.room;
    if (!room || !this.client.me) return;
    if (room.state === "ended") {
      this.stop();
      return;
    }
    if (!this.started && room.participants[this.client.me.participant_id]?.present) this.begin();
    this.syncCamera();
    this.decorate();
  }

  begin() {
    this.started = true;
    // A renegotiation asked meanwhile (media.renegotiate) waits for this first offer.
    this.renegotiating = this.start().catch((error) => this.onError(error));
  }

  // Camera off (by me or by the host) stops what this page sends, not only the tile:
  // the track is disabled and taken off its sender; turned on, it is put back.
  syncCamera() {
    const mine = this.client.room?.participants[this.client.me?.participant_id];
    const on = !mine || mine.video_on;
    const camera = this.local?.getVideoTracks()[0];
    if (!camera) return;
    camera.enabled = on;
    const outgoing = this.outgoingCamera();
    const sender = this.cameraSender;
    if (sender && sender.track !== (on ? outgoing : null)) {
      sender.replaceTrack(on ? outgoing : null).catch(() => {});
    }
  }

  // A filter of the camera before it is sent (美颜, see beauty.js): `factory(camera)`
  // returns an object with the filtered `track` and `stop()`; null sends the camera as it is.
  setCameraFilter(factory) {
    this.filterFactory = factory;
    this.filtered?.stop();
    this.filtered = null;
    this.syncCamera();
    this.decorate();
  }

  // The camera track as sent (and previewed): filtered when a filter is set.
  outgoingCamera() {
    const camera = this.local?.getVideoTracks()[0];
    if (!camera || !this.filterFactory) return camera;
    if (!this.filtered || this.filtered.camera !== camera) {
      this.filtered?.stop();
      this.filtered = this.filterFactory(camera);
      this.filtered.preview = new MediaStream([this.filtered.track]);
    }
    return this.filtered.track;
  }

  onEvent({ type, data }) {
    if (type === "media.slots" && data.participant === this.client.me?.participant_id) {
      this.slotSources = data.slots;
      this.decorate();
    } else if (type === "media.renegotiate" && data.owner !== this.mediaOwner) {
      this.renegotiate(data.owner); // the room moved to another server process
    } else if (type === "media.network") {
      this.network[data.participant] = data;
      this.decorate();
    }
  }

  // Take the devices again and renegotiate (after a device check found one): the server
  // replaces this participant's peer with the new offer.
  async restart() {
    if (!this.started || !this.pc) return;
    const local = this.local;
    const had = { audio: !!local?.getAudioTracks().length, video: !!local?.getVideoTracks().length };
    const checked = this.checked() || {};
    const gains = (checked.microphone === "ok" && !had.audio) || (checked.camera === "ok" && !had.video);
    if (!gains) return;
    for (const track of local?.getTracks() || []) track.stop();
    this.local = null;
    const pc = this.pc;
    this.pc = null;
    pc.close();
    this.slotStreams.clear();
    await this.start().catch((error) => this.onError(error));
  }

  // The room moved to another server process: offer the same devices there (the old
  // peer connection led to a process that is gone). `owner`: the process the room named
  // (once answered by it, nothing more to do); one renegotiation at a time.
  renegotiate(owner = null) {
    this.renegotiating = (this.renegotiating || Promise.resolve()).then(async () => {
      if (!this.started || !this.pc) return;
      if (owner && owner === this.mediaOwner) return;
      const pc = this.pc;
      this.pc = null;
      pc.close();
      this.slotStreams.clear();
      await this.start().catch((error) => this.onError(error));
    });
    return this.renegotiating;
  }

  async start() {
    const prepared = this.prepared;
    this.prepared = null;
    const built = await (prepared ||
      buildPeer({ slots: this.slots, checked: this.checked(), onError: this.onError, local: this.local }));
    const { pc, late } = built;
    const offer = built.takeOffer();
    this.local = built.local;
    this.cameraSender = built.cameraSender;
    this.pc = pc;
    this.syncCamera(); // the filtered camera (美颜) from the first frame on
    pc.ontrack = (event) => {
      if (event.track.kind === "audio") {
        this.audio.srcObject = new MediaStream([event.track]);
        this.audio.play().catch(() => {});
      } else {
        this.slotStreams.set(event.transceiver.mid, new MediaStream([event.track]));
        this.decorate();
      }
    };
    // Candidates found after the offer wait for the server's answer.
    let answered = false;
    const sendCandidate = (c) =>
      this.client
        .send("media.candidate", { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex })
        .catch(() => {});
    pc.onicecandidate = (event) => {
      if (!event.candidate || !event.candidate.candidate) return;
      if (answered) sendCandidate(event.candidate);
      else late.push(event.candidate);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") performance.mark("media:connected");
      if (pc.connectionState === "failed" && this.pc === pc) {
        pc.close();
        setTimeout(() => this.start().catch((error) => this.onError(error)), 1000);
      }
    };
    performance.mark("media:offer");
    const answer = await this.client.send("media.offer", { type: "offer", sdp: offer });
    this.mediaOwner = answer.owner || null;
    performance.mark("media:answer");
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    answered = true;
    for (const candidate of late) sendCandidate(candidate);
    this.syncCamera(); // a rejoin with the camera still off sends nothing from the start
    this.decorate();
  }

  stop() {
    if (this.prepared) discardPrepared(this.prepared);
    this.prepared = null;
    this.pc?.close();
    this.pc = null;
    this.filtered?.stop();
    this.filtered = null;
    for (const track of this.local?.getTracks() || []) track.stop();
    this.local = null;
  }

  video(key, stream, mirrored) {
    let element = this.videos.get(key);
    if (!element) {
      element = document.createElement("video");
      element.autoplay = true;
      element.muted = true; // sound comes from the server's mix, not per tile
      element.playsInline = true;
      element.style.cssText = VIDEO_STYLE + (mirrored ? ";transform:scaleX(-1)" : "");
      if (key !== "me") element.addEventListener("playing", () => performance.mark("media:video"), { once: true });
      this.videos.set(key, element);
    }
    if (element.srcObject !== stream) element.srcObject = stream;
    return element;
  }

  // Puts video and the network grade into the tiles renderStage drew.
  decorate() {
    const me = this.client.me?.participant_id;
    const participants = this.client.room?.participants || {};
    for (const tile of this.stage.querySelectorAll(".tile[data-participant]")) {
      const id = tile.dataset.participant;
      let stream = null;
      if (participants[id] && !participants[id].video_on) stream = null; // 摄像头已关: no picture
      else if (id === me) {
        this.outgoingCamera();
        stream = this.local?.getVideoTracks().length ? this.filtered?.preview || this.local : null;
      }
      else {
        const mid = Object.keys(this.slotSources).find((m) => this.slotSources[m] === id);
        stream = mid !== undefined ? this.slotStreams.get(mid) : null;
      }
      const existing = tile.querySelector("video");
      if (stream) {
        const element = this.video(id === me ? "me" : id, stream, id === me);
        if (existing !== element) {
          existing?.remove();
          tile.style.position = tile.style.position || "relative";
          tile.prepend(element);
          element.play().catch(() => {});
        }
      } else existing?.remove();
      const network = this.network[id];
      let badge = tile.querySelector(".network");
      if (network) {
        if (!badge) {
          badge = document.createElement("span");
          badge.className = "network badge";
          badge.style.cssText = "position:absolute;top:6px;right:6px;z-index:1";
          tile.append(badge);
        }
        badge.dataset.quality = network.quality;
        badge.textContent = t(`media.network.${network.quality}`);
        badge.title = t("media.networkDetail", {
          rtt: network.rtt_ms ?? "-",
          jitter: network.jitter_ms,
          loss: Math.round(network.loss * 1000) / 10,
        });
      } else badge?.remove();
    }
    const mine = me && this.network[me];
    const indicator = document.querySelector("#network");
    if (indicator && mine) {
      indicator.hidden = false;
      indicator.dataset.quality = mine.quality;
      indicator.textContent = t(`media.network.${mine.quality}`);
    }
  }
}
