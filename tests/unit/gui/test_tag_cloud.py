"""The tag cloud (issue 15): a phrase never breaks across lines ("grand / piano" read as two tags, "tree / wallaby"
next to "wallaby" as "wallaby wallaby"), checked on the rendered layout; and while the first photos are being
indexed the library cloud says that tags are coming instead of "no tags yet"."""

from __future__ import annotations

import os
import shutil
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings

from tagger.gui.main_window import MainWindow
from tagger.gui.widgets import TagCloud

TIMEOUT = 60_000
PHRASES = ["grand piano", "tree wallaby", "wallaby", "sea lion", "water lily", "pizza", "stop sign", "ketch",
           "hot air balloon", "okapi", "motor bike", "sun flower", "wild cat", "yin yang", "soccer ball", "leopard",
           "red-legged partridge", "t-shirt", "saber-toothed tiger", "x-ray machine", "pom-pom", "horse-drawn vehicle"]


def _tags(words: list[str]) -> list[SimpleNamespace]:
    return [SimpleNamespace(tag=w, weight=1.0 - i / (2 * len(words))) for i, w in enumerate(words)]


def _anchor_lines(cloud: TagCloud) -> dict[str, set[int]]:
    """Each tag link's text -> the layout lines (counted through the whole document) its characters sit on."""
    doc = cloud.document()
    lines: dict[str, set[int]] = {}
    block, before = doc.begin(), 0
    while block.isValid():
        layout = block.layout()
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.charFormat().anchorHref().startswith("tag:"):
                start = fragment.position() - block.position()
                on = {layout.lineForTextPosition(start + i).lineNumber() + before for i in range(fragment.length())}
                lines[fragment.text().replace("\u00a0", " ").replace("\u2060", "")] = on
            it += 1
        before += layout.lineCount()
        block = block.next()
    return lines


def test_a_phrase_stays_on_one_line_in_a_narrow_cloud(qtbot):
    cloud = TagCloud()
    qtbot.addWidget(cloud)
    cloud.resize(170, 600)
    cloud.show()
    cloud.set_tags(_tags(PHRASES), "whole library")
    qtbot.waitExposed(cloud)
    lines = _anchor_lines(cloud)
    assert sorted(lines) == sorted(PHRASES)  # every tag is one link, read with its ordinary spaces
    assert len(set().union(*lines.values())) >= 5  # the narrow cloud does wrap
    split = {phrase: sorted(on) for phrase, on in lines.items() if len(on) > 1}
    assert not split, f"phrases broken across lines: {split}"
    assert cloud.words == [t.tag for t in _tags(PHRASES)]  # clicks and tests still see the plain words
    block = cloud.document().lastBlock()  # the tags' paragraph: a line starts with a tag, never with a gap
    layout = block.layout()
    starts = [block.text()[layout.lineAt(i).textStart():][:1] for i in range(layout.lineCount())]
    assert all(c.strip() for c in starts), starts


def test_an_empty_cloud_says_why(qtbot):
    cloud = TagCloud()
    qtbot.addWidget(cloud)
    cloud.set_tags([], "whole library")
    assert "no tags yet" in cloud.toPlainText()
    cloud.set_tags([], "whole library", placeholder="tags appear once photos are indexed")
    text = cloud.toPlainText()
    assert "tags appear once photos are indexed" in text and "no tags yet" not in text and "whole library" in text
    assert cloud.words == []


def test_the_library_cloud_says_tags_are_coming_while_indexing(qtbot, engine, caltech_library, tmp_path):
    folder = tmp_path / "photos"
    shutil.copytree(caltech_library / "pizza", folder / "pizza")
    win = MainWindow(tmp_path / "new.db", QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.engine is not None and not win.search_ctl.cloud_pending
                    and "no tags yet" in win.cloud.toPlainText(), timeout=TIMEOUT)
    win.index_ctl.add_folder(folder)
    assert win.index_ctl.running
    assert "once photos are indexed" in win.cloud.toPlainText() and "no tags yet" not in win.cloud.toPlainText()
    qtbot.waitUntil(lambda: not win.index_ctl.running and not win.search_ctl.cloud_pending and bool(win.cloud.words),
                    timeout=TIMEOUT)
    assert "once photos are indexed" not in win.cloud.toPlainText()
    win.close()
