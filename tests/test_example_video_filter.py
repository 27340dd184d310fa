"""The video-filter example puts the real 美颜 filter on the server path: a frame that
goes through the example's deployment comes out with its skin smoothed, its edges and
colours kept and its timestamps unchanged; a level outside 0–1 stops the example early."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import av
import numpy as np
import pytest

from zhanye_sdk.media.frames import i420_to_video_frame, video_frame_to_i420

from .test_media_beauty import edge_gradient, portrait_planes, skin_detail

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "video_filter" / "filter.py"


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("video_filter_example", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_examples_filter_smooths_skin_and_keeps_edges(
    example: ModuleType, tmp_path: Path
) -> None:
    config = example.deployment_config(f"sqlite:///{tmp_path}/x.db")
    video_filter = config.media.video_filter
    assert video_filter is not None
    y, u, v = portrait_planes(320, 240, np.random.default_rng(7))
    frame = i420_to_video_frame(y, u, v, pts=9000, time_base=Fraction(1, 90_000))
    out = video_filter("customer-1", frame)
    assert (out.pts, out.time_base) == (9000, Fraction(1, 90_000))
    oy, ou, ov = (np.ascontiguousarray(p) for p in video_frame_to_i420(out))
    assert skin_detail(oy) < 0.6 * skin_detail(y)
    assert edge_gradient(oy) > 0.9 * edge_gradient(y)
    np.testing.assert_array_equal(ou, u)
    np.testing.assert_array_equal(ov, v)
    assert isinstance(out, av.VideoFrame)


def test_a_level_outside_0_to_1_stops_the_example_with_the_reason() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--strength", "1.5"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=SCRIPT.parents[2],
    )
    assert done.returncode == 2
    assert "strength must be between 0 and 1" in done.stderr
