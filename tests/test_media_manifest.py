"""The hash-chained recording manifest: verify finds changed, missing and reordered segments."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from zhanye_sdk.media.manifest import GENESIS, Manifest, verify


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Manifest, Path]:
    manifest = Manifest()
    for index in range(3):
        path = tmp_path / f"segment-{index:05d}.mp4"
        path.write_bytes(bytes([index]) * (1000 + index))
        manifest = manifest.append_file(path, 1000)
    return manifest, tmp_path


def test_an_intact_recording_verifies_and_round_trips(recorded: tuple[Manifest, Path]) -> None:
    manifest, folder = recorded
    assert verify(manifest, folder).ok
    assert manifest.entries[0].prev == GENESIS
    assert [e.prev for e in manifest.entries[1:]] == [e.hash for e in manifest.entries[:-1]]
    assert Manifest.from_json(manifest.to_json()) == manifest
    assert manifest.duration_ms == 3000
    assert verify(manifest, folder, expected_head=manifest.head).ok


def test_one_flipped_byte_is_found(recorded: tuple[Manifest, Path]) -> None:
    manifest, folder = recorded
    path = folder / manifest.entries[1].name
    data = bytearray(path.read_bytes())
    data[500] ^= 0x01
    path.write_bytes(bytes(data))
    result = verify(manifest, folder)
    assert not result.ok
    assert result.problems == ("segment 1 (segment-00001.mp4) was changed: its SHA-256 differs",)
    assert result.bad_segments == (1,)


def test_a_missing_segment_is_found(recorded: tuple[Manifest, Path]) -> None:
    manifest, folder = recorded
    (folder / manifest.entries[2].name).unlink()
    result = verify(manifest, folder)
    assert result.problems == ("segment 2 (segment-00002.mp4) is missing",)
    assert result.bad_segments == (2,)


def test_swapped_files_and_reordered_entries_are_found(recorded: tuple[Manifest, Path]) -> None:
    manifest, folder = recorded
    a, b = (folder / manifest.entries[i].name for i in (0, 1))
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    assert len(verify(manifest, folder).problems) == 2
    a.write_bytes(data_a)
    b.write_bytes(data_b)

    e = manifest.entries
    reordered = Manifest((e[1], e[0], e[2]))
    problems = verify(reordered, folder).problems
    assert any("out of order" in p for p in problems)
    assert any("does not chain" in p for p in problems)


def test_an_edited_entry_or_a_cut_manifest_is_found(recorded: tuple[Manifest, Path]) -> None:
    manifest, folder = recorded
    e = manifest.entries
    edited = Manifest((e[0], attrs.evolve(e[1], duration_ms=5000), e[2]))
    assert any("altered" in p for p in verify(edited, folder).problems)
    cut = Manifest(e[:2])
    assert verify(cut, folder).ok  # a prefix is self-consistent ...
    assert not verify(cut, folder, expected_head=manifest.head).ok  # ... but not the head kept


def test_a_recording_resumed_after_its_process_died_verifies_and_reports_the_gap(
    recorded: tuple[Manifest, Path],
) -> None:
    """Another process goes on after the last complete segment: chained on, gap noted."""
    manifest, folder = recorded
    path = folder / "segment-00003.mp4"  # written again by the survivor
    path.write_bytes(b"\x03" * 900)
    resumed = Manifest.from_json(manifest.to_json()).append_file(path, 1000, gap_ms=6400)
    result = verify(resumed, folder)
    assert result.ok, result.problems
    assert result.gaps == ((3, 6400),)
    assert resumed.entries[3].prev == manifest.head
    assert (resumed.duration_ms, resumed.gaps_ms) == (4000, 6400)
    assert Manifest.from_json(resumed.to_json()) == resumed
    # Hiding the gap (or changing it) breaks the chain from there on.
    hidden = Manifest((*resumed.entries[:3], attrs.evolve(resumed.entries[3], gap_ms=0)))
    assert verify(hidden, folder).problems == (
        "entry 3 (segment-00003.mp4) was altered: its hash does not match",
    )


def test_a_manifest_written_before_gaps_existed_still_verifies(
    recorded: tuple[Manifest, Path],
) -> None:
    manifest, folder = recorded
    old = manifest.to_json().replace(', "gap_ms": 0', "")
    assert "gap_ms" not in old
    assert verify(Manifest.from_json(old), folder).ok
