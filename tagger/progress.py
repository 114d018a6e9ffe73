"""Progress reporting shared by the CLI (tqdm bars with ETA) and the GUI (Qt signals, ``tagger.gui.services``).

Core code takes a plain ``progress(stage, done, total)`` callable so it never depends on how progress is shown; it may
raise :class:`Cancelled` from the callback to stop work cleanly.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


class Cancelled(Exception):
    """Raised (usually from a progress callback) to stop a long job; the job leaves no partial state behind."""


ProgressFn = Callable[[str, int, int], None]


class TqdmProgress:
    """One tqdm bar per stage on stderr; a new stage name closes the previous bar."""

    def __init__(self, enabled: bool | None = None, unit: str = "it"):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.unit = unit
        self._bar = None
        self._stage: str | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = tqdm(total=total or None, desc=stage, unit=self.unit, file=sys.stderr, leave=False,
                             dynamic_ncols=True)
        bar = self._bar
        if bar is not None:
            if total and bar.total != total:
                bar.total = total
            bar.update(max(0, done - bar.n))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._stage = None

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
