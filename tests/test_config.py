"""config.toml: every setting loaded, options over environment over file over defaults,
a broken file reported (path and line) and skipped, never a traceback, and remapped
keys that really work in the app, the older keymap.toml included."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from imagerepo_tui.config import (
    DEFAULT_EMBEDDED_IDLE_SECONDS,
    DEFAULT_MAX_FILE_MB,
    DEFAULT_SLIDESHOW_SECONDS,
    GRAPHICS_MODES,
    Settings,
    config_path,
    default_data_dir,
)
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.keymap import keymap_path
from tests.sample_images import jpeg_bytes, write
from tests.support import Cli, run_main
from tests.tui_support import ready, run_app_test, settle, upload_samples, wait_for

MB = 1024 * 1024


def write_config(text: str) -> Path:
    """The test's config.toml (conftest points IMAGEREPO_CONFIG into its own temp home)."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


# -- loading -----------------------------------------------------------------------------


def test_tests_never_read_the_users_config(tmp_path: Path):
    assert config_path().is_relative_to(tmp_path)
    assert keymap_path().is_relative_to(tmp_path)


def test_every_setting_is_loaded():
    path = write_config(
        """
[database]
uri = "mongodb://db.example.org/photos"
data_dir = "~/Pictures/library"
user = "alice"
idle_stop_seconds = 30

[limits]
max_file_mb = 2.5
max_megapixels = 40

[display]
graphics = "sixel"
slideshow_seconds = 2.5

[keys]
"upload.hide" = "h"
"gallery.down" = ["n", "down"]
"""
    )
    settings = Settings.load()
    assert settings.db_uri == "mongodb://db.example.org/photos"
    assert settings.data_dir == Path.home() / "Pictures" / "library"
    assert settings.user == "alice"
    assert settings.embedded_idle_seconds == 30
    assert settings.max_file_bytes == int(2.5 * MB)
    assert settings.max_pixels == 40_000_000
    assert settings.graphics == "sixel"
    assert settings.slideshow_seconds == 2.5
    assert dict(settings.keys) == {"upload.hide": "h", "gallery.down": "n,down"}
    assert settings.config_path == path
    assert settings.problems == ()


def test_no_file_means_defaults():
    settings = Settings.load()
    assert not config_path().exists()
    assert settings == Settings(data_dir=default_data_dir())
    assert settings.problems == ()


def test_relative_data_dir_is_next_to_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write_config('[database]\ndata_dir = "library"\n')
    assert Settings.load().data_dir == path.parent / "library"


def test_config_env_names_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    other = tmp_path / "other.toml"
    other.write_text('[display]\ngraphics = "kitty"\n', encoding="utf-8")
    write_config('[display]\ngraphics = "sixel"\n')
    monkeypatch.setenv("IMAGEREPO_CONFIG", str(other))
    assert Settings.load().graphics == "kitty"


def test_graphics_modes_match_the_preview_widget():
    from imagerepo_tui.tui.widgets.preview import GRAPHICS_CHOICES

    assert GRAPHICS_MODES == GRAPHICS_CHOICES


# -- precedence: option > environment > file > default -----------------------------------

# Settings attribute (and Settings.load argument), env var, file line, default.
PRECEDENCE = [
    ("db_uri", "IMAGEREPO_DB", '[database]\nuri = "mongodb://file/x"', None),
    ("user", "IMAGEREPO_USER", '[database]\nuser = "from-file"', None),
    ("graphics", "IMAGEREPO_GRAPHICS", '[display]\ngraphics = "sixel"', "auto"),
]


@pytest.mark.parametrize(("attribute", "env", "line", "default"), PRECEDENCE)
def test_option_over_env_over_file_over_default(
    monkeypatch: pytest.MonkeyPatch,
    attribute: str,
    env: str,
    line: str,
    default: str | None,
):
    option_value = "none" if attribute == "graphics" else f"option-{attribute}"
    env_value = "kitty" if attribute == "graphics" else f"env-{attribute}"
    file_value = re.findall(r'"(.*)"', line)[0]

    assert getattr(Settings.load(), attribute) == default
    write_config(line)
    assert getattr(Settings.load(), attribute) == file_value
    monkeypatch.setenv(env, env_value)
    assert getattr(Settings.load(), attribute) == env_value
    assert getattr(Settings.load(**{attribute: option_value}), attribute) == option_value


