"""The recording manifest: each segment's SHA-256, chained entry by entry.

Every entry names a segment file, its size, duration and SHA-256, and the hash of
the entry before it (``prev``; 64 zeros for the first). Its own ``hash`` is the
SHA-256 of those fields in canonical JSON, so changing, removing, inserting or
reordering any entry breaks the chain from there on, and ``verify`` recomputes every
file's hash, so a changed or missing segment is found too (tamper evidence for
compliance: keep the last entry's hash, e.g. in the session record).

A recording that went on in another process after its owner died (scale-out
failover) chains its next segment to the last complete one and says in that entry
how long before it went unrecorded (``gap_ms``: the segment being written at the
death, and the time until the room's media came back); ``verify`` reports the gaps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

__all__ = ["GENESIS", "Manifest", "SegmentEntry", "Verification", "file_sha256", "verify"]

GENESIS = "0" * 64


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _entry_hash(
    index: int, name: str, sha256: str, size: int, duration_ms: int, prev: str, gap_ms: int = 0
) -> str:
    fields: dict[str, object] = {
        "index": index,
        "name": name,
        "sha256": sha256,
        "size": size,
        "duration_ms": duration_ms,
        "prev": prev,
    }
    if gap_ms:  # hashed only when there is one: manifests without gaps keep their hashes
        fields["gap_ms"] = gap_ms
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@attrs.frozen
class SegmentEntry:
    """One segment of a recording, chained to the entry before it.

    ``gap_ms``: how long before this segment nothing was recorded (0: it follows the
    one before without a break).
    """

    index: int
    name: str
    sha256: str
    size: int
    duration_ms: int
    prev: str
    hash: str
    gap_ms: int = 0


@attrs.frozen
class Manifest:
    """The ordered, hash-chained segments of one recording."""

    entries: tuple[SegmentEntry, ...] = ()

    @property
    def head(self) -> str:
        """The last entry's hash (``GENESIS`` when empty): it commits to every segment."""
        return self.entries[-1].hash if self.entries else GENESIS

    @property
    def duration_ms(self) -> int:
        """Total duration of the segments (the gaps not counted)."""
        return sum(e.duration_ms for e in self.entries)

    @property
    def gaps_ms(self) -> int:
        """Total time not recorded between segments."""
        return sum(e.gap_ms for e in self.entries)

    def append(
        self, name: str, sha256: str, size: int, duration_ms: int, *, gap_ms: int = 0
    ) -> Manifest:
        """A manifest with one more segment chained on (``gap_ms`` unrecorded before it)."""
        index = len(self.entries)
        prev = self.head
        entry = SegmentEntry(
            index,
            name,
            sha256,
            size,
            duration_ms,
            prev,
            _entry_hash(index, name, sha256, size, duration_ms, prev, gap_ms),
            gap_ms,
        )
        return Manifest((*self.entries, entry))

    def append_file(self, path: Path, duration_ms: int, *, gap_ms: int = 0) -> Manifest:
        """Hash a finished segment file and chain it on."""
        return self.append(
            path.name, file_sha256(path), path.stat().st_size, duration_ms, gap_ms=gap_ms
        )

    def to_json(self) -> str:
        """The manifest as JSON text (stored with the record)."""
        return json.dumps({"version": 1, "entries": [attrs.asdict(e) for e in self.entries]})

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse ``to_json`` output (no checking: that is ``verify``'s job)."""
        data: dict[str, Any] = json.loads(text)
        return cls(tuple(SegmentEntry(**e) for e in data.get("entries", [])))


@attrs.frozen
class Verification:
    """The outcome of ``verify``: ``ok`` or the list of problems found.

    Attributes:
        problems: what is wrong, one sentence each.
        bad_segments: positions of the segments whose file is missing or changed (so a
            player can mark them).
        gaps: (segment index, milliseconds not recorded before it), for every segment
            that follows a break (its recording's process died and another went on).
    """

    problems: tuple[str, ...]
    bad_segments: tuple[int, ...] = ()
    gaps: tuple[tuple[int, int], ...] = ()

    @property
    def ok(self) -> bool:
        """True when the chain is intact and every segment matches its hash."""
        return not self.problems


def _chain_problems(entries: Iterable[SegmentEntry]) -> list[str]:
    problems = []
    prev = GENESIS
    for position, e in enumerate(entries):
        if e.index != position:
            problems.append(f"entry {position} says it is segment {e.index}: out of order")
        if e.prev != prev:
            problems.append(f"entry {position} ({e.name}) does not chain to the entry before it")
        if e.gap_ms < 0:
            problems.append(f"entry {position} ({e.name}) has a negative gap")
        expected = _entry_hash(e.index, e.name, e.sha256, e.size, e.duration_ms, e.prev, e.gap_ms)
        if e.hash != expected:
            problems.append(f"entry {position} ({e.name}) was altered: its hash does not match")
        prev = e.hash
    return problems


def verify(manifest: Manifest, folder: Path, *, expected_head: str | None = None) -> Verification:
    """Check the chain and every segment file in ``folder``.

    Finds: a segment changed (hash or size), missing, or reordered (files swapped or
    entries moved), an altered entry (its gap included), and -- given the head hash
    kept elsewhere -- a manifest cut short. Reports the gaps (not problems).
    """
    problems = _chain_problems(manifest.entries)
    bad: list[int] = []
    for position, e in enumerate(manifest.entries):
        path = folder / e.name
        if not path.is_file():
            problems.append(f"segment {e.index} ({e.name}) is missing")
            bad.append(position)
        elif path.stat().st_size != e.size or file_sha256(path) != e.sha256:
            problems.append(f"segment {e.index} ({e.name}) was changed: its SHA-256 differs")
            bad.append(position)
    if expected_head is not None and manifest.head != expected_head:
        problems.append("the manifest's last hash is not the one recorded: entries were removed")
    gaps = tuple((e.index, e.gap_ms) for e in manifest.entries if e.gap_ms)
    return Verification(tuple(problems), tuple(bad), gaps)
