"""What one document conversion may cost, and running a converter program within it.

An uploaded document is attacker-controlled input to large C/C++ code (LibreOffice,
pdfium). Each conversion runs as a child process in its own session with an address-space
limit (``RLIMIT_AS``), a CPU-time limit (``RLIMIT_CPU``: SIGXCPU, then SIGKILL), no core
dumps, and a wall-clock deadline after which its whole process group is killed. The limits
are set by a small Python shim that then ``exec``s the program, so nothing runs between
``fork`` and ``exec`` in this (threaded) process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

__all__ = ["ConversionLimits", "LimitedRun", "run_limited"]

_MIB = 1024 * 1024


@attrs.frozen(slots=True)
class ConversionLimits:
    """Bounds on one document conversion; the defaults suit a 2-core server.

    Args:
        memory_bytes: address space of the converter process (LibreOffice or pdfium).
        cpu_s: CPU seconds it may use.
        wall_s: seconds it may take in all.
        max_pages: documents with more pages are refused.
        max_page_area_pt2: a page larger than this many square points is refused
            (4 × A0; PDF allows 14,400 × 14,400 pt, which is 26 times that).
        max_total_pixels: the page images of one document together, in pixels.
        max_member_bytes: an Office (zip) document's largest part, inflated.
        max_archive_bytes: all its parts together, inflated.
        max_ratio: how much a part larger than 1 MiB may inflate (size ÷ compressed size).
        max_members: how many parts it may have.
    """

    memory_bytes: int = 2048 * _MIB
    cpu_s: float = 120.0
    wall_s: float = 180.0
    max_pages: int = 300
    max_page_area_pt2: float = 4 * 2384 * 3370
    max_total_pixels: int = 800_000_000
    max_member_bytes: int = 128 * _MIB
    max_archive_bytes: int = 512 * _MIB
    max_ratio: float = 200.0
    max_members: int = 10_000


@attrs.frozen(slots=True)
class LimitedRun:
    """How a limited run ended: exit status (negative: the signal), stderr's tail."""

    returncode: int
    stderr: str
    timed_out: bool

    @property
    def out_of_cpu(self) -> bool:
        """Killed by the CPU-time limit (SIGXCPU at the soft limit, SIGKILL at the hard)."""
        return not self.timed_out and self.returncode in (-signal.SIGXCPU, -signal.SIGKILL)


_SHIM = """
import os, resource, sys
memory, cpu = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
os.execvp(sys.argv[3], sys.argv[3:])
"""


def run_limited(
    command: Sequence[str],
    limits: ConversionLimits,
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
) -> LimitedRun:
    """Run ``command`` within ``limits`` (blocking: call it from a worker thread).

    ``on_line`` sees each line the program writes to stdout, as it comes.

    Raises:
        OSError: the program could not be started.
    """
    shim = [sys.executable, "-I", "-c", _SHIM, str(limits.memory_bytes), str(int(limits.cpu_s))]
    with tempfile.TemporaryFile(dir=cwd) as stderr:
        process = subprocess.Popen(
            [*shim, *command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,  # its own process group, so helpers die with it
        )
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            _kill_group(process)

        timer = threading.Timer(limits.wall_s, expire)
        timer.daemon = True
        timer.start()
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                if on_line is not None:
                    on_line(raw.decode("utf-8", "replace").rstrip("\n"))
            returncode = process.wait()
        finally:
            timer.cancel()
            _kill_group(process)
            if process.stdout is not None:
                process.stdout.close()
        stderr.seek(0)
        tail = stderr.read()[-4096:].decode("utf-8", "replace")
    return LimitedRun(returncode, tail, timed_out.is_set())


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    # Our own session leader's group: the program's helpers, if any outlived it.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:
        process.kill()
