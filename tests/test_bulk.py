"""Bulk actions through the CLI: --query acts on every match, exactly once."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from tests.library_support import exif_jpeg
from tests.sample_images import write
from tests.support import Cli, upload_lines

TAGS = ["x", "x", "other", "x", "other", "X"]


@pytest.fixture
def images(cli: Cli, tmp_path: Path) -> dict[str, tuple[str, Path]]:
    """Six images, tagged per TAGS, uploaded in one batch: name -> (id, path)."""
    paths = [write(tmp_path / "in" / f"p{n}.jpg", exif_jpeg(seed=n)) for n in range(len(TAGS))]
    found = {}
    for tag in dict.fromkeys(TAGS):  # one upload per tag
        batch = [str(path) for path, t in zip(paths, TAGS, strict=True) if t == tag]
        status, out, err = cli("upload", *batch, "--tag", tag)
        assert status == 0, err
        found.update({Path(p).name: (i, Path(p)) for p, i in upload_lines(out).items()})
    assert len(found) == len(TAGS)
    return found


def ls(cli: Cli, *query: str) -> dict[str, dict]:
    status, out, err = cli("ls", "--json", *query)
    assert status == 0, err
    return {item["id"]: item for item in json.loads(out)}


def ids_of(images: dict[str, tuple[str, Path]], *names: str) -> set[str]:
    return {images[name][0] for name in names}


X = ("p0.jpg", "p1.jpg", "p3.jpg", "p5.jpg")
OTHER = ("p2.jpg", "p4.jpg")


def test_edit_query_changes_every_match(cli: Cli, images) -> None:
    status, out, err = cli("edit", "--query", "tag:x", "--tag", "y", "--json")
    assert status == 0, err
    assert {item["id"] for item in json.loads(out)} == ids_of(images, *X)
    after = ls(cli)
    for name, (image_id, _) in images.items():
        has_y = "y" in after[image_id]["tags"]
        assert has_y is (name in X), name
    # Keywords follow the tags: free words and tag: both find the new tag.
    assert set(ls(cli, "y")) == ids_of(images, *X)
    assert set(ls(cli, "tag:Y")) == ids_of(images, *X)
    assert set(ls(cli, "--tag", "y")) == ids_of(images, *X)


def test_edit_query_that_changes_what_matches(cli: Cli, images) -> None:
    # Removing the very tag searched for: every match is still edited once.
    status, out, err = cli("edit", "--query", "tag:x", "--untag", "x", "--title", "Was x")
    assert status == 0, err
    assert len(out.splitlines()) == len(X)
    assert ls(cli, "tag:x") == {}
    assert set(ls(cli, "was")) == ids_of(images, *X)
    # A negation as its own argument needs "--" (argparse would take it for an option).
    assert set(ls(cli, "--", "-was")) == ids_of(images, *OTHER)
    assert set(ls(cli, "-tag:y -was")) == ids_of(images, *OTHER)


def test_delete_query_moves_every_match_to_the_trash(cli: Cli, images, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # not a terminal
    status, _, err = cli("delete", "--query", "tag:x")
    assert status == 2 and "--yes" in err
    assert len(ls(cli)) == len(TAGS)
    status, out, err = cli("delete", "--query", "tag:x", "--yes")
    assert status == 0, err
    assert {line.split()[0] for line in out.splitlines()} == ids_of(images, *X)
    assert set(ls(cli)) == ids_of(images, *OTHER)
    status, out, _ = cli("trash", "--json")
    assert {item["id"] for item in json.loads(out)} == ids_of(images, *X)


def test_download_query_writes_every_match(cli: Cli, images, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    status, out, err = cli("download", "--query", "tag:x", "-o", str(target), "--json")
    assert status == 0, err
    assert {item["id"] for item in json.loads(out)} == ids_of(images, *X)
    assert sorted(p.name for p in target.iterdir()) == sorted(X)
    for name in X:
        original = images[name][1].read_bytes()
        written = (target / name).read_bytes()
        assert hashlib.sha256(written).digest() == hashlib.sha256(original).digest()
    # Again: each existing file is an error of its own, the rest still go on.
    status, _, err = cli("download", "--query", "tag:x -name:p0", "-o", str(target))
    assert status == 1 and err.count("already exists") == len(X) - 1


@pytest.mark.parametrize(
    "argv",
    [
        ["edit", "--query", "tag:nothing", "--tag", "y"],
        ["delete", "--query", "tag:nothing", "--yes"],
        ["delete", "--query", "tag:nothing"],  # nothing to confirm either
        ["download", "--query", "tag:nothing", "-o", "."],
        ["restore", "--query", "tag:x"],  # nothing with tag x is in the trash
        ["purge", "--query", "tag:x", "--yes"],
        ["purge", "--query", "tag:x"],
        ["collections", "add", "Album", "--query", "tag:nothing"],
        ["collections", "remove", "Album", "--query", "tag:x"],
    ],
)
def test_a_query_without_matches_is_not_an_error(
    cli: Cli, images, argv: list[str], tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal
    cli("collections", "create", "Album")
    before = ls(cli)
    status, _, err = cli(*argv)
    assert status == 0, err
    assert "error" not in err
    assert ls(cli) == before
    assert not list(tmp_path.glob("p*.jpg"))


@pytest.mark.parametrize("command", ["edit", "delete", "download", "restore", "purge"])
def test_ids_or_a_query_not_both(cli: Cli, images, command: str) -> None:
    image_id = images["p0.jpg"][0]
    for argv in ([command], [command, image_id, "--query", "tag:x"]):
        status, _, err = cli(*argv, "--yes") if command in ("delete", "purge") else cli(*argv)
        assert status == 2 and "give image ids, or --query QUERY" in err
    status, _, err = cli(command, "--query", 'name:"open')
    assert status == 2 and "unclosed quote" in err and "^" in err
    assert len(ls(cli)) == len(TAGS)
