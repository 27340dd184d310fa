// The account socket: tells a staff page at once that its login ended, and why
// (kicked out, disabled, deleted, logged out, expired). The token travels in the
// handshake's subprotocol, never in the URL.

export function watchAccount(loginToken, onEnded) {
  let retry = 0;
  let stopped = false;
  let heartbeat = null;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const open = () => {
    const socket = new WebSocket(`${scheme}://${location.host}/ws/account`, ["zhanye.v1", `bearer.${loginToken}`]);
    socket.addEventListener("open", () => {
      retry = 0;
      clearInterval(heartbeat);
      heartbeat = setInterval(() => {
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ v: 1, type: "session.ping", id: "ping", data: {} }));
      }, 15000);
    });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "account.login_ended") {
        stopped = true;
        onEnded(frame.data);
      }
    });
    socket.addEventListener("close", (event) => {
      clearInterval(heartbeat);
      if (stopped) return;
      if (event.code === 4401 || event.code === 4403) {
        stopped = true;
        onEnded({ reason: event.reason && event.code === 4403 ? event.reason : "revoked" });
        return;
      }
      setTimeout(open, Math.min(15000, 1000 * 2 ** retry++));
    });
  };
  open();
  return { stop: () => { stopped = true; } };
}
