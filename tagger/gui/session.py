"""What every controller of the window reads: the open catalog and the loaded engine.

One shared holder instead of copies in each controller: reopening another catalog or restarting the engine changes it
in one place, and no controller can keep answering from a stale one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tagger.engine.core import Engine
    from tagger.library.catalog import Catalog
    from tagger.library.search import Library


@dataclass
class Session:
    """The GUI thread's catalog connection and engine (None while loading or when the catalog cannot be opened).

    ``local_library`` answers the cheap per-photo questions (a single photo's tags) on the GUI thread; everything
    heavy goes to the engine service's own library (:class:`tagger.gui.services.EngineService`).
    """

    db_path: Path
    catalog: Catalog | None = None
    engine: Engine | None = None
    local_library: Library | None = None

    def thumbnail_path(self, content_hash: str) -> Path:
        """Where the grid finds a photo's cached thumbnail (a path that never exists while no catalog is open)."""
        if self.catalog is not None:
            return self.catalog.thumbnail_path(content_hash)
        return self.db_path.parent / "none" / content_hash[:2] / f"{content_hash}.jpg"

    def keyword_models(self) -> list[str]:
        return keyword_models(self.engine)


def keyword_models(engine: Engine | None) -> list[str]:
    """Models whose automatic tags may be written to sidecars: the base model and the active trained version (none
    before the engine is ready: the keywords written earlier are then kept as they are)."""
    return [] if engine is None else engine.active_model_ids
