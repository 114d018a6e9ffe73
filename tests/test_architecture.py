"""The layer rule, checked on the source: imports run gui -> training -> library -> engine, never back.

Every ``import`` counts, also one inside a function (a lazy import is still a dependency, only a later one). The shared
helpers at the top of the package (paths, progress, errors, fileio) sit below every layer. ``research`` (evaluation
protocols, seed recipes, VGSE) may import anything, but the product never imports it; only the CLI and the GUI's entry
point import the GUI. Qt stays inside ``tagger/gui``, and ``import tagger.cli`` must stay cheap: no torch, no Qt.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tagger"

# rank: a module may import modules of its own rank or lower; None: a rule of its own (see ``violations``)
LAYERS = {"base": 0, "engine": 1, "library": 2, "training": 3, "gui": 4, "research": None, "entry": None}
BASE_MODULES = {"tagger", "tagger.paths", "tagger.progress", "tagger.errors", "tagger.fileio", "tagger.resources"}
ENTRY_MODULES = {"tagger.cli", "tagger.__main__"}
QT_PACKAGES = {"PySide6", "shiboken6", "PyQt5", "PyQt6"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. "tagger.library.indexer"
    target: str  # what it imports, e.g. "tagger.training.retrain" or "PySide6.QtCore"
    line: int


def layer_of(module: str) -> str:
    if module in ENTRY_MODULES or module.startswith("tagger.cli."):
        return "entry"
    if module in BASE_MODULES or module.startswith("tagger.resources."):
        return "base"
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in LAYERS:
        return parts[1]
    raise AssertionError(f"{module} belongs to no layer: put it in engine/, library/, training/, research/ or gui/, "
                         "or name it in BASE_MODULES of tests/test_architecture.py with a reason")


def module_name(path: Path, root: Path = PACKAGE) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(path: Path) -> bool:
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(source: str, module: str) -> list[Import]:
    """Every import in ``source`` (top level or nested), with relative imports resolved against ``module``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.extend(Import(module, alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # "from tagger import cli" imports the module tagger.cli; "from tagger import __version__" only the package
            names = [f"{target}.{a.name}" for a in node.names
                     if target == "tagger" and _is_module(PACKAGE / a.name)]
            out.extend(Import(module, t, node.lineno) for t in (names or [target]))
    return out


def violations(imports: list[Import]) -> list[str]:
    """What breaks the rule, one readable line each."""
    bad = []
    for imp in imports:
        top = imp.target.split(".")[0]
        where = f"{imp.module}:{imp.line} imports {imp.target}"
        src = layer_of(imp.module)
        if top in QT_PACKAGES and src != "gui":
            bad.append(f"{where}: Qt is only for tagger.gui")
        if top != "tagger" or imp.target == "tagger":
            continue
        dst = layer_of(imp.target)
        if dst == "gui" and src not in ("gui", "entry"):
            bad.append(f"{where}: only the CLI and the GUI itself import the GUI")
        elif dst == "research" and src not in ("research", "entry"):
            bad.append(f"{where}: the product never imports research code")
        elif dst == "entry" and src != "entry":
            bad.append(f"{where}: nothing imports the CLI")
        elif LAYERS[src] is not None and LAYERS[dst] is not None and LAYERS[dst] > LAYERS[src]:
            bad.append(f"{where}: {src} may not import {dst} (imports run gui -> training -> library -> engine)")
    return bad


def package_imports() -> list[Import]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        out.extend(imports_of(path.read_text(encoding="utf-8"), module_name(path)))
    return out


def test_every_module_belongs_to_a_layer():
    for path in PACKAGE.rglob("*.py"):
        layer_of(module_name(path))  # raises with advice


def test_imports_follow_the_layer_rule():
    bad = violations(package_imports())
    assert not bad, "layer rule broken:\n" + "\n".join(bad)


@pytest.mark.parametrize("module, source, expected", [
    ("tagger.engine.scoring", "from tagger.library.catalog import Catalog", "engine may not import library"),
    ("tagger.library.indexer", "def f():\n    from tagger.training import retrain", "library may not import training"),
    ("tagger.training.trainer", "import tagger.gui.app", "only the CLI and the GUI itself import the GUI"),
    ("tagger.library.search", "from tagger.research import evaluate", "the product never imports research code"),
    ("tagger.library.search", "from PySide6.QtCore import QObject", "Qt is only for tagger.gui"),
    ("tagger.engine.core", "from ..training.trainer import TrainConfig", "engine may not import training"),
    ("tagger.paths", "from tagger import cli", "nothing imports the CLI"),
])
def test_the_checker_catches_a_violation(module, source, expected):
    """The rule test can fail: each of these deliberate violations is reported."""
    found = violations(imports_of(source, module))
    assert any(expected in line for line in found), found


@pytest.mark.parametrize("module, source", [
    ("tagger.gui.main_window", "from tagger.training.retrain import train_version\nfrom PySide6.QtCore import QObject"),
    ("tagger.research.evaluate", "from tagger.training.trainer import TrainConfig"),
    ("tagger.cli", "from tagger.research import evaluate\nfrom tagger.gui import app"),
    ("tagger.library.indexer", "from tagger.engine.version import label_tags\nfrom tagger.fileio import content_hash"),
])
def test_the_checker_allows_what_the_rule_allows(module, source):
    assert violations(imports_of(source, module)) == []


def test_the_cli_imports_neither_torch_nor_qt():
    """`tagger search` must start fast: importing the CLI (and parsing its arguments) pulls in no heavy package."""
    code = ("import sys, tagger.cli; tagger.cli.build_parser().parse_args(['status']); "
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'PySide6', 'shiboken6', "
            "'torchvision', 'timm', 'onnx'})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent)
    assert out.stdout.strip() == "", f"import tagger.cli pulled in: {out.stdout.strip()}"
