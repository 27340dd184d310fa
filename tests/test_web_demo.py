"""`make demo`'s main job: the web host seeded with demo data, SMS through a simulated phone."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from .webhost import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]


def request(url: str, body: object = None, token: str | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read())


def test_demo_host_serves_demo_accounts_and_texts_invites_through_the_simulated_phone(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hosts.web",
            "--demo",
            "--db",
            f"sqlite:///{tmp_path}/demo.db",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()  # type: ignore[union-attr]

    def wait_for(text: str, seconds: float = 90) -> str:
        deadline = time.monotonic() + seconds
        seen = []
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                if process.poll() is not None:
                    break
                continue
            seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"never printed {text!r}; output was:\n{''.join(seen)}")

    try:
        wait_for("demo-sales")
        wait_for(f"zhanye web host on http://127.0.0.1:{port}/")
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/login", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        login = request(f"{base}/api/login", {"login": "demo-sales", "password": "sales1234"})
        token = login["token"]
        session = request(f"{base}/api/sessions", {}, token)
        sent = request(
            f"{base}/api/sessions/{session['id']}/sms-invites", {"numbers": ["13800138000"]}, token
        )
        assert sent["sent"][0]["status"] in ("queued", "sending", "sent")
        line = wait_for("[simulated phone] SMS to 13800138000")
        assert session["meeting_number"] in line or "邀请" in line

        # A customer joins with audio and video (the app host, a real WebRTC peer on
        # loopback); when the salesperson ends the session, its recording is ready and
        # verifies against its hash chain.
        sid = session["id"]
        invite = request(f"{base}/api/sessions/{sid}/invite-link", {}, token)
        customer = [sys.executable, "-m", "hosts.app", "join", base + invite["path"]]
        options = ["--name", "客户王女士", "--tone", "700", "--seconds", "4", "--loopback"]
        subprocess.run(customer + options, cwd=tmp_path, env=env, timeout=90, check=True)
        request(f"{base}/api/sessions/{sid}/end", {}, token)
        deadline = time.monotonic() + 60
        while True:
            recording = request(f"{base}/api/sessions/{sid}/recording?verify=1", token=token)
            if recording["status"] == "ready" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert recording["status"] == "ready" and recording["verified"], recording
        assert recording["segments"] and (tmp_path / "var" / "recordings" / sid).is_dir()
        record = request(f"{base}/api/records/{sid}", token=token)
        assert record["recording_url"] == f"/sessions/{sid}/playback"
    finally:
        process.terminate()
        process.wait(timeout=30)
