"""Several web host processes (``python -m hosts.web --redis …``) on one PostgreSQL and
one Redis, with HAProxy in front: the harness the scale-out tests share."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), 0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not start")


class Hosts:
    """Host processes by node id, and HAProxy in front of them."""

    def __init__(self, tmp: Path, db_url: str, redis_url: str) -> None:
        self.tmp, self.db_url, self.redis_url = tmp, db_url, redis_url
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}
        self.proxy: subprocess.Popen[bytes] | None = None
        self.proxy_port = free_port()
        #: A recordings folder every process shares (None: no recording), and its
        #: segment length (short, so a test sees segments finish).
        self.recordings: Path | None = None
        self.segment_s = 2.0
        #: How long a dropped participant stays in the room, waiting for them to return.
        self.leave_grace_s = 15.0
        #: The module each process runs (a test may wrap ``hosts.web``), and extra
        #: environment variables for it.
        self.module = "hosts.web"
        self.env: dict[str, str] = {}

    def start(self, node: str) -> None:
        port = free_port()
        log = (self.tmp / f"{node}.log").open("wb")
        self.processes[node] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                self.module,
                "--db",
                self.db_url,
                "--redis",
                self.redis_url,
                "--node-id",
                node,
                "--port",
                str(port),
                "--no-asr",
                "--recordings",
                str(self.recordings or ""),
                "--recording-segment-s",
                str(self.segment_s),
                "--leave-grace-s",
                str(self.leave_grace_s),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
        )
        self.ports[node] = port

    def start_serving(self, *nodes: str) -> None:
        """Start ``nodes`` and wait until each accepts connections."""
        for node in nodes:
            self.start(node)
        for node in nodes:
            wait_http(self.url(node))

    def url(self, node: str) -> str:
        """One process directly, past the proxy (to place a socket on it)."""
        return f"http://127.0.0.1:{self.ports[node]}"

    def start_proxy(self, balance: str = "uri") -> None:
        """HAProxy: by default a session's sockets go by the hash of their path
        (``balance="roundrobin"`` spreads them: any process serves any socket); health
        checks take a dead process out."""
        servers = "\n".join(
            f"    server {node} 127.0.0.1:{port} check inter 300 fall 2 rise 2"
            for node, port in self.ports.items()
        )
        config = self.tmp / "haproxy.cfg"
        config.write_text(
            f"""global
    maxconn 256
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 60s
    # A loaded machine answers a health check late, not never: a process is taken out
    # (and its connections with it) only when it fails two checks of 2 s.
    timeout check 2s
frontend web
    bind 127.0.0.1:{self.proxy_port}
    default_backend hosts
backend hosts
    balance {balance}
    hash-type consistent
    option httpchk GET /
    # A process found dead or frozen loses its connections: its clients reconnect to
    # a live one (a frozen process would otherwise hold them forever).
    default-server on-marked-down shutdown-sessions
    http-response set-header X-Served-By %s
{servers}
"""
        )
        self.proxy = subprocess.Popen(
            ["haproxy", "-f", str(config), "-db"],
            stdout=(self.tmp / "haproxy.log").open("wb"),
            stderr=subprocess.STDOUT,
        )

    def pause(self, node: str) -> None:
        """Stop the world for a process (SIGSTOP): a long GC pause, swapping."""
        self.processes[node].send_signal(signal.SIGSTOP)

    def resume(self, node: str) -> None:
        """Let a paused process go on (SIGCONT)."""
        self.processes[node].send_signal(signal.SIGCONT)

    def kill(self, node: str) -> None:
        self.processes[node].send_signal(signal.SIGKILL)
        self.processes[node].wait(timeout=10)

    def stop(self) -> None:
        """Stop every process at once (as a fleet is stopped), then wait for each."""
        running = [p for p in [*self.processes.values(), self.proxy] if p and p.poll() is None]
        for process in running:
            process.terminate()
        for process in running:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
