"""What a process loads once at start stays out of the garbage collector's full passes: a
full pass runs on the event loop, and one over pypinyin's tables (about 190,000 objects)
stalled every room's tick for 60 ms."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import gc, sys
import anyio
from zhanye_sdk import Deployment, DeploymentConfig
from zhanye_sdk.media.service import MediaConfig
from zhanye_sdk.sop import pinyin

async def main():
    config = DeploymentConfig(
        database_url=f"sqlite:///{sys.argv[1]}/heap.db",
        public_url="https://zy.example.com",
        media=MediaConfig(ice_host_addresses=("127.0.0.1",), loopback_only=True),
    )
    async with Deployment.open(config):
        with anyio.fail_after(60):
            while not pinyin.readings.cache_info().currsize:
                await anyio.sleep(0.05)
        await anyio.sleep(0.5)  # the warm-up's thread hands back to the loop
        print(len(gc.get_objects()), gc.get_freeze_count())

anyio.run(main)
"""


def test_the_pinyin_tables_loaded_at_start_are_not_scanned(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    scanned, frozen = map(int, done.stdout.split()[-2:])
    # The tables alone are about 190,000 objects: they are frozen, not scanned.
    assert frozen > 190_000 and scanned < 100_000, (scanned, frozen)
