"""Panels of the main window: tag cloud, the result bar over the grid, photo details, welcome page, failures and
settings dialogs.

Presentation only: they show what the core computed and emit signals for what the user asked.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote, unquote

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QPixmap, QTextOption
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tagger.gui.dates import human_date, human_timestamp
from tagger.gui.start_folder import photo_start_folder


class TagCloud(QTextBrowser):
    """Words sized by weight; clicking a word emits ``tag_clicked``."""

    tag_clicked = Signal(str)

    def __init__(self):
        super().__init__()
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._clicked)
        self.setMinimumHeight(48)
        # lines break between words only: a phrase wider than the cloud scrolls rather than splitting mid-word
        self.setWordWrapMode(QTextOption.WrapMode.WordWrap)
        self.words: list[str] = []
        self._title = ""

    def set_tags(self, tags: Sequence, title: str = "", placeholder: str = "no tags yet") -> None:
        """``tags``: objects with ``tag`` and ``weight`` (strongest first). ``placeholder`` is what an empty cloud says
        (while the first photos are indexed, that tags are coming rather than that there are none)."""
        self.words = [t.tag for t in tags]
        self._title = title
        if not tags:
            self.setHtml(f"<p style='color:gray'>{html.escape(title)}<br>{html.escape(placeholder)}</p>")
            return
        top = max(t.weight for t in tags) or 1.0
        spans = []
        for t in sorted(tags, key=lambda t: t.tag):
            size = 11 + round(15 * (t.weight / top) ** 0.7)
            shade = 120 + round(135 * (t.weight / top) ** 0.5)
            spans.append(f"<a href='tag:{html.escape(t.tag, quote=True)}' style='font-size:{size}px; "
                         f"color:rgb(80,{shade // 2 + 60},{shade}); text-decoration:none'>{self._unbroken(t.tag)}</a>")
        head = f"<div style='color:gray; font-size:11px'>{html.escape(title)}</div>" if title else ""
        # the gap between tags may break only after it, so that no line starts with a blank
        self.setHtml(head + "<p style='line-height:150%'>" + "&nbsp;&nbsp; ".join(spans) + "</p>")

    @staticmethod
    def _unbroken(phrase: str) -> str:
        """The phrase as HTML whose spaces are non-breaking and whose hyphens are joined to the next letter: a line may
        break only between tags, never inside one ("grand / piano" reads as two tags, "tree / wallaby" beside
        "wallaby" as "wallaby wallaby", "red- / legged partridge" as a tag "red-")."""
        return "&nbsp;".join(html.escape(word) for word in phrase.split()).replace("-", "-\u2060")  # word joiner

    def _clicked(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith("tag:"):
            self.tag_clicked.emit(QUrl.fromPercentEncoding(text[4:].encode()))


def people_chip() -> QToolButton:
    """The People filter's button: a chip that reads as on or off at a glance (a checked tool button barely does)."""
    button = QToolButton()
    button.setText("People")
    button.setCheckable(True)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setToolTip("Show only photos with people (faces found while indexing); works with the search words and "
                      "the tags clicked in the list")
    button.setStyleSheet("QToolButton { padding: 2px 12px; border: 1px solid #b8c2cc; border-radius: 10px; }"
                         "QToolButton:hover { border-color: #2a6fb0; }"
                         "QToolButton:checked { background: #d6e6f8; border-color: #2a6fb0; color: #1d4f80; "
                         "font-weight: bold; }")
    return button


TRY_LINK, REMOVE_LINK, CLEAR_LINK = "try:", "remove:", "clear:"  # the hrefs of the result bar's links


