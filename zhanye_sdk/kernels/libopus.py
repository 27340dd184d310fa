"""libopus through ctypes, for the twins of the native Opus kernels: which library, and
its functions' prototypes, loaded once per path."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import importlib.util
import threading
from pathlib import Path
from typing import Any

__all__ = ["load", "opus_library", "system_library"]


def system_library() -> str:
    """The system's libopus (what the native decoder loads, ``libopus.so.0``)."""
    return ctypes.util.find_library("opus") or "libopus.so.0"


@functools.cache
def opus_library() -> str:
    """The libopus to encode with: the one in PyAV's wheel (``av.libs``), whose encoder
    FFmpeg used, else the system's."""
    spec = importlib.util.find_spec("av")
    if spec is not None and spec.origin is not None:
        bundled = sorted(Path(spec.origin).parent.parent.glob("av.libs/libopus*.so*"))
        if bundled:
            return str(bundled[0])
    return system_library()


_libraries: dict[str, Any] = {}
_lock = threading.Lock()


def load(path: str) -> Any:
    """The libopus at ``path`` with the decoder's and encoder's prototypes set.

    Raises:
        OSError: it cannot be loaded.
    """
    with _lock:
        lib = _libraries.get(path)
        if lib is None:
            lib = ctypes.CDLL(path)
            handle, count, pcm = ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int16)
            lib.opus_decoder_create.restype = handle
            lib.opus_decoder_create.argtypes = [ctypes.c_int32, count, ctypes.POINTER(count)]
            lib.opus_decode.restype = count
            lib.opus_decode.argtypes = [handle, ctypes.c_char_p, ctypes.c_int32, pcm, count, count]
            lib.opus_decoder_destroy.argtypes = [handle]
            lib.opus_encoder_create.restype = handle
            lib.opus_encoder_create.argtypes = [ctypes.c_int32, count, count, ctypes.POINTER(count)]
            lib.opus_encode.restype = ctypes.c_int32
            lib.opus_encode.argtypes = [handle, pcm, count, ctypes.c_char_p, ctypes.c_int32]
            lib.opus_encoder_ctl.restype = count
            lib.opus_encoder_destroy.argtypes = [handle]
            _libraries[path] = lib
    return lib
