"""The kiosk program seeds its sample rooms only in demo mode: a real desk starts with
no rooms or tables but those the shop adds (they used to come back on every start)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .webhost import free_port

ROOT = Path(__file__).resolve().parents[1]


def _resources(folder: Path, *extra: str) -> list[str]:
    """The room and table names a freshly started kiosk (in ``folder``) offers."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env.pop("ZHANYE_DESK_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "hosts.kiosk", "--port", str(port), "--token", "t" * 20, *extra],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        end = time.monotonic() + 60
        while True:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/desk/resources",
                headers={"Authorization": "Bearer " + "t" * 20},
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    return [r["name"] for r in json.load(answer)["items"]]
            except OSError:
                if time.monotonic() > end or process.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.e2e
def test_sample_rooms_only_on_the_demo_desk(tmp_path: Path) -> None:
    real = tmp_path / "shop"
    real.mkdir()
    assert _resources(real) == []
    assert _resources(real) == []  # and not on a restart either
    demo = tmp_path / "demo"
    demo.mkdir()
    assert _resources(demo, "--demo") == ["1号桌", "牡丹厅"]