class ResultBar(QWidget):
    """The line over the grid: the tag filter as removable chips ("Tags: dog × beach × · clear"), words to try when
    nothing matches, and the button that unfolds the weaker results. Hidden while it has nothing to say."""

    tag_removed = Signal(str)
    tags_cleared = Signal()
    suggestion_clicked = Signal(str)
    weaker_toggled = Signal()

    def __init__(self):
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tags = QLabel()
        self.suggestions = QLabel()
        for label in (self.tags, self.suggestions):
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                          | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
            label.linkActivated.connect(self._link)
            label.setWordWrap(True)  # many words to try wrap: they never widen the window past the screen
            label.hide()
            layout.addWidget(label, 1)  # the room the row has: one line when it fits, wrapped when not
        layout.setSpacing(14)
        layout.addStretch(0)  # the fold button on the right when there are no words
        self.weaker = QPushButton()
        self.weaker.setFlat(True)
        self.weaker.setCursor(Qt.CursorShape.PointingHandCursor)
        self.weaker.setStyleSheet("color:#2a6fb0; padding:2px 6px")
        self.weaker.clicked.connect(self.weaker_toggled)
        self.weaker.hide()
        layout.addWidget(self.weaker)
        self.hide()

    def show_tags(self, tags: Sequence[str]) -> None:
        """The tag filter: each word with a × that removes it, and "clear" for all of them."""
        chips = [f"<span style='background:#e4eef9'>&nbsp;{html.escape(t)} "
                 f"<a href='{REMOVE_LINK}{quote(t)}' style='text-decoration:none'>×</a>&nbsp;</span>" for t in tags]
        if len(tags) > 1:
            chips.append(f"<a href='{CLEAR_LINK}'>clear</a>")
        self.tags.setText("Tags: " + " &nbsp;".join(chips) if tags else "")
        self.tags.setToolTip("Only photos carrying every one of these words are shown; × removes one" if tags else "")
        self.tags.setVisible(bool(tags))
        self._fit()

    def show_suggestions(self, words: Sequence[str]) -> None:
        """Words that would find photos (a search that found none): clicking one searches it."""
        links = [f"<a href='{TRY_LINK}{quote(w)}'>{html.escape(w)}</a>" for w in words]
        self.suggestions.setText("Try: " + ", ".join(links) if words else "")
        self.suggestions.setVisible(bool(words))
        self._fit()

    def show_weaker(self, count: int, shown: bool) -> None:
        """The fold control: "Show 240 weaker results" (``count`` hidden) or "Hide weaker results"; none if 0."""
        if shown:
            self.weaker.setText("Hide weaker results")
        else:
            self.weaker.setText(f"Show {count:,} weaker result{'' if count == 1 else 's'}")
        self.weaker.setToolTip("Photos that fit the words less well than the matches, after the matches")
        self.weaker.setVisible(count > 0)
        self._fit()

    def _fit(self) -> None:
        self.setVisible(any(not w.isHidden() for w in (self.tags, self.suggestions, self.weaker)))

    def _link(self, href: str) -> None:
        if href.startswith(TRY_LINK):
            self.suggestion_clicked.emit(unquote(href[len(TRY_LINK):]))
        elif href.startswith(REMOVE_LINK):
            self.tag_removed.emit(unquote(href[len(REMOVE_LINK):]))
        elif href == CLEAR_LINK:
            self.tags_cleared.emit()


TEXT_LINES_SHOWN = 3  # the "Text in photo" box is this many lines high and scrolls beyond: the tags stay in view
PREVIEW_SHARE = 0.45  # of the details panel's height the preview asks for (the lists under it give way first)


PREVIEW_MIN_HEIGHT = 120


