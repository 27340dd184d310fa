// Real-time media of a session page: camera and microphone to the server, the mix of the
// others back, and the others' video in their tiles. The page offers one audio m-line, its
// camera, and SLOTS receive-only video m-lines; the server says in `media.slots` which
// participant each slot shows, and reports everyone's network as `media.network`.
import { t } from "./i18n.js";

const SLOTS = 4;
const VIDEO_STYLE = "position:absolute;inset:0;width:100%;height:100%;object-fit:cover;z-index:0";

export class MediaSession {
  // Construct it after the page's own "room" listener: it decorates the tiles that
  // renderStage has just drawn.
  // `devices()` returns the page's device check ({ microphone, camera }: "ok" or the
  // problem), or null before it has run: devices it found unusable are not asked for.
  constructor(client, stage, { slots = SLOTS, onError = () => {}, devices = () => null } = {}) {
    this.client = client;
    this.stage = stage;
    this.slots = slots;
    this.onError = onError;
    this.checked = devices;
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
    if (!this.started && room.participants[this.client.me.participant_id]?.present) {
      this.started = true;
      this.start().catch((error) => this.onError(error));
    }
    this.syncCamera();
    this.decorate();
  }

  // Camera off (by me or by the host) stops what this page sends, not only the tile:
  // the track is disabled and taken off its sender; turned on, it is put back.
  syncCamera() {
    const mine = this.client.room?.participants[this.client.me?.participant_id];
    const on = !mine || mine.video_on;
    const camera = this.local?.getVideoTracks()[0];
    if (!camera) return;
    camera.enabled = on;
    const sender = this.cameraSender;
    if (sender && sender.track !== (on ? camera : null)) {
      sender.replaceTrack(on ? camera : null).catch(() => {});
    }
  }

  onEvent({ type, data }) {
    if (type === "media.slots" && data.participant === this.client.me?.participant_id) {
      this.slotSources = data.slots;
      this.decorate();
    } else if (type === "media.network") {
      this.network[data.participant] = data;
      this.decorate();
    }
  }

  async devices() {
    const checked = this.checked() || {};
    // Raw audio: the server mixes; the browser's processing would colour known tones.
    const audio = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };
    const video = { width: 640, height: 480 };
    const wanted = [
      { audio, video },
      { audio, video: false },
      { audio: false, video },
    ].filter(
      (c) => (!c.audio || checked.microphone === undefined || checked.microphone === "ok") &&
        (!c.video || checked.camera === undefined || checked.camera === "ok"),
    );
    let failure = null;
    // Both if possible, else whichever one works: a missing camera must not cost the voice.
    for (const constraints of wanted) {
      try {
        return await navigator.mediaDevices.getUserMedia(constraints);
      } catch (error) {
        failure = failure || error;
      }
    }
    // A device check on the page has already told the person what is missing.
    if (failure && !this.checked()) {
      this.onError(Object.assign(new Error(t("media.deviceError", { reason: failure.name })), { code: "device" }));
    }
    return null;
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

  async start() {
    this.local = this.local || (await this.devices());
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle" });
    this.pc = pc;
    const microphone = this.local?.getAudioTracks()[0];
    const camera = this.local?.getVideoTracks()[0];
    pc.addTransceiver(microphone || "audio", { direction: microphone ? "sendrecv" : "recvonly" });
    this.cameraSender = camera ? pc.addTransceiver(camera, { direction: "sendonly" }).sender : null;
    for (let i = 0; i < this.slots; i += 1) pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (event) => {
      if (event.track.kind === "audio") {
        this.audio.srcObject = new MediaStream([event.track]);
        this.audio.play().catch(() => {});
      } else {
        this.slotStreams.set(event.transceiver.mid, new MediaStream([event.track]));
        this.decorate();
      }
    };
    // Candidates found before the server has the offer wait for its answer.
    const early = [];
    let answered = false;
    const sendCandidate = (c) =>
      this.client
        .send("media.candidate", { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex })
        .catch(() => {});
    pc.onicecandidate = (event) => {
      if (!event.candidate || !event.candidate.candidate) return;
      if (answered) sendCandidate(event.candidate);
      else early.push(event.candidate);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed" && this.pc === pc) {
        pc.close();
        setTimeout(() => this.start().catch((error) => this.onError(error)), 1000);
      }
    };
    await pc.setLocalDescription(await pc.createOffer());
    const answer = await this.client.send("media.offer", { type: "offer", sdp: pc.localDescription.sdp });
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    answered = true;
    for (const candidate of early) sendCandidate(candidate);
    this.syncCamera(); // a rejoin with the camera still off sends nothing from the start
    this.decorate();
  }

  stop() {
    this.pc?.close();
    this.pc = null;
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
      else if (id === me) stream = this.local?.getVideoTracks().length ? this.local : null;
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
