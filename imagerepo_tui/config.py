"""Settings: command-line options over IMAGEREPO_* environment variables over
``config.toml`` over defaults, gathered into the one ``Settings`` object every part reads.

Loaded before the TUI's first frame, so nothing heavier than ``tomllib`` is imported here.
A broken config file never stops the program: each problem is kept in
``Settings.problems`` (path and line) for the CLI or the TUI to report, and what can
still be used is used. A bad environment variable or option is a usage error instead:
it was given on purpose, for this one run.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from imagerepo_tui.units import MIB

APP_NAME = "imagerepo-tui"
CONFIG_ENV = "IMAGEREPO_CONFIG"
DEFAULT_MAX_FILE_MB = 200  # MiB
DEFAULT_MAX_MEGAPIXELS = 178  # Pillow's own hard limit (2x MAX_IMAGE_PIXELS), in megapixels
DEFAULT_EMBEDDED_IDLE_SECONDS = 120.0
DEFAULT_SLIDESHOW_SECONDS = 5.0
GRAPHICS_MODES = ("auto", "kitty", "sixel", "halfcell", "none")


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def config_path() -> Path:
    """``config.toml`` in the platform's config dir, or wherever IMAGEREPO_CONFIG says."""
    chosen = os.environ.get(CONFIG_ENV, "").strip()
    return Path(chosen).expanduser() if chosen else config_dir() / "config.toml"


# -- the settings: where each is in the file, its variable, how a value is checked ----


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value


def _positive_number(value: object) -> float:
    # bool is an int to Python, but `max_file_mb = true` is a mistake, not 1 MiB.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    try:
        number = float(value)  # TOML integers have no upper bound in tomllib
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or number <= 0:
        raise ValueError("must be a finite number above 0")
    return number


def _graphics_mode(value: object) -> str:
    if value not in GRAPHICS_MODES:
        raise ValueError(f"must be one of {', '.join(GRAPHICS_MODES)}")
    return str(value)


@dataclass(frozen=True)
class Field:
    """One setting: its table and key in the file, its variable, how a value is checked."""

    section: str
    key: str
    env: str
    check: Callable[[object], object]
    numeric: bool = False

    def from_env(self, raw: str) -> object:
        """The variable's text as the value the file would give (numbers parsed)."""
        value: object = raw
        if self.numeric:
            # Text that is no number is left for the check to say what is wrong.
            with contextlib.suppress(ValueError):
                value = float(raw)
        try:
            return self.check(value)
        except ValueError as error:
            raise ValueError(f"{self.env} {error}, not {raw!r}") from None


# Setting name -> where it is in the file and its environment variable.
FIELDS: dict[str, Field] = {
    "db_uri": Field("database", "uri", "IMAGEREPO_DB", _text),
    "data_dir": Field("database", "data_dir", "IMAGEREPO_DATA_DIR", _text),
    "user": Field("database", "user", "IMAGEREPO_USER", _text),
    "embedded_idle_seconds": Field(
        "database", "idle_stop_seconds", "IMAGEREPO_EMBEDDED_IDLE_SECONDS", _positive_number, True
    ),
    "max_file_mb": Field("limits", "max_file_mb", "IMAGEREPO_MAX_FILE_MB", _positive_number, True),
    "max_megapixels": Field(
        "limits", "max_megapixels", "IMAGEREPO_MAX_MEGAPIXELS", _positive_number, True
    ),
    "graphics": Field("display", "graphics", "IMAGEREPO_GRAPHICS", _graphics_mode),
    "slideshow_seconds": Field(
        "display", "slideshow_seconds", "IMAGEREPO_SLIDESHOW_SECONDS", _positive_number, True
    ),
}
KEYS_SECTION = "keys"
SECTIONS = {f.section for f in FIELDS.values()} | {KEYS_SECTION}


# -- reading config.toml ---------------------------------------------------------------


@dataclass
class ConfigFile:
    """What one config file says, checked: usable values and the problems found."""

    path: Path
    values: dict[str, object] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    key_lines: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