class PreviewLabel(QLabel):
    """The details panel's preview: a share of the panel's height (the panel sets it as it is resized), and the photo
    as large as it fits, scaled again whenever its room changes (a small decode is scaled up until a larger one
    arrives)."""

    def __init__(self, text: str):
        super().__init__(text)
        self.source = QPixmap()

    def show_pixmap(self, pixmap: QPixmap) -> None:
        self.source = pixmap
        self._fit()

    def clear_pixmap(self) -> None:
        self.source = QPixmap()
        self.setPixmap(QPixmap())

    def _fit(self) -> None:
        if not self.source.isNull():
            self.setPixmap(self.source.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()


class OwnTagsBox:
    """The "your tags" box's two actions, shared by the details panel and the viewer's info strip: a class with
    ``photo_id``, ``user`` (the list), ``new_tag`` (the line edit) and the two signals mixes it in."""

    def _add(self) -> None:
        """The text as typed: the details controller tidies it (one rule with the command line) or ignores it."""
        if self.photo_id is not None:
            self.user_tag_added.emit(self.photo_id, self.new_tag.text())
        self.new_tag.clear()

    def _remove(self) -> None:
        item = self.user.currentItem()
        if item is not None and self.photo_id is not None:
            self.user_tag_removed.emit(self.photo_id, item.text())


class DetailsPanel(OwnTagsBox, QWidget):
    """Large upright preview, facts (with the faces found), the text printed in the photo, automatic tags with
    weights, user tags to add/remove, find similar."""

    similar_requested = Signal(int)
    open_requested = Signal(int)
    reveal_requested = Signal(int)
    tag_clicked = Signal(str)
    user_tag_added = Signal(int, str)
    user_tag_removed = Signal(int, str)

    def __init__(self):
        super().__init__()
        self.photo_id: int | None = None
        layout = QVBoxLayout(self)
        self.preview = PreviewLabel("No photo selected")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(200, PREVIEW_MIN_HEIGHT)
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never the pixmap's size
        layout.setSizeConstraint(QVBoxLayout.SizeConstraint.SetNoConstraint)  # the preview's share is no minimum of
        # the panel: the splitter can still make it small (see minimumSizeHint)
        self.preview.setStyleSheet("background:#222; color:#888; border-radius:6px")
        layout.addWidget(self.preview, 3)
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.facts)
        self.text_title = QLabel("<b>Text in photo</b>")
        self.text_title.setToolTip("The text Tagger read in the photo: search for any of its words to find it")
        layout.addWidget(self.text_title)
        self.text_box = QPlainTextEdit()  # read-only, selectable (copy a receipt's total), scrolls when long
        self.text_box.setReadOnly(True)
        self.text_box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                              | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.text_box.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text_box.setMaximumHeight(TEXT_LINES_SHOWN * self.text_box.fontMetrics().lineSpacing()
                                       + round(self.text_box.document().documentMargin())
                                       + 2 * self.text_box.frameWidth())
        layout.addWidget(self.text_box)
        self.text_title.hide()
        self.text_box.hide()
        layout.addWidget(QLabel("<b>Automatic tags</b>"))
        self.auto = TagCloud()
        self.auto.setMaximumHeight(130)
        self.auto.setMinimumHeight(40)
        self.auto.tag_clicked.connect(self.tag_clicked)
        layout.addWidget(self.auto)
        layout.addWidget(QLabel("<b>Your tags</b>"))
        self.user = QListWidget()
        self.user.setMaximumHeight(90)
        self.user.setMinimumHeight(30)
        layout.addWidget(self.user)
        row = QHBoxLayout()
        self.new_tag = QLineEdit()
        self.new_tag.setPlaceholderText("add a tag and press Enter")
        self.new_tag.returnPressed.connect(self._add)
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove)
        row.addWidget(self.new_tag)
        row.addWidget(remove)
        layout.addLayout(row)
        buttons = QHBoxLayout()
        self.similar_button = QPushButton("Find similar")
        self.similar_button.clicked.connect(
            lambda: self.photo_id is not None and self.similar_requested.emit(self.photo_id))
        open_button = QPushButton("Open")
        open_button.clicked.connect(lambda: self.photo_id is not None and self.open_requested.emit(self.photo_id))
        reveal = QPushButton("Show in folder")
        reveal.clicked.connect(lambda: self.photo_id is not None and self.reveal_requested.emit(self.photo_id))
        for b in (self.similar_button, open_button, reveal):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.setEnabled(False)

    def show_photo(self, photo_id: int | None, info: dict | None = None, path: Path | None = None,
                   auto_tags: Sequence = (), user_tags: Sequence[str] = (), *, faces: int | None = None,
                   printed: str = "") -> None:
        """``faces``: how many faces were found (None: not said); ``printed``: the text read in the photo."""
        self.photo_id = photo_id
        self.setEnabled(photo_id is not None)
        if photo_id is None or info is None:
            self.preview.clear_pixmap()
            self.preview.setText("No photo selected")
            self.facts.setText("")
            self._show_printed("")
            self.auto.set_tags([], placeholder="")  # nothing selected: no "no tags yet" about no photo
            self.user.clear()
            return
        self.preview.setText("loading…")
        taken = human_date(info.get("taken_at")) or "unknown date"
        size = _size(info.get("size") or 0)
        dims = f"{info.get('width')}×{info.get('height')}" if info.get("width") else ""
        indexed = human_timestamp(info.get("indexed_at") or 0)
        self.facts.setText(
            f"<b>{html.escape(path.name if path else '')}</b><br>"
            f"{html.escape(str(taken))} · {dims} · {size} · {html.escape(info.get('format') or '')}<br>"
            + (f"Faces: {faces}<br>" if faces is not None else "")
            + f"<span style='color:gray'>{html.escape(str(path.parent) if path else '')}</span><br>"
            f"<span style='color:gray'>indexed {indexed}</span>")
        self._show_printed(printed)
        self.auto.set_tags(list(auto_tags)[:20])
        self.user.clear()
        self.user.addItems(list(user_tags))

    def _show_printed(self, text: str) -> None:
        """The "Text in photo" section: the lines read, or no section at all when the photo has none."""
        self.text_box.setPlainText(text)
        self.text_title.setVisible(bool(text))
        self.text_box.setVisible(bool(text))

    def set_preview(self, pixmap: QPixmap | None) -> None:
        if pixmap is None or pixmap.isNull():
            self.preview.setText("preview unavailable")
            return
        self.preview.show_pixmap(pixmap)

    def resizeEvent(self, event) -> None:
        """The preview takes PREVIEW_SHARE of the panel's height (the tag lists under it keep their own heights; in a
        maximised 1440x900 window it was ~130 px, left over after them)."""
        self.preview.setMinimumHeight(max(PREVIEW_MIN_HEIGHT, int(PREVIEW_SHARE * event.size().height())))
        super().resizeEvent(event)

    def minimumSizeHint(self) -> QSize:
        """As small as with the preview at its least: its share of a larger panel never stops a splitter shrinking
        the panel."""
        return QSize(200, 320)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"


