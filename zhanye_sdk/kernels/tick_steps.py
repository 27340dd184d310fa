"""The twins of the native ``release_into`` and ``encode_send`` (``lib.rs``): one
participant's receive step and one encoder's send step of the mixing tick, each one
call, composed of the other kernels (the jitter buffer, the Opus decoder and encoder,
the mixer's buffers, the RED packer and the send link). Both implementations give the
same results for the same objects of their own backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["encode_send", "release_into"]


def release_into(
    buffer: Any, decoder: Any, tags: bytes, mix: Any, row: int, now: float
) -> tuple[int, int, list[Any]]:
    """Release the frames of ``buffer`` due by ``now``, decode those whose tag (payload
    type) is in ``tags`` with ``decoder`` and queue their samples on row ``row`` of
    ``mix``. Returns the frames decoded, those of them concealed, and the released frames
    left for the caller (from the first one of another tag on, in order).

    Raises:
        IndexError: ``mix`` has no row ``row`` (nothing is released then).
    """
    if not 0 <= row < mix.rows:
        raise IndexError(f"no row {row} in {mix.rows} rows")
    decoded = concealed = 0
    left: list[Any] = []
    for frame in buffer.pop(now):
        if left or frame.tag not in tags:
            left.append(frame)
            continue
        for samples, _, kind in decoder.decode_pcm(
            frame.payload, frame.timestamp, frame.discontinuity
        ):
            decoded += 1
            concealed += kind == "plc"
            if samples.shape[0]:
                mix.push(row, samples)
    return decoded, concealed, left


def encode_send(
    encoder: Any,
    samples: npt.NDArray[np.int16],
    red: Any,
    timestamp: int,
    links: Sequence[Any],
    timestamps: Sequence[int],
    abs_send_time: int,
) -> bytes:
    """Encode one 20 ms frame with ``encoder``, wrap it in RED with ``red`` (None: plain
    Opus) at ``timestamp`` (the encoder's own clock), and send it on each of ``links``
    stamped with the matching entry of ``timestamps``. Returns the payload sent.

    Raises:
        ValueError: ``links`` and ``timestamps`` differ in length, or the samples are
            not one frame.
    """
    if len(links) != len(timestamps):
        raise ValueError(f"{len(links)} links but {len(timestamps)} timestamps")
    payload = encoder.encode(samples)
    if red is not None:
        payload = red.wrap(payload, timestamp)
    for link, at in zip(links, timestamps, strict=True):
        link.send([payload], at, abs_send_time)
    return bytes(payload)
