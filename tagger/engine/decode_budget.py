"""How much memory decoding photos may hold at once, shared by every decoding thread of the process.

Decoding threads are sized for ordinary photos (a drafted JPEG is a few MB), but one 13000x13000 PNG a few MB on disk
holds over a GB once decoded, and Pillow cannot decode a PNG at reduced scale. Four such photos on four threads took
8.7 GB. So each decode first reserves what it will hold (the file's bytes plus its decoded pixels, estimated from the
header before anything is decoded): small photos share the budget and run in parallel, big ones wait their turn, and
one photo alone always proceeds, however big, so nothing is ever refused for the budget's sake.

Reservations are served first come, first served: once a big photo waits, later small ones queue behind it instead of
overtaking it for ever.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

MIN_BUDGET = 256 * 2**20
MAX_BUDGET = 2**30


def default_limit() -> int:
    """An eighth of the machine's memory, between 256 MB and 1 GB: every normal photo fits many times over."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        ram = 8 * 2**30
    return int(min(MAX_BUDGET, max(MIN_BUDGET, ram // 8)))


class DecodeBudget:
    """A counting semaphore over bytes, in arrival order; ``hold(cost)`` reserves ``cost`` bytes for a block."""

    def __init__(self, limit: int | None = None):
        self.limit = int(limit if limit is not None else default_limit())
        self.held = 0  # bytes reserved right now
        self.peak = 0  # most bytes reserved at once (bench and tests)
        self._holders = 0
        self._queue: deque[object] = deque()
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, cost: int) -> Iterator[None]:
        cost = max(0, int(cost))
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            try:
                while self._queue[0] is not ticket or (self._holders and self.held + cost > self.limit):
                    self._cond.wait()
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()  # the next in line may fit too
            self.held += cost
            self._holders += 1
            self.peak = max(self.peak, self.held)
        try:
            yield
        finally:
            with self._cond:
                self.held -= cost
                self._holders -= 1
                self._cond.notify_all()
