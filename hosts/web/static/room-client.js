// The signaling client shared by the session hall and the customer page: one WebSocket,
// heartbeats, automatic reconnect that resumes from the last sequence number, and a
// local copy of the room kept up to date from the events.

export class RoomClient extends EventTarget {
  constructor(sessionId, credentials) {
    super();
    this.sessionId = sessionId;
    this.credentials = credentials; // { token } for staff, { seat } for customers
    this.seq = null;
    this.me = null;
    this.room = null;
    this.closedByUs = false;
    this.nextId = 0;
    this.pending = new Map();
    this.retry = 0;
  }

  connect() {
    const params = new URLSearchParams();
    if (this.seq !== null) params.set("resume", String(this.seq));
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    // The credential goes in the handshake's subprotocol header, never in the URL.
    const { token, seat } = this.credentials;
    const protocols = ["zhanye.v1", token ? `bearer.${token}` : `seat.${seat}`];
    const socket = new WebSocket(`${scheme}://${location.host}/ws/sessions/${this.sessionId}?${params}`, protocols);
    this.socket = socket;
    this.emit("connection", { state: "connecting" });
    socket.addEventListener("open", () => {
      this.retry = 0;
      this.emit("connection", { state: "open" });
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => this.send("session.ping").catch(() => {}), 15000);
    });
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      clearInterval(this.heartbeat);
      for (const { reject } of this.pending.values()) reject(new Error("connection closed"));
      this.pending.clear();
      if (this.closedByUs || event.code === 4401 || event.code === 4403 || event.code === 1000) {
        this.emit("connection", { state: "closed", code: event.code });
        return;
      }
      this.emit("connection", { state: "reconnecting" });
      const delay = Math.min(8000, 500 * 2 ** this.retry++);
      setTimeout(() => this.connect(), delay);
    });
  }

  close() {
    this.closedByUs = true;
    this.socket?.close();
  }

  // Sends a message; resolves on its ack, rejects with the server's error.
  send(type, data = {}) {
    const id = `m${++this.nextId}`;
    const frame = JSON.stringify({ v: 1, type, id, data });
    return new Promise((resolve, reject) => {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
        reject(Object.assign(new Error("not connected"), { code: "network" }));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.socket.send(frame);
    });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  receive(frame) {
    if (frame.re && this.pending.has(frame.re)) {
      const { resolve, reject } = this.pending.get(frame.re);
      this.pending.delete(frame.re);
      if (frame.type === "error") reject(Object.assign(new Error(frame.data.message), { code: frame.data.code, message_zh: frame.data.message_zh, data: frame.data }));
      else resolve(frame.data);
      return;
    }
    if (frame.type === "session.welcome") {
      // Another server process answered (the room moved after its process died, or the
      // server restarted): it holds none of our media, so the page offers it again.
      const moved = Boolean(this.me?.instance) && frame.data.instance !== this.me.instance;
      this.me = frame.data;
      if (frame.data.heartbeat_s) {
        // The server says how often it wants to hear from us (a third of its idle limit).
        clearInterval(this.heartbeat);
        const every = Math.max(1000, frame.data.heartbeat_s * 1000);
        this.heartbeat = setInterval(() => this.send("session.ping").catch(() => {}), every);
      }
      if (!frame.data.resumed || !this.room) this.room = frame.data.room;
      this.seq = frame.data.resumed ? this.seq : frame.data.seq;
      this.emit("room", this.room);
      if (moved) this.emit("moved", { instance: frame.data.instance });
      return;
    }
    if (frame.type === "error") {
      this.emit("failure", frame.data);
      return;
    }
    if (frame.type === "session.login_ended") {
      // The staff member's login ended (kicked out, logged out…): the page says why.
      this.closedByUs = true;
      this.emit("login_ended", frame.data);
      return;
    }
    if (typeof frame.seq === "number") {
      if (this.seq !== null && frame.seq <= this.seq) return; // already applied
      this.seq = frame.seq;
    }
    this.apply(frame.type, frame.data);
    this.emit("event", { type: frame.type, data: frame.data });
    // Only the room's own events change what the stage and member list show.
    if (frame.type.startsWith("room.")) this.emit("room", this.room);
  }

  // Mirrors the server's room state from its events.
  apply(type, data) {
    const room = this.room;
    if (!room) return;
    const people = room.participants;
    switch (type) {
      case "room.started":
        room.state = "live";
        break;
      case "room.participant_joined":
        people[data.participant.id] = data.participant;
        break;
      case "room.participant_left":
        if (people[data.participant]) people[data.participant].present = false;
        break;
      case "room.audio_changed":
        if (people[data.participant]) {
          const p = people[data.participant];
          p.audio_on = data.on;
          const byHost = data.by === room.host_id && data.participant !== room.host_id;
          p.muted_by_host = !data.on && (byHost || !!p.muted_by_host);
        }
        break;
      case "room.self_unmute_changed":
        room.self_unmute = data.allowed;
        break;
      case "room.video_changed":
        if (people[data.participant]) people[data.participant].video_on = data.on;
        break;
      case "room.main_view_changed":
        if (people[data.viewer]) people[data.viewer].main_view = data.target;
        break;
      case "room.ended":
        room.state = "ended";
        room.end_reason = data.reason;
        for (const p of Object.values(people)) p.present = false;
        break;
      case "room.evaluation_received":
        room.evaluations[data.participant] = [data.score, data.comment];
        break;
      default:
        break;
    }
  }
}
