"""Side panels that give way in a small window: the grid keeps room for two columns of thumbnails.

The splitter keeps the side panels' widths when the window shrinks (only the grid stretches), so an 800 px window
left the grid one 184 px column between a 210 px sidebar and a 380 px details panel. When the grid falls under two
columns, the side panels shrink in proportion to their widths, never under their own minimum; a person's own
dragging of the splitter is kept whenever the grid has room.
"""

from __future__ import annotations

from collections.abc import Sequence


def cramped_sizes(sizes: Sequence[int], minimums: Sequence[int], grid: int, min_grid: int) -> list[int] | None:
    """New splitter ``sizes`` giving panel ``grid`` at least ``min_grid`` px taken from the others in proportion to
    their widths (none under its minimum), or None when the grid already has that much (or nothing can give)."""
    total = sum(sizes)
    if sizes[grid] >= min_grid or total <= 0:
        return None
    want = min(min_grid, total - sum(m for i, m in enumerate(minimums) if i != grid))
    if want <= sizes[grid]:
        return None
    others = [i for i in range(len(sizes)) if i != grid]
    spare = {i: max(0, sizes[i] - minimums[i]) for i in others}
    take, room = want - sizes[grid], sum(spare.values())
    out = list(sizes)
    for i in others:
        out[i] = sizes[i] - (round(take * spare[i] / room) if room else 0)
    out[grid] = total - sum(out[i] for i in others)
    return out