def test_data_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert Settings.load().data_dir == default_data_dir()
    write_config(f'[database]\ndata_dir = "{tmp_path / "file"}"\n')
    assert Settings.load().data_dir == tmp_path / "file"
    monkeypatch.setenv("IMAGEREPO_DATA_DIR", str(tmp_path / "env"))
    assert Settings.load().data_dir == tmp_path / "env"
    assert Settings.load(data_dir=tmp_path / "option").data_dir == tmp_path / "option"


@pytest.mark.parametrize(
    ("attribute", "env", "key", "scale", "default"),
    [
        ("max_file_bytes", "IMAGEREPO_MAX_FILE_MB", "[limits]\nmax_file_mb", MB, 200),
        ("max_pixels", "IMAGEREPO_MAX_MEGAPIXELS", "[limits]\nmax_megapixels", 10**6, 178),
        (
            "embedded_idle_seconds",
            "IMAGEREPO_EMBEDDED_IDLE_SECONDS",
            "[database]\nidle_stop_seconds",
            1,
            DEFAULT_EMBEDDED_IDLE_SECONDS,
        ),
        (
            "slideshow_seconds",
            "IMAGEREPO_SLIDESHOW_SECONDS",
            "[display]\nslideshow_seconds",
            1,
            DEFAULT_SLIDESHOW_SECONDS,
        ),
    ],
)
def test_numbers_env_over_file_over_default(
    monkeypatch: pytest.MonkeyPatch, attribute: str, env: str, key: str, scale: int, default: float
):
    assert getattr(Settings.load(), attribute) == default * scale
    write_config(f"{key} = 7\n")
    assert getattr(Settings.load(), attribute) == 7 * scale
    monkeypatch.setenv(env, "9")
    assert getattr(Settings.load(), attribute) == 9 * scale


@pytest.mark.parametrize("raw", ["big", "inf", "-5", "0", "nan"])
def test_bad_env_number_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch, raw: str):
    monkeypatch.setenv("IMAGEREPO_MAX_FILE_MB", raw)
    with pytest.raises(ValueError, match=f"IMAGEREPO_MAX_FILE_MB must be .*, not '{raw}'"):
        Settings.load()


