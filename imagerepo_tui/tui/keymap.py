"""User key remapping for ``App.set_keymap``: config.toml's ``[keys]`` over the older
``keymap.toml``, both in the user config dir, and the binding ids neither may misspell."""

from __future__ import annotations

import importlib
import pkgutil
import tomllib
from collections.abc import Collection
from pathlib import Path

from textual.binding import Binding
from textual.dom import DOMNode

from imagerepo_tui.config import (
    KEYS_EXPECTED,
    ConfigFile,
    Settings,
    config_dir,
    key_bindings,
    line_numbers,
)

# Screens imported only when first shown (to keep start-up short) hold binding ids too.
_LAZY_PACKAGES = ("imagerepo_tui.tui.screens", "imagerepo_tui.tui.widgets")


def keymap_path() -> Path:
    return config_dir() / "keymap.toml"


def load_keymap(path: Path | None = None) -> ConfigFile:
    """The older keymap file (binding id -> comma-separated keys) and its problems.

    A missing file is normal; a broken one must not stop the app, only be reported.
    Accepts the ids at the top level or inside a ``[keymap]`` table.
    """
    path = path or keymap_path()
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except FileNotFoundError:
        return ConfigFile(path)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        return ConfigFile(path, problems=[f"{path}: {error} (the whole file is ignored)"])
    table = raw["keymap"] if isinstance(raw.get("keymap"), dict) else raw
    prefix = ("keymap",) if table is not raw else ()
    lines = line_numbers(text)
    keymap, bad = key_bindings(table)
    found = ConfigFile(path, keys=keymap)
    found.key_lines = {i: lines[(*prefix, i)] for i in keymap if (*prefix, i) in lines}
    for binding_id in bad:
        line = lines.get((*prefix, binding_id))
        at = f"{path}:{line}" if line else str(path)
        found.problems.append(f'{at}: "{binding_id}" {KEYS_EXPECTED} (ignored)')
    return found


def merged_keymap(settings: Settings) -> tuple[dict[str, str], list[ConfigFile]]:
    """Binding id -> keys for ``App.set_keymap``: keymap.toml, then config.toml's
    ``[keys]`` over it (the newer file wins), and both files for reporting."""
    legacy = load_keymap()
    current = ConfigFile(
        settings.config_path or Path("config.toml"),
        keys=dict(settings.keys),
        key_lines=dict(settings.key_lines),
    )
    return {**legacy.keys, **current.keys}, [legacy, current]


def _loaded_binding_ids() -> set[str]:
    ids: set[str] = set()
    seen: set[type] = set()
    classes: list[type] = [DOMNode]
    while classes:
        cls = classes.pop()
        if cls in seen:
            continue
        seen.add(cls)
        classes.extend(cls.__subclasses__())
        bindings = cls.__dict__.get("BINDINGS", ())
        ids.update(b.id for b in bindings if isinstance(b, Binding) and b.id)
    return ids


def known_binding_ids(wanted: Collection[str]) -> set[str]:
    """Every binding id of the app's screens and widgets; the lazily imported ones are
    imported only when ``wanted`` names an id the loaded ones do not have."""
    ids = _loaded_binding_ids()
    if set(wanted) <= ids:
        return ids
    for package_name in _LAZY_PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package_name}.{module.name}")
    return _loaded_binding_ids()


def unknown_ids(files: list[ConfigFile], known: Collection[str]) -> list[str]:
    """One problem for each binding id no binding has (a typo, or a renamed binding)."""
    problems: list[str] = []
    for found in files:
        for binding_id in found.keys:
            if binding_id not in known:
                line = found.key_lines.get(binding_id)
                at = f"{found.path}:{line}" if line else str(found.path)
                problems.append(f'{at}: no key binding has the id "{binding_id}" (ignored)')
    return problems


def keymap_problems(settings: Settings, files: list[ConfigFile]) -> list[str]:
    """What to tell the user about their settings files, config.toml's first."""
    known = known_binding_ids({binding_id for found in files for binding_id in found.keys})
    legacy_problems = [p for found in files for p in found.problems]
    return [*settings.problems, *legacy_problems, *unknown_ids(files, known)]
