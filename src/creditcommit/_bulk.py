"""Building many small objects at once: the cyclic garbage collector paused meanwhile."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["bulk"]


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch builds many acyclic objects.

    A draw or a batch of decisions makes no reference cycles; without the pause, each
    collection of the older generations re-scans every object the growing result holds
    (a tenth to a fifth of the time of a batch of millions). Reference counting still frees
    everything as usual, and the collector is enabled again on leaving (only if it was
    enabled on entering, so a program that disabled it keeps it disabled).
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
