"""The core is headless: no Textual in it, and only store/ speaks to the database."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import imagerepo_tui
from tests.sample_images import jpeg_bytes, write

PACKAGE = Path(imagerepo_tui.__file__).parent
DATABASE_LIBRARIES = {"pymongo", "mongoengine", "gridfs", "bson", "motor"}

_USE_THE_CORE = """
import json, sys
from pathlib import Path
import imagerepo_tui.repository, imagerepo_tui.imaging, imagerepo_tui.store
import imagerepo_tui.config, imagerepo_tui.errors, imagerepo_tui.textsafe
import imagerepo_tui.cli  # the CLI too: Textual loads only when the TUI opens
from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository

repo = ImageRepository.open(Settings(db_uri=sys.argv[1], data_dir=Path(sys.argv[2])))
result = repo.upload(Path(sys.argv[3]))
listed = [image.id for image in repo.iter_images()]
repo.close()
print(json.dumps({
    "status": result.status,
    "listed": listed,
    "loaded": sorted(m for m in sys.modules if m == "textual" or m.startswith("textual.")),
}))
"""


def test_core_and_cli_never_load_textual(db_uri: str, tmp_path: Path) -> None:
    image = write(tmp_path / "a.jpg", jpeg_bytes(seed=1))
    done = subprocess.run(
        [sys.executable, "-c", _USE_THE_CORE, db_uri, str(tmp_path / "data"), str(image)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "created" and len(report["listed"]) == 1
    assert report["loaded"] == []


def test_a_cli_command_never_loads_textual(db_uri: str) -> None:
    probe = (
        "import sys\n"
        "from imagerepo_tui.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "assert 'textual' not in sys.modules, 'textual was imported'\n"
        "raise SystemExit(status)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "--db", db_uri, "ls", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"


def test_the_tui_starts_without_what_its_first_frame_does_not_need() -> None:
    """What the TUI imports before its first frame, it imports in every start: the
    database driver loads in the connecting worker, numpy (textual-image's optional
    Sixel speed-up) not at all, the HEIF plugin on the first decode, the CLI's output
    and commands and rarely used screens on first use, the safekeeping state once the
    first rows are on screen."""
    probe = (
        "import json, sys\n"
        "import imagerepo_tui.cli, imagerepo_tui.tui.app\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    assert "textual_image.widget" in loaded  # the probe does load the TUI
    deferred = {
        "numpy",
        "pillow_heif",  # registered on the first decode
        "pymongo",
        "mongoengine",
        "imagerepo_tui.repository",
        "imagerepo_tui.cli.output",
        "imagerepo_tui.cli.commands",
        "imagerepo_tui.safekeeping.jobs",
        "imagerepo_tui.tui.screens.upload",
        "imagerepo_tui.tui.screens.login",
    }
    assert deferred.isdisjoint(loaded), deferred & loaded


def _imported_roots(source: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            roots.add(str(node.args[0].value).split(".")[0])
    return roots


def test_only_store_imports_database_libraries() -> None:
    offenders = {}
    checked = 0
    for source in sorted(PACKAGE.rglob("*.py")):
        relative = source.relative_to(PACKAGE)
        checked += 1
        if relative.parts[0] == "store":
            continue
        found = _imported_roots(source) & DATABASE_LIBRARIES
        if found:
            offenders[str(relative)] = sorted(found)
    assert checked > 10  # the scan really saw the package
    assert offenders == {}


def test_the_scan_sees_every_import_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os, pymongo.errors\n"
        "from bson import ObjectId\n"
        "from . import sibling\n"
        "import importlib\n"
        "importlib.import_module('gridfs')\n"
        "def f():\n"
        "    import mongoengine\n"
    )
    assert _imported_roots(sample) & DATABASE_LIBRARIES == {
        "pymongo",
        "bson",
        "gridfs",
        "mongoengine",
    }


def test_only_tui_imports_textual() -> None:
    offenders = [
        str(source.relative_to(PACKAGE))
        for source in sorted(PACKAGE.rglob("*.py"))
        if source.relative_to(PACKAGE).parts[0] != "tui"
        and {"textual", "textual_image"} & _imported_roots(source)
    ]
    # cli/ may open the app, but only through a lazy import inside a function, which
    # the subprocess tests above prove is never reached by a subcommand.
    assert [name for name in offenders if not name.startswith("cli")] == []