def test_bad_env_graphics_is_a_usage_error(cli: Cli, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("IMAGEREPO_GRAPHICS", "vga")
    status, _, err = cli("ls")
    assert status == 2
    assert "IMAGEREPO_GRAPHICS must be one of auto, kitty, sixel, halfcell, none" in err


# -- a broken file: reported with its path and line, skipped ------------------------------


def test_syntax_error_is_reported_with_its_line_and_the_file_skipped():
    path = write_config(
        '[limits]\nmax_file_mb = 5\nmax_megapixels = = 3\n[display]\ngraphics = "none"\n'
    )
    settings = Settings.load()
    assert settings.max_file_bytes == DEFAULT_MAX_FILE_MB * MB  # the whole file is skipped
    assert settings.graphics == "auto"
    [problem] = settings.problems
    assert problem.startswith(f"{path}: ")
    assert "line 3" in problem
    assert "the whole file is ignored" in problem


def test_wrong_types_are_reported_per_key_and_the_rest_applies():
    path = write_config(
        """[database]
idle_stop_seconds = true
uri = 5

[limits]
max_file_mb = "big"
max_megapixels = 40

[display]
graphics = "vga"

[keys]
"gallery.down" = 3
"gallery.up" = "p"
"""
    )
    settings = Settings.load()
    assert settings.max_pixels == 40_000_000  # the good lines still count
    assert dict(settings.keys) == {"gallery.up": "p"}
    assert settings.embedded_idle_seconds == DEFAULT_EMBEDDED_IDLE_SECONDS
    assert settings.db_uri is None
    assert settings.max_file_bytes == DEFAULT_MAX_FILE_MB * MB
    assert settings.graphics == "auto"
    assert list(settings.problems) == [
        f"{path}:2: database.idle_stop_seconds must be a number, not True (ignored)",
        f"{path}:3: database.uri must be a non-empty string, not 5 (ignored)",
        f"{path}:6: limits.max_file_mb must be a number, not 'big' (ignored)",
        f"{path}:10: display.graphics must be one of auto, kitty, sixel, halfcell, none, "
        "not 'vga' (ignored)",
        f'{path}:13: keys."gallery.down" must be keys: a string such as "n,down", or a list '
        "of keys (ignored)",
    ]


@pytest.mark.parametrize("value", ["-1", "0", "inf", "nan", "1" + "0" * 400])
def test_numbers_must_be_finite_and_positive(value: str):
    write_config(f"[limits]\nmax_file_mb = {value}\n")
    settings = Settings.load()
    assert settings.max_file_bytes == DEFAULT_MAX_FILE_MB * MB
    [problem] = settings.problems
    assert ":2: limits.max_file_mb must be a finite number above 0" in problem
    assert len(problem) < len(str(config_path())) + 150  # a long value is cut short


def test_unknown_names_are_warned_with_their_line():
    path = write_config(
        """theme = "dark"

[limits]
max_file_md = 5
max_megapixels = 40

[limit]
max_file_mb = 5
"""
    )
    settings = Settings.load()
    assert settings.max_pixels == 40_000_000
    assert list(settings.problems) == [
        f"{path}:1: unknown setting 'theme' (ignored)",
        f"{path}:4: unknown setting 'max_file_md' in [limits] (ignored)",
        f"{path}:7: unknown setting [limit] (ignored)",
    ]


def test_dotted_keys_are_found_too():
    path = write_config("limits.max_file_mb = 'big'\n")
    assert Settings.load().problems == (
        f"{path}:1: limits.max_file_mb must be a number, not 'big' (ignored)",
    )


def test_unreadable_file_is_reported_not_raised():
    path = config_path()
    path.mkdir(parents=True)  # a folder where the file should be
    settings = Settings.load()
    assert settings.problems == (f"{path}: Is a directory (the whole file is ignored)",)
    path.rmdir()
    write_config("")
    path.write_bytes(b'[display]\ngraphics = "\xff"\n')
    [problem] = Settings.load().problems
    assert "utf-8" in problem
    assert "the whole file is ignored" in problem


# -- the CLI -----------------------------------------------------------------------------


def test_cli_warns_once_for_a_broken_file_and_still_works(cli: Cli):
    path = write_config('[limits]\nmax_file_mb = "big"\n')
    status, out, err = cli("ls", "--json")
    assert status == 0
    assert json.loads(out) == []
    assert warnings(err) == [
        f"warning: {path}:2: limits.max_file_mb must be a number, not 'big' (ignored)"
    ]

    write_config("[limits\n")
    status, _, err = cli("ls")
    assert status == 0
    [warning] = warnings(err)
    assert warning.startswith(f"warning: {path}: ") and "line 1" in warning


def test_cli_warning_is_one_escaped_line(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "odd\x1b[31m\nname.toml"
    path.write_text('"\\u001b[2J" = 1\n', encoding="utf-8")
    monkeypatch.setenv("IMAGEREPO_CONFIG", str(path))
    status, _, err = cli("ls")
    assert status == 0
    assert "\x1b" not in err
    [warning] = warnings(err)
    assert "odd\\x1b[31m\\x0aname.toml:1: unknown setting '\\x1b[2J'" in warning
    assert len(err.splitlines()) == 1


def test_cli_uses_the_files_database_and_limit(db_uri: str, tmp_path: Path, capsys: Any):
    """The file's settings take effect: its uri is the library, its limit refuses."""
    small = write(tmp_path / "small.jpg", jpeg_bytes(16, 16))
    big = write(tmp_path / "big.jpg", jpeg_bytes(400, 300, seed=3))
    limit_mb = (small.stat().st_size + big.stat().st_size) / 2 / MB
    write_config(f'[database]\nuri = "{db_uri}"\n[limits]\nmax_file_mb = {limit_mb}\n')

    assert run_main(["upload", str(small), str(big)]) == 1
    err = capsys.readouterr().err
    assert "big.jpg" in err and "small.jpg" not in err
    assert run_main(["ls", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [image["filename"] for image in listed] == ["small.jpg"]


def test_cli_option_wins_over_the_files_database(cli: Cli):
    write_config('[database]\nuri = "mongodb://127.0.0.1:1/nowhere"\n')
    status, out, _ = cli("ls", "--json")  # cli gives --db: the test's real database
    assert (status, json.loads(out)) == (0, [])


def test_help_says_where_the_file_is(capsys: Any):
    assert run_main(["--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert str(config_path()) in help_text
    assert "IMAGEREPO_CONFIG" in help_text


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [([], None, "sixel"), ([], "kitty", "kitty"), (["--graphics", "none"], "kitty", "none")],
)
def test_graphics_reaches_the_app(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: str | None,
    expected: str,
):
    """Through the CLI's own parsing, to what probes the terminal and what runs the app
    (both stand-ins: a real terminal is not there to run in)."""
    from imagerepo_tui.tui import app, optional_imports

    write_config('[display]\ngraphics = "sixel"\n')
    if env:
        monkeypatch.setenv("IMAGEREPO_GRAPHICS", env)
    seen: dict[str, object] = {}
    monkeypatch.setattr(optional_imports, "load_image_widgets", lambda g: seen.update(probe=g))

    def fake_run_app(settings: Settings, graphics: str) -> int:
        seen.update(settings=settings.graphics, app=graphics)
        return 0

    monkeypatch.setattr(app, "run_app", fake_run_app)
    assert run_main(["--data-dir", str(tmp_path / "somewhere-new"), *argv]) == 0
    assert seen == {"probe": expected, "settings": expected, "app": expected}


# -- the TUI: remapped keys really work ---------------------------------------------------


def test_config_keys_remap_and_win_over_keymap_toml(
    db_uri: str, repo: ImageRepository, tmp_path: Path
):
    upload_samples(repo, tmp_path / "in", 3)
    keymap_path().parent.mkdir(parents=True, exist_ok=True)
    keymap_path().write_text('"gallery.down" = "n"\n"gallery.up" = "p"\n', encoding="utf-8")
    write_config('[keys]\n"gallery.down" = "m"\n')
    settings = Settings.load(db_uri=db_uri, data_dir=tmp_path / "data")

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 3)
        await pilot.press("m")  # config.toml's key
        await settle(pilot)
        assert gallery.cursor == 1
        await pilot.press("n", "j")  # keymap.toml's key for the same id lost; the default too
        await settle(pilot)
        assert gallery.cursor == 1
        await pilot.press("p")  # keymap.toml still counts for what config.toml leaves alone
        await settle(pilot)
        assert gallery.cursor == 0
        assert not app._notifications

    run_app_test(settings, body, repo)


def test_remapped_quit_quits(db_uri: str, repo: ImageRepository, tmp_path: Path):
    write_config('[keys]\n"app.quit" = "ctrl+x"\n')
    settings = Settings.load(db_uri=db_uri, data_dir=tmp_path / "data")

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 0)
        await pilot.press("q")
        await settle(pilot)
        assert app.is_running  # q is no longer quit
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: not app.is_running)

    run_app_test(settings, body, repo)


def test_tui_shows_the_files_problems(db_uri: str, repo: ImageRepository, tmp_path: Path):
    path = write_config('[limits]\nmax_file_mb = "[b]big"\n\n[keys]\n"gallery.dwn" = "n"\n')
    keymap_path().write_text('"upload.hidden" = "h"\n"gallery.up" = 1\n', encoding="utf-8")
    settings = Settings.load(db_uri=db_uri, data_dir=tmp_path / "data")

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 0)
        [notice] = app._notifications
        assert notice.title == "Settings" and notice.markup is False
        assert str(notice.message).splitlines() == [
            f"{path}:2: limits.max_file_mb must be a number, not '[b]big' (ignored)",
            f'{keymap_path()}:2: "gallery.up" must be keys: a string such as "n,down", or a '
            "list of keys (ignored)",
            f'{keymap_path()}:1: no key binding has the id "upload.hidden" (ignored)',
            f'{path}:5: no key binding has the id "gallery.dwn" (ignored)',
        ]

    run_app_test(settings, body, repo)


def test_every_binding_id_is_known_to_the_check():
    """No false "no key binding has the id" warning: every id in the code is found,
    screens imported only when first shown included (a fresh process, as at start-up)."""
    code = (
        "import imagerepo_tui.tui.app\n"
        "from imagerepo_tui.tui.keymap import known_binding_ids\n"
        "print(' '.join(sorted(known_binding_ids({'no.such'}))))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    known = set(run.stdout.split())
    package = Path(__file__).parent.parent / "imagerepo_tui" / "tui"
    in_code = {
        found
        for source in package.rglob("*.py")
        for found in re.findall(r'Binding\([^)]*\bid="([^"]+)"', source.read_text(), re.S)
    }
    assert len(in_code) > 40  # the regex finds them: the app has ~50 bindings
    assert in_code <= known