class WelcomePage(QWidget):
    """First run: choose a photo folder, or reopen a recent library."""

    folder_chosen = Signal(Path)
    reopen = Signal(Path)

    def __init__(self):
        super().__init__()
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        title = QLabel("<h1>Tagger</h1><p>Find and tag your photos by meaning.</p>"
                       "<p>Choose a folder of photos: Tagger indexes it in the background (your files are only "
                       "read, never changed) and you can search it with any words.</p>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setWordWrap(True)
        layout.addWidget(title)
        self.error = QLabel()
        self.error.setStyleSheet("color:#c0392b")
        self.error.setWordWrap(True)
        self.error.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error.hide()
        layout.addWidget(self.error)
        self.choose = QPushButton("Choose a photo folder…")
        self.choose.setMinimumHeight(40)
        self.choose.clicked.connect(self._choose)
        layout.addWidget(self.choose, 0, Qt.AlignmentFlag.AlignHCenter)
        self.recent = QListWidget()
        self.recent.setMaximumWidth(600)
        self.recent.itemActivated.connect(lambda item: self.reopen.emit(Path(item.text())))
        self.recent_label = QLabel("Recent libraries (double-click to reopen):")
        layout.addWidget(self.recent_label, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.recent, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)

    def set_recent(self, catalogs: Sequence[str]) -> None:
        self.recent.clear()
        self.recent.addItems(list(catalogs))
        self.recent.setVisible(bool(catalogs))
        self.recent_label.setVisible(bool(catalogs))

    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a photo folder", photo_start_folder())
        if folder:
            self.folder_chosen.emit(Path(folder))


class FailuresDialog(QDialog):
    """Files that could not be indexed, each with its reason."""

    def __init__(self, failures: Sequence[tuple[Path, str]], parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"{len(failures)} files could not be indexed")
        self.resize(900, 420)
        layout = QVBoxLayout(self)
        table = QTableWidget(len(failures), 2)
        table.setHorizontalHeaderLabels(["File", "Reason"])
        for i, (path, reason) in enumerate(failures):
            table.setItem(i, 0, QTableWidgetItem(str(path)))
            table.setItem(i, 1, QTableWidgetItem(reason))
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.table = table


class SettingsDialog(QDialog):
    """Backbone, word space and thumbnail size; library folders are managed from the Library menu."""

    def __init__(self, backbone: str, word_space: str, thumb_size: int, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        form = QFormLayout(self)
        self.backbone = QComboBox()
        self.backbone.addItems(["lite0", "lite2"])
        self.backbone.setCurrentText(backbone)
        form.addRow("Backbone (lite2: +3% accuracy, half the speed)", self.backbone)
        ws_row = QHBoxLayout()
        self.word_space = QLineEdit(word_space)
        self.word_space.setPlaceholderText("default (GloVe 6B, built on this machine)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        ws_row.addWidget(self.word_space)
        ws_row.addWidget(browse)
        form.addRow("Word space (fastText .bin)", ws_row)
        self.thumb = QSlider(Qt.Orientation.Horizontal)
        self.thumb.setRange(96, 320)
        self.thumb.setValue(thumb_size)
        form.addRow("Thumbnail size", self.thumb)
        note = QLabel("Changing the backbone or word space builds a new model and re-indexes your photos.")
        note.setWordWrap(True)
        note.setStyleSheet("color:gray")
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a fastText .bin", "", "fastText models (*.bin)")
        if path:
            self.word_space.setText(path)