_KEY_PART = r"""(?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)"""
_KEY_PATH = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_HEADER = re.compile(rf"^\s*\[\s*({_KEY_PATH})\s*\]")
_ASSIGNMENT = re.compile(rf"^\s*({_KEY_PATH})\s*=")


def _unquoted(part: str) -> str:
    if part.startswith('"'):  # a basic string: its escapes (\\u001b, \\") are TOML's
        try:
            return str(tomllib.loads(f"k = {part}")["k"])
        except tomllib.TOMLDecodeError:
            return part[1:-1]
    return part[1:-1] if part.startswith("'") else part


def _key_parts(path: str) -> tuple[str, ...]:
    return tuple(_unquoted(part) for part in re.findall(_KEY_PART, path))


def line_numbers(text: str) -> dict[tuple[str, ...], int]:
    """Line numbers of the file's keys and tables, by full key path: tomllib gives lines
    only for syntax errors, and a wrong value is found by its line. Good enough for
    plain files (a line inside a multi-line string could mislead it, and then a
    message names a wrong line, nothing worse)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _HEADER.match(line):
            table = _key_parts(header.group(1))
            lines.setdefault(table, number)
        elif assignment := _ASSIGNMENT.match(line):
            lines.setdefault(table + _key_parts(assignment.group(1)), number)
    return lines


KEYS_EXPECTED = 'must be keys: a string such as "n,down", or a list of keys'


def _shown(value: object) -> str:
    # A whole table pasted in the wrong place would make an unreadable warning.
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def key_bindings(table: Mapping[str, object]) -> tuple[dict[str, str], list[str]]:
    """Binding id -> comma-separated keys (a string, or a list of keys), and the ids
    whose value is neither."""
    keymap: dict[str, str] = {}
    bad: list[str] = []
    for binding_id, keys in table.items():
        if isinstance(keys, str) and keys.strip():
            keymap[binding_id] = keys
        elif isinstance(keys, list) and keys and all(isinstance(k, str) for k in keys):
            keymap[binding_id] = ",".join(keys)
        else:
            bad.append(binding_id)
    return keymap, bad


class _Reader:
    """Checks one parsed file, recording each problem with the line it is on."""

    def __init__(self, path: Path, text: str) -> None:
        self.result = ConfigFile(path)
        self.lines = line_numbers(text)

    def problem(self, where: tuple[str, ...], message: str) -> None:
        line = self.lines.get(where) or self.lines.get(where[:1])
        at = f"{self.result.path}:{line}" if line else str(self.result.path)
        self.result.problems.append(f"{at}: {message} (ignored)")

    def read(self, raw: dict[str, object]) -> ConfigFile:
        fields = {(f.section, f.key): (name, f) for name, f in FIELDS.items()}
        for section, table in raw.items():
            if section not in SECTIONS:
                unknown = f"[{section}]" if isinstance(table, dict) else repr(section)
                self.problem((section,), f"unknown setting {unknown}")
            elif not isinstance(table, dict):
                self.problem((section,), f"[{section}] must be a table of settings")
            elif section == KEYS_SECTION:
                self.read_keys(table)
            else:
                for key, value in table.items():
                    self.read_value(section, key, value, fields.get((section, key)))
        return self.result

    def read_value(
        self, section: str, key: str, value: object, known: tuple[str, Field] | None
    ) -> None:
        if known is None:
            self.problem((section, key), f"unknown setting {key!r} in [{section}]")
            return
        name, setting = known
        try:
            self.result.values[name] = setting.check(value)
        except ValueError as error:
            self.problem((section, key), f"{section}.{key} {error}, not {_shown(value)}")

    def read_keys(self, table: dict[str, object]) -> None:
        keymap, bad = key_bindings(table)
        for binding_id in bad:
            self.problem(
                (KEYS_SECTION, binding_id),
                f'keys."{binding_id}" {KEYS_EXPECTED}',
            )
        self.result.keys = keymap
        for binding_id in keymap:
            line = self.lines.get((KEYS_SECTION, binding_id))
            if line:
                self.result.key_lines[binding_id] = line


def read_config(path: Path) -> ConfigFile:
    """The file checked; a missing file is normal and says nothing, an unreadable or
    malformed one is one problem and nothing from it is used."""
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except FileNotFoundError:
        return ConfigFile(path)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        # tomllib's message carries the line and column: "... (at line 3, column 9)".
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        return ConfigFile(path, problems=[f"{path}: {reason} (the whole file is ignored)"])
    return _Reader(path, text).read(raw)


# -- Settings ----------------------------------------------------------------------------


def _choose(name: str, given: str | None, config: ConfigFile) -> object | None:
    """Option over environment variable over config file; None when none says."""
    if given:
        return given
    setting = FIELDS[name]
    raw = os.environ.get(setting.env)
    if raw is not None and raw.strip():
        return setting.from_env(raw)
    return config.values.get(name)


def _text_setting(name: str, given: str | None, config: ConfigFile) -> str | None:
    value = _choose(name, given, config)
    return value if isinstance(value, str) else None


def _number_setting(name: str, config: ConfigFile, default: float) -> float:
    value = _choose(name, None, config)
    return value if isinstance(value, float) else default


def _data_dir(given: str | Path | None, config: ConfigFile) -> Path:
    chosen = given or os.environ.get("IMAGEREPO_DATA_DIR", "").strip()
    if chosen:
        return Path(chosen).expanduser()
    value = config.values.get("data_dir")
    if not isinstance(value, str):
        return default_data_dir()
    # A relative path in the file means next to the file: the working directory
    # changes from run to run, the file does not.
    path = Path(value).expanduser()
    return path if path.is_absolute() else config.path.parent / path


@dataclass(frozen=True)
class Settings:
    """Everything the program needs to know about where and how to store and show images."""

    db_uri: str | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    max_file_bytes: int = DEFAULT_MAX_FILE_MB * MIB
    max_pixels: int = DEFAULT_MAX_MEGAPIXELS * 1_000_000
    embedded_idle_seconds: float = DEFAULT_EMBEDDED_IDLE_SECONDS
    # The account to log in as, in a library that has accounts.
    user: str | None = None
    graphics: str = "auto"
    # The full-screen preview's slideshow: seconds per image.
    slideshow_seconds: float = DEFAULT_SLIDESHOW_SECONDS
    # Binding id -> keys, from config.toml's [keys] (the TUI adds the older keymap.toml).
    keys: Mapping[str, str] = field(default_factory=dict, hash=False)
    key_lines: Mapping[str, int] = field(default_factory=dict, hash=False, compare=False)
    config_path: Path | None = field(default=None, compare=False)
    # What was wrong with the config file, one line each with path and line number.
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def load(
        cls,
        db_uri: str | None = None,
        data_dir: str | Path | None = None,
        user: str | None = None,
        graphics: str | None = None,
        config: Path | None = None,
    ) -> Settings:
        """Explicit arguments (the options) win over the environment, which wins over
        the config file (``config_path()`` unless given), which wins over defaults.

        A bad environment variable raises ValueError; a bad file never raises.
        """
        file = read_config(config or config_path())
        max_mb = _number_setting("max_file_mb", file, DEFAULT_MAX_FILE_MB)
        max_mp = _number_setting("max_megapixels", file, DEFAULT_MAX_MEGAPIXELS)
        return cls(
            db_uri=_text_setting("db_uri", db_uri, file),
            data_dir=_data_dir(data_dir, file),
            max_file_bytes=int(max_mb * MIB),
            max_pixels=int(max_mp * 1_000_000),
            embedded_idle_seconds=_number_setting(
                "embedded_idle_seconds", file, DEFAULT_EMBEDDED_IDLE_SECONDS
            ),
            user=_text_setting("user", user, file),
            graphics=_text_setting("graphics", graphics, file) or "auto",
            slideshow_seconds=_number_setting("slideshow_seconds", file, DEFAULT_SLIDESHOW_SECONDS),
            keys=file.keys,
            key_lines=file.key_lines,
            config_path=file.path,
            problems=tuple(file.problems),
        )

    # The older name: it reads the config file too now.
    from_env = load


def redact_uri(uri: str) -> str:
    """The URI without its password, fit to show in a status line or an error."""
    return re.sub(r"(mongodb(?:\+srv)?://)([^:@/]+):[^@/]*@", r"\1\2:***@", uri)
