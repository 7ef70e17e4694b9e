"""What the app remembers between runs: survives a restart, never stops a start."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagerepo_tui.remembered import Remembered, state_path


def test_values_survive_a_new_reader(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.json"
    first = Remembered(path)
    first.set("view", "grid")
    first.set("recent", ["/a", "/b"])
    first.set("size", 3)
    again = Remembered(path)
    assert (again.text("view"), again.texts("recent"), again.number("size", 1)) == (
        "grid",
        ["/a", "/b"],
        3,
    )


@pytest.mark.parametrize(
    "content", [b"", b"{not json", b"[1, 2]", b"\xff\xfe", b'{"view": 1' + b" " * 70000 + b"}"]
)
def test_a_mangled_file_means_nothing_remembered(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    state = Remembered(path)
    assert state.text("view", "list") == "list" and state.texts("recent") == []
    state.set("view", "grid")  # and the file is usable again
    assert Remembered(path).text("view") == "grid"


def test_wrong_types_read_as_defaults(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"view": ["grid"], "recent": ["/a", 3, null], "size": true}')
    state = Remembered(path)
    assert state.text("view", "list") == "list"
    assert state.texts("recent") == ["/a"]
    assert state.number("size", 2) == 2


def test_an_unwritable_place_only_forgets(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    state = Remembered(blocker / "state.json")  # its folder is a file
    state.set("view", "grid")
    assert state.text("view") == "grid"  # kept for this run
    assert not (tmp_path / "file").is_dir()


def test_tests_never_touch_the_users_state() -> None:
    assert "imagerepo-tui.json" in str(state_path()) and "home" in str(state_path())


def test_two_readers_keep_each_others_values(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    grid, picker = Remembered(path), Remembered(path)
    grid.set("view", "grid")
    picker.set("recent", ["/a"])
    again = Remembered(path)
    assert (again.text("view"), again.texts("recent")) == ("grid", ["/a"])
