"""Starting the desktop app, and rendering it to a PNG for screenshots (``main.py --screenshot FILE``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tagger.paths import default_db_path


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="tagger-gui", description="Tagger desktop app")
    p.add_argument("--db", type=Path, default=None, help=f"catalog (default: last used, else {default_db_path()})")
    p.add_argument("--screenshot", type=Path, metavar="FILE", help="render the window offscreen to FILE and exit")
    p.add_argument("--search", help="start with this search (screenshots)")
    p.add_argument("--people", action="store_true", help="start with the People filter on (screenshots)")
    p.add_argument("--select", type=Path, metavar="PHOTO", help="start with this photo selected (screenshots)")
    p.add_argument("--view", type=Path, metavar="PHOTO", help="start in the viewer on this photo (screenshots)")
    p.add_argument("--folder", type=Path, metavar="FOLDER", help="start showing this folder's photos (screenshots)")
    p.add_argument("--month", metavar="YYYY-MM", help="start showing the photos of this month (screenshots)")
    p.add_argument("--sort", choices=["relevance", "date", "name"], help="start with this sort order (screenshots)")
    p.add_argument("--index", type=Path, metavar="FOLDER", help="add this folder to the library and index it")
    p.add_argument("--size", default="1400x900", help="window size for screenshots, WIDTHxHEIGHT")
    p.add_argument("--panel", choices=["tags", "labels"], help="start with this side panel shown")
    p.add_argument("--retrain", action="store_true",
                   help="retrain on the labelled folders first (screenshots: the curve shows a run of this session)")
    p.add_argument("--settings", type=Path, help="settings file (default: the platform's user settings)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from tagger.gui.main_window import MainWindow
    from tagger.gui.recent import recent_catalogs

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Tagger")
    app.setOrganizationName("Tagger")
    if args.settings:
        settings = QSettings(str(args.settings), QSettings.Format.IniFormat)
    else:
        settings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Tagger", "Tagger")
    recent = recent_catalogs(settings)
    db = args.db or (Path(recent[0]) if recent else default_db_path())
    window = MainWindow(db, settings)
    if args.index:
        window.index_ctl.add_folder(args.index)
    if args.panel == "labels":
        window.side_tabs.setCurrentWidget(window.labels_panel)
    if args.screenshot:
        return screenshot(window, args)
    window.show()
    return app.exec()


def screenshot(window, args) -> int:
    """Bring the window to the requested state, wait until it has settled, save a PNG."""
    from tagger.gui.services import wait_for

    width, height = (int(v) for v in args.size.lower().split("x"))
    window.show()
    window.resize(width, height)  # after show, which fits the window to the (virtual, 800x800) offscreen screen
    wait_for(lambda: window.engine is not None or window.engine_ctl.error is not None or window.catalog is None, 300)
    if args.panel == "labels":  # room for the labelled folders, the training result and the versions
        split = window.side_tabs.parentWidget()
        sizes = split.sizes()  # (tag list,) grid, side panel: the side panel gets 600, the grid the rest
        split.setSizes(sizes[:-2] + [max(300, width - 600 - sum(sizes[:-2])), 600])
    if args.retrain and window.engine is not None:
        window.labels_ctl.start_training()
        wait_for(lambda: not window.labels_ctl.busy, 600)
    if args.index:  # show indexing under way: wait until about a third is done
        bar = window.status_bar.progress
        wait_for(lambda: window.index_ctl.running and bar.maximum() > 0 and bar.value() >= bar.maximum() // 3, 300)
        wait_for(lambda: window.model.loader.pending() == 0, 10)
        ok = window.grab().save(str(args.screenshot))
        window.close()
        print(f"saved {args.screenshot}" if ok else f"could not save {args.screenshot}")
        return 0 if ok else 1
    if (args.folder or args.month) and window.catalog is not None:
        from tagger.library.browse import date_range

        taken = date_range(*(int(v) for v in args.month.split("-"))) if args.month else None
        window.browse.setCurrentWidget(window.browse.dates if args.month and not args.folder else window.browse.folders)
        window.search_ctl.set_browse(args.folder.resolve() if args.folder else None, taken)
    if args.sort:
        window.search_ctl.set_sort(args.sort)
    if args.people and window.engine is not None:
        window.search_ctl.set_people(True)
        wait_for(lambda: not window.search_ctl.searching, 60)
    if args.search and window.engine is not None:
        window.search_ctl.search_for(args.search)
        wait_for(lambda: not window.search_ctl.searching, 60)
    if args.select and window.catalog is not None:
        pid = window.catalog.find_photo(args.select)
        if pid is not None and window.grid.select_photo(pid):
            preview = window.details.preview
            wait_for(lambda: preview.pixmap() is not None and not preview.pixmap().isNull(), 30)
    if args.view and window.catalog is not None:
        pid = window.catalog.find_photo(args.view)
        if pid is not None:
            window.viewer_ctl.open(pid)
            wait_for(lambda: window.viewer_ctl.current_photo() in window.viewer_ctl.cached(), 30)
    wait_for(lambda: not window.search_ctl.cloud_pending, 60)
    wait_for(lambda: window.model.loader.pending() == 0, 30)
    wait_for(lambda: False, 0.3)  # let the last thumbnails paint
    ok = window.grab().save(str(args.screenshot))
    window.close()
    print(f"saved {args.screenshot}" if ok else f"could not save {args.screenshot}")
    return 0 if ok else 1
