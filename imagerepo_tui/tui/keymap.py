"""User key remapping: ``keymap.toml`` in the user config dir, fed to ``App.set_keymap``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import platformdirs

from imagerepo_tui.config import APP_NAME


def keymap_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "keymap.toml"


def load_keymap(path: Path | None = None) -> tuple[dict[str, str], str | None]:
    """The keymap (binding id -> comma-separated keys) and a problem to report, if any.

    A missing file is normal; a broken one must not stop the app, only be reported.
    Accepts the ids at the top level or inside a ``[keymap]`` table.
    """
    path = path or keymap_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        return {}, f"ignored {path}: {error}"
    table = raw.get("keymap", raw) if isinstance(raw.get("keymap"), dict) else raw
    keymap: dict[str, str] = {}
    bad: list[str] = []
    for binding_id, keys in table.items():
        if isinstance(keys, str) and keys.strip():
            keymap[binding_id] = keys
        elif isinstance(keys, list) and keys and all(isinstance(k, str) for k in keys):
            keymap[binding_id] = ",".join(keys)
        else:
            bad.append(str(binding_id))
    problem = f"{path}: ignored entries {', '.join(bad)}" if bad else None
    return keymap, problem
