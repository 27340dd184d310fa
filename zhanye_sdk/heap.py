"""Keeping long-lived objects out of the cyclic garbage collector's full passes.

A full pass scans every tracked object, and runs on the event loop of whoever allocates
at that moment: with pypinyin's tables loaded (about 190,000 objects) one took 60 ms, a
stall every listener of every room hears as skipped ticks. What a process builds once at
start (imports, the platform, tables) is frozen instead: later passes scan only what came
after it.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_startup_heap"]

_collected = False


def freeze_startup_heap() -> None:
    """Freeze everything alive now out of the collector's passes.

    The first call collects the garbage first (once per process, so it is not kept for
    good); later calls, after more start-up work such as a table loaded in the
    background, only freeze, which costs next to nothing.
    """
    global _collected
    if not _collected:
        _collected = True
        gc.collect()
    gc.freeze()
