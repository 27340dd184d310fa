"""``zhanye-modem-sim``: a simulated USB GSM/TD desk phone on a pty or TCP socket.

Run it, point the driver (or the example) at the path or URL it prints, and type
control lines (``call 13800138000``, ``sms 13800138000 你好``, ``unplug`` …; ``help``)
on stdin or send them to the control port.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading

from zhanye_sdk.devices.simulator.control import apply_command
from zhanye_sdk.devices.simulator.modem import PROFILES, ModemSimulator, SentSms
from zhanye_sdk.devices.simulator.servers import PtyServer, TcpServer


def _control_server(sim: ModemSimulator, port: int) -> None:
    listener = socket.create_server(("127.0.0.1", port))
    print(f"control: 127.0.0.1:{listener.getsockname()[1]}", flush=True)

    def serve(conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as f:
            for raw in f:
                reply = apply_command(sim, raw.decode("utf-8", "replace"))
                f.write(reply.encode() + b"\n")
                f.flush()

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``zhanye-modem-sim``."""
    parser = argparse.ArgumentParser(prog="zhanye-modem-sim", description=__doc__)
    parser.add_argument("--tcp", type=int, metavar="PORT", help="serve on 127.0.0.1:PORT")
    parser.add_argument("--link", help="stable symlink path for the pty (default: temp)")
    parser.add_argument("--profile", default="generic", choices=sorted(PROFILES))
    parser.add_argument("--control-port", type=int, help="control socket on 127.0.0.1")
    parser.add_argument("--ring-interval", type=float, default=3.0)
    args = parser.parse_args(argv)

    sim = ModemSimulator(args.profile, ring_interval=args.ring_interval)

    def show(sent: SentSms) -> None:
        part = f" part {sent.concat.part}/{sent.concat.parts}" if sent.concat else ""
        print(
            f"[sent #{sent.message_reference}{part}] to {sent.recipient}: {sent.text}", flush=True
        )

    sim.on_sent = show
    server: PtyServer | TcpServer
    server = (
        TcpServer(sim, port=args.tcp) if args.tcp is not None else PtyServer(sim, link=args.link)
    )
    with server:
        print(f"modem: {server.url}  (profile {sim.profile.name})", flush=True)
        if isinstance(server, PtyServer):
            print(f"pty:   {server.slave_path}", flush=True)
        if args.control_port is not None:
            threading.Thread(
                target=_control_server, args=(sim, args.control_port), daemon=True
            ).start()
        print("type 'help' for commands", flush=True)
        try:
            for line in sys.stdin:
                reply = apply_command(sim, line)
                if reply:
                    print(reply, flush=True)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
