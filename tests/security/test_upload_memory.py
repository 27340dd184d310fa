"""Memory exhaustion through large uploads, from the attacker's side.

Attacks covered:
- a logged-in staff member uploads a 200 MB video: the host streams it from the file the
  body was spooled to into the store, hashing as it copies, so its peak memory grows by a
  small fraction of the file, not by the file (a few such uploads at once would otherwise
  exhaust the server); the stored blob is byte-identical to what was sent.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from ..webhost import free_port
from .upload_host import PASSWORD

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
UPLOAD_BYTES = 200 * MIB


def box(kind: bytes, body: bytes) -> bytes:
    return (8 + len(body)).to_bytes(4, "big") + kind + body


def large_mp4(path: Path, size: int) -> None:
    """An MP4 of ``size`` bytes: ftyp, a movie header with a video track, then one large
    media box (sparse: the file costs no disk blocks for its zeros)."""
    hdlr = box(b"hdlr", b"\0" * 8 + b"vide" + b"\0" * 12 + b"video\0")
    head = box(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41") + box(
        b"moov", box(b"trak", box(b"mdia", hdlr))
    )
    media = size - len(head)
    with path.open("wb") as out:
        out.write(head)
        out.write(media.to_bytes(4, "big") + b"mdat")
        # Something that is not zeros at the end: a copy that lost a piece would differ.
        out.truncate(size - 32)
        out.seek(size - 32)
        out.write(hashlib.sha256(b"the end").digest())


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while piece := source.read(MIB):
            digest.update(piece)
    return digest.hexdigest()


def post(port: int, path: str, body: Any, size: int, headers: dict[str, str]) -> tuple[int, Any]:
    """POST ``body`` (bytes or a file, streamed) to the host; (status, JSON answer)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request(
            "POST", path, body=body, headers={**headers, "Content-Length": str(size)}
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.security.upload_host", str(tmp_path), str(port)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        yield port, process.pid, tmp_path
    finally:
        process.terminate()
        process.wait(20)


def test_a_200_mb_upload_does_not_take_200_mb_of_the_servers_memory(
    host: tuple[int, int, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    port, pid, folder = host
    video = tmp_path_factory.mktemp("upload") / "large.mp4"
    large_mp4(video, UPLOAD_BYTES)
    credentials = json.dumps({"login": "ca-upload", "password": PASSWORD}).encode()
    json_type = {"Content-Type": "application/json"}
    status, login = post(port, "/api/login", credentials, len(credentials), json_type)
    assert status == 200, login
    auth = {"Authorization": f"Bearer {login['token']}"}
    upload = "/api/materials/upload?" + urlencode({"name": "大视频", "kind": "video"})
    # Warm up: the first upload's code paths and buffers are not what is measured.
    head = video.read_bytes()[:4096]
    status, _ = post(port, upload, head, len(head), auth)
    assert status == 400  # cut short: its media box runs past the end
    before = peak_rss_kib(pid)
    started = time.monotonic()
    with video.open("rb") as body:
        status, material = post(port, upload, body, UPLOAD_BYTES, auth)
    assert status == 201, material
    growth_mib = (peak_rss_kib(pid) - before) / 1024
    assert growth_mib < 48, (
        f"peak memory grew by {growth_mib:.0f} MiB for a {UPLOAD_BYTES // MIB} MiB upload "
        f"({time.monotonic() - started:.1f} s)"
    )
    assert material["size"] == UPLOAD_BYTES
    stored = next((folder / "web.db.materials").rglob("*.blob"))
    assert stored.stat().st_size == UPLOAD_BYTES
    assert file_sha256(stored) == file_sha256(video) == stored.name.removesuffix(".blob")
