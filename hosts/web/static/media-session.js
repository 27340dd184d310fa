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

// The peer connection with its offer set, ICE candidates gathered (host candidates come
// at once; at most GATHER_MS is waited for the rest): the offer carries them, so the server
// checks the path without waiting for trickled ones. `takeOffer()` returns the offer with
// the candidates gathered by then; candidates found later are kept in `late` for after
// the answer. (Sending the offer before gathering had finished was tried: the server, with
// no candidate of the page, then learns the path from the page's check and completes ICE
// a round trip and a half later.) `local`: the devices, in the offer from the start; or
// `deferred`: no devices yet, an audio line that sends and a camera line, which `attach()`
// fills later without a new offer (the offer is made while the customer reads the form,
// before the camera may be turned on, and goes out with the join).
async function buildPeer({ slots, checked, onError, local = null, deferred = false }) {
  local = local || (deferred ? null : await takeDevices(checked, onError));
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle" });
  const microphone = local?.getAudioTracks()[0];
  const camera = local?.getVideoTracks()[0];
  const audioSender = pc.addTransceiver(microphone || "audio", {
    direction: microphone || deferred ? "sendrecv" : "recvonly",
  }).sender;
  const cameraSender =
    camera || deferred ? pc.addTransceiver(camera || "video", { direction: "sendonly" }).sender : null;
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
  const built = { local, pc, cameraSender, late, devices: null };
  built.takeOffer = () => {
    taken = true;
    return pc.localDescription.sdp;
  };
  // Deferred: takes the devices and puts the microphone on its line (the camera goes
  // out through MediaSession.syncCamera: camera off and 美颜 apply from its first frame).
  built.attach = (devices, onDeviceError) => {
    built.devices ??= takeDevices(devices, onDeviceError).then(async (taken) => {
      built.local = taken;
      const mic = taken?.getAudioTracks()[0];
      // A peer closed meanwhile (the join was refused) takes no track; the devices are
      // still handed back, for discardPrepared to release.
      if (mic && pc.signalingState !== "closed") await audioSender.replaceTrack(mic).catch(() => {});
      return taken;
    });
    return built.devices;
  };
  return built;
}

// Stops what a prepared peer holds (the join it was made for was refused): the camera
// and microphone are released at once.
export async function discardPrepared(prepared) {
  const ready = await prepared?.catch(() => null);
  ready?.pc.close();
  const local = ready?.devices ? await ready.devices.catch(() => null) : ready?.local;
  for (const track of local?.getTracks() || []) track.stop();
}

// Starts taking the devices and building the offer while the join request is on its
// way: the page hands the result to MediaSession as `prepared`, which sends the offer as
// soon as the socket is open instead of after the join reply, the socket and the room.
export function prepareMedia({ slots = SLOTS, devices = () => null, onError = () => {} } = {}) {
  return buildPeer({ slots, checked: devices(), onError });
}

// The customer's peer made while the form shows, its offer ready to go with the join;
// no device is taken until `attach()` (see buildPeer).
export function preparePeer({ slots = SLOTS } = {}) {
  return buildPeer({ slots, deferred: true });
}

export class MediaSession {
  // Construct it after the page's own "room" listener: it decorates the tiles that
  // renderStage has just drawn.
  // `devices()` returns the page's device check ({ microphone, camera }: "ok" or the
  // problem), or null before it has run: devices it found unusable are not asked for.
  // `prepared`: what prepareMedia (or preparePeer) started before the page joined; its
  // offer goes out as soon as the socket opens, or `answered`: the server's answer to it,
  // which came with the seat (the media starts at once, before the socket is open).
  constructor(
    client,
    stage,
    { slots = SLOTS, onError = () => {}, devices = () => null, prepared = null, answered = null } = {},
  ) {
    this.client = client;
    this.stage = stage;
    this.slots = slots;
    this.onError = onError;
    this.checked = devices;
    this.prepared = prepared;
    this.answered = prepared ? answered : null;
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
    if (this.answered) this.begin();
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
    } else if (type === "media.renegotiate" && data.participant) {
      // Back after leaving (away past the grace), or this peer failed at the server: the
      // server closed it.
      if (data.participant === this.client.me?.participant_id) this.renegotiate();
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
    await this.devicesPending; // a check that ends while the devices are being taken
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
    const answered = this.answered;
    this.prepared = null;
    this.answered = null;
    const built = await (prepared ||
      buildPeer({ slots: this.slots, checked: this.checked(), onError: this.onError, local: this.local }));
    const { pc, late } = built;
    this.local = built.local;
    this.cameraSender = built.cameraSender;
    this.pc = pc;
    // Deferred devices (taken with the join) join the peer when they come.
    this.devicesPending = built.devices?.then((local) => {
      if (this.pc !== pc) {
        for (const track of local?.getTracks() || []) track.stop(); // stopped or replaced meanwhile
        return;
      }
      this.local = local;
      this.syncCamera();
      this.decorate();
    });
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
    // Candidates found after the offer wait for the server's answer (and the socket).
    let answeredYet = false;
    const sendCandidate = (c) =>
      this.opened()
        .then(() =>
          this.client.send("media.candidate", { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex }),
        )
        .catch(() => {});
    pc.onicecandidate = (event) => {
      if (!event.candidate || !event.candidate.candidate) return;
      if (answeredYet) sendCandidate(event.candidate);
      else late.push(event.candidate);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") performance.mark("media:connected");
      if (pc.connectionState === "failed" && this.pc === pc) {
        // Offered again in 1 s, unless the server asked first (media.renegotiate): one
        // new peer either way, and the failed one closed.
        setTimeout(() => this.pc === pc && this.renegotiate(), 1000);
      }
    };
    let answer = answered;
    if (!answer) {
      const offer = built.takeOffer();
      performance.mark("media:offer");
      answer = await this.client.send("media.offer", { type: "offer", sdp: offer });
    }
    this.mediaOwner = answer.owner || null;
    performance.mark("media:answer");
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    answeredYet = true;
    for (const candidate of late) sendCandidate(candidate);
    this.syncCamera(); // a rejoin with the camera still off sends nothing from the start
    this.decorate();
  }

  // Resolves once the socket is open (at once when it is).
  opened() {
    if (this.client.socket?.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve) => {
      const onOpen = (event) => {
        if (event.detail.state !== "open") return;
        this.client.removeEventListener("connection", onOpen);
        resolve();
      };
      this.client.addEventListener("connection", onOpen);
    });
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
