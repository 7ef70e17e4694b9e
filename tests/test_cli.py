"""The scripting CLI: output formats, ids, exit statuses (in-process via ``cli.main``)."""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from imagerepo_tui.cli import build_parser
from tests.sample_images import encode, jpeg_bytes, picture, write
from tests.support import assert_no_traceback, run_cli, run_main, upload_lines

LS_FIELDS = {
    "id",
    "filename",
    "title",
    "description",
    "tags",
    "format",
    "width",
    "height",
    "size",
    "sha256",
    "created_at",
    "updated_at",
}


def upload_one(cli: Any, path: Path, *extra: str) -> str:
    status, out, err = cli("upload", str(path), *extra)
    assert status == 0, err
    return upload_lines(out)[str(path)]


# -- upload --------------------------------------------------------------------------------


def test_upload_prints_id_and_path_and_marks_duplicates(cli, tmp_path: Path, raw_db) -> None:
    first = write(tmp_path / "a.jpg", jpeg_bytes(seed=1))
    second = write(tmp_path / "b.jpg", jpeg_bytes(seed=2))
    status, out, _ = cli("upload", str(first), str(second))
    assert status == 0
    lines = out.splitlines()
    ids = upload_lines(out)
    assert lines == [f"{ids[str(first)]}  {first}", f"{ids[str(second)]}  {second}"]
    for image_id in ids.values():
        assert raw_db["images"].count_documents({"_id": ObjectId(image_id)}) == 1

    copy = write(tmp_path / "copy of a.jpg", first.read_bytes())
    status, out, _ = cli("upload", str(copy))
    assert status == 0
    assert out.splitlines() == [f"{ids[str(first)]}  {copy}  (duplicate)"]
    assert raw_db["images"].count_documents({}) == 2
    assert raw_db["fs.files"].count_documents({}) == 2


def test_upload_json_reports_each_file(cli, tmp_path: Path) -> None:
    good = write(tmp_path / "good.jpg", jpeg_bytes(seed=3))
    bad = write(tmp_path / "bad.jpg", b"just text\n")
    status, out, err = cli("upload", str(good), str(bad), str(good), "--json")
    assert status == 1
    results = json.loads(out)
    assert [set(item) for item in results] == [{"path", "status", "id", "error"}] * 3
    created, failed, duplicate = results
    assert created["path"] == str(good) and created["status"] == "created"
    assert created["error"] is None and len(created["id"]) == 24
    assert failed["path"] == str(bad) and failed["status"] == "error"
    assert failed["id"] is None and "text file" in failed["error"]
    assert duplicate["status"] == "duplicate" and duplicate["id"] == created["id"]
    # The error is still one line on stderr; stdout is pure JSON.
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        f"error: {bad}: {failed['error']}"
    ]


def test_upload_with_metadata(cli, tmp_path: Path) -> None:
    image_id = upload_one(
        cli,
        write(tmp_path / "m.jpg", jpeg_bytes(seed=4)),
        "--title",
        "Summer",
        "--description",
        "at the lake",
        "--tag",
        "holiday",
        "--tag",
        "Lake",
    )
    status, out, _ = cli("info", image_id, "--json")
    assert status == 0
    info = json.loads(out)
    assert (info["title"], info["description"], info["tags"]) == (
        "Summer",
        "at the lake",
        ["holiday", "Lake"],
    )


# -- ls ------------------------------------------------------------------------------------


@pytest.fixture
def library(cli, tmp_path: Path) -> dict[str, str]:
    """Five images uploaded one by one (oldest first): name -> id."""
    names = ["IMG_0001.jpg", "img_0002.jpg", "a(b).jpg", "dot.star.jpg", "other.jpg"]
    tags = {"IMG_0001.jpg": "beach", "a(b).jpg": "Beach"}
    ids = {}
    for seed, name in enumerate(names):
        extra = ("--tag", tags[name]) if name in tags else ()
        ids[name] = upload_one(cli, write(tmp_path / "lib" / name, jpeg_bytes(seed=seed)), *extra)
    return ids


def ls_names(cli, *args: str) -> list[str]:
    status, out, err = cli("ls", "--json", *args)
    assert status == 0, err
    return [item["filename"] for item in json.loads(out)]


def test_ls_newest_first_with_all_fields(cli, library: dict[str, str]) -> None:
    status, out, _ = cli("ls", "--json")
    assert status == 0
    items = json.loads(out)
    assert [item["id"] for item in items] == list(reversed(library.values()))
    for item in items:
        assert set(item) >= LS_FIELDS
        assert (item["format"], item["width"], item["height"]) == ("JPEG", 64, 48)
        assert len(item["sha256"]) == 64 and item["size"] > 0
    assert items[0]["created_at"] >= items[-1]["created_at"]

    status, out, _ = cli("ls")
    assert status == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == list(reversed(library.values()))
    assert "other.jpg" in lines[0] and "64x48" in lines[0]


def test_ls_filters_and_limit(cli, library: dict[str, str]) -> None:
    assert ls_names(cli, "--tag", "BEACH") == ["a(b).jpg", "IMG_0001.jpg"]
    assert ls_names(cli, "--name", "img_") == ["img_0002.jpg", "IMG_0001.jpg"]
    # Literal, not a regex: "(" would be a syntax error, ".*" would match everything.
    assert ls_names(cli, "--name", "(") == ["a(b).jpg"]
    assert ls_names(cli, "--name", ".*") == []
    assert ls_names(cli, "--name", ".star") == ["dot.star.jpg"]
    assert ls_names(cli, "--name", "t.s") == ["dot.star.jpg"]
    assert ls_names(cli, "--limit", "2") == ["other.jpg", "dot.star.jpg"]
    assert ls_names(cli, "--tag", "beach", "--name", "img", "--limit", "5") == ["IMG_0001.jpg"]
    assert ls_names(cli, "--tag", "nothing") == []


def test_ls_on_empty_library(cli) -> None:
    assert cli("ls", "--json") == (0, "[]\n", "")
    assert cli("ls") == (0, "", "")


def test_ls_limit_below_one_is_a_usage_error(cli) -> None:
    status, _, err = cli("ls", "--limit", "0")
    assert status == 2 and "--limit" in err


# -- info and ids --------------------------------------------------------------------------


def test_info_by_full_id_and_unique_prefix(cli, tmp_path: Path) -> None:
    image_id = upload_one(cli, write(tmp_path / "i.jpg", jpeg_bytes(seed=5)), "--title", "T")
    status, out, _ = cli("info", image_id)
    assert status == 0
    assert image_id in out and "i.jpg" in out and "64 x 48" in out
    for text in (image_id[:6], image_id[:10], image_id.upper()):
        status, out, _ = cli("info", text, "--json")
        assert status == 0
        assert json.loads(out)["id"] == image_id


def test_info_unknown_invalid_and_ambiguous_ids(cli, tmp_path: Path, raw_db) -> None:
    ids = [upload_one(cli, write(tmp_path / f"{n}.jpg", jpeg_bytes(seed=10 + n))) for n in range(2)]
    # ObjectIds made in one second by one process share their first 18 hex characters:
    # give the two images such ids.
    while True:
        first, second = ObjectId(), ObjectId()
        if first.generation_time == second.generation_time:
            break
    for old, new in zip(ids, (first, second), strict=True):
        doc = raw_db["images"].find_one({"_id": ObjectId(old)})
        raw_db["images"].delete_one({"_id": doc["_id"]})
        raw_db["images"].insert_one({**doc, "_id": new})
    a, b = str(first), str(second)
    common = next(i for i in range(24) if a[i] != b[i])
    assert common >= 18

    status, _, err = cli("info", a[:common])
    assert status == 1
    assert err.strip() == f"error: id prefix {a[:common]} matches several images; give more of it"
    status, out, _ = cli("info", a, "--json")
    assert status == 0 and json.loads(out)["id"] == a

    unknown = "0" * 24
    status, out, err = cli("info", unknown)
    assert (status, out) == (1, "")
    assert err.strip() == f"error: no image with id {unknown}"

    for bad in ("xyz", "abcde", "g" * 24, "0" * 25):
        status, out, err = cli("info", bad)
        assert (status, out) == (1, ""), bad
        assert len(err.strip().splitlines()) == 1 and "is not an image id" in err


# -- download -------------------------------------------------------------------------------


def test_download_writes_original_bytes_under_original_name(cli, tmp_path: Path) -> None:
    source = write(tmp_path / "in" / "holiday photo.jpg", jpeg_bytes(seed=20))
    image_id = upload_one(cli, source)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    status, out, _ = cli("download", image_id[:8], "-o", str(out_dir))
    assert status == 0
    target = out_dir / "holiday photo.jpg"
    assert out.splitlines() == [f"{image_id[:8]}  {target}"]
    assert target.read_bytes() == source.read_bytes()
    assert sorted(p.name for p in out_dir.iterdir()) == ["holiday photo.jpg"]


def test_download_never_overwrites_without_force(cli, tmp_path: Path) -> None:
    source = write(tmp_path / "in" / "x.jpg", jpeg_bytes(seed=21))
    image_id = upload_one(cli, source)
    out_dir = tmp_path / "out"
    existing = write(out_dir / "x.jpg", b"precious")

    status, out, err = cli("download", image_id, "-o", str(out_dir))
    assert (status, out) == (1, "")
    assert err.strip() == (
        f"error: {image_id}: {existing} already exists (use --force to overwrite)"
    )
    assert existing.read_bytes() == b"precious"

    status, _, _ = cli("download", image_id, "-o", str(out_dir), "--force")
    assert status == 0
    assert existing.read_bytes() == source.read_bytes()
    # No temporary files left behind in either case.
    assert sorted(p.name for p in out_dir.iterdir()) == ["x.jpg"]


@pytest.mark.parametrize("force", [False, True])
def test_download_never_follows_a_planted_symlink(cli, tmp_path: Path, force: bool) -> None:
    source = write(tmp_path / "in" / "x.jpg", jpeg_bytes(seed=22))
    image_id = upload_one(cli, source)
    victim = write(tmp_path / "victim.txt", b"do not touch")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "x.jpg").symlink_to(victim)

    status, _, err = cli("download", image_id, "-o", str(out_dir), *(["--force"] if force else []))
    assert victim.read_bytes() == b"do not touch"
    if force:
        assert status == 0
        # The link itself was replaced by the file, never written through.
        assert not (out_dir / "x.jpg").is_symlink()
        assert (out_dir / "x.jpg").read_bytes() == source.read_bytes()
    else:
        assert status == 1 and "already exists" in err
        assert (out_dir / "x.jpg").is_symlink()


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("../../evil.jpg", "evil.jpg"),
        ("/etc/x.jpg", "x.jpg"),
        ("..\\..\\win.jpg", "_.._win.jpg"),  # a backslash is no separator: kept as "_"
        ("..", None),
        ("", None),
        ("sub/", None),
        (".hidden.jpg", "hidden.jpg"),
        ("evil\x1b[31mred.jpg", "evil_[31mred.jpg"),
        ("\u202eexe.jpg", "_exe.jpg"),
    ],
)
def test_download_of_a_hostile_stored_filename_stays_inside(
    cli, tmp_path: Path, raw_db, stored: str, expected: str | None
) -> None:
    source = write(tmp_path / "in" / "ok.jpg", jpeg_bytes(seed=23))
    image_id = upload_one(cli, source)
    raw_db["images"].update_one({"_id": ObjectId(image_id)}, {"$set": {"filename": stored}})
    out_dir = tmp_path / "a" / "b" / "out"
    out_dir.mkdir(parents=True)
    before = {p for p in tmp_path.rglob("*") if p.parent != out_dir}

    status, out, err = cli("download", image_id, "-o", str(out_dir))
    assert status == 0, err
    assert "\x1b" not in out and "\u202e" not in out
    written = list(out_dir.iterdir())
    assert [p.name for p in written] == [expected or f"{image_id}.jpeg"]
    assert written[0].read_bytes() == source.read_bytes()
    assert {p for p in tmp_path.rglob("*") if p.parent != out_dir} == before


def test_download_into_a_missing_folder_is_a_usage_error(cli, tmp_path: Path) -> None:
    image_id = upload_one(cli, write(tmp_path / "x.jpg", jpeg_bytes(seed=24)))
    status, _, err = cli("download", image_id, "-o", str(tmp_path / "nope"))
    assert status == 2 and "is not a folder" in err


def test_download_goes_on_after_a_failed_item(cli, tmp_path: Path) -> None:
    image_id = upload_one(cli, write(tmp_path / "x.jpg", jpeg_bytes(seed=25)))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    status, out, err = cli("download", "0" * 24, image_id, "-o", str(out_dir))
    assert status == 1
    assert err.strip() == f"error: {'0' * 24}: no image with id {'0' * 24}"
    assert (out_dir / "x.jpg").exists() and image_id in out


# -- update, edit ---------------------------------------------------------------------------


def test_update_replaces_content_and_drops_the_old_file(cli, tmp_path: Path, raw_db) -> None:
    first = write(tmp_path / "v1.jpg", jpeg_bytes(seed=30))
    image_id = upload_one(cli, first, "--title", "Keep me", "--tag", "kept")
    old_file = raw_db["images"].find_one({"_id": ObjectId(image_id)})["file_id"]
    second = write(tmp_path / "v2.png", encode(picture(20, 10, seed=31), "PNG"))

    status, out, _ = cli("update", image_id[:7], str(second))
    assert status == 0
    assert out.splitlines() == [f"{image_id}  {second}  (replaced)"]
    status, out, _ = cli("info", image_id, "--json")
    info = json.loads(out)
    assert (info["id"], info["title"], info["tags"]) == (image_id, "Keep me", ["kept"])
    assert (info["format"], info["width"], info["height"]) == ("PNG", 20, 10)
    assert info["filename"] == "v2.png"
    assert raw_db["fs.files"].count_documents({"_id": old_file}) == 0
    assert raw_db["fs.chunks"].count_documents({"files_id": old_file}) == 0
    assert raw_db["fs.files"].count_documents({}) == 1

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert cli("download", image_id, "-o", str(out_dir))[0] == 0
    assert (out_dir / "v2.png").read_bytes() == second.read_bytes()


def test_update_refuses_bad_content_and_keeps_the_image(cli, tmp_path: Path, raw_db) -> None:
    source = write(tmp_path / "v1.jpg", jpeg_bytes(seed=32))
    image_id = upload_one(cli, source)
    bad = write(tmp_path / "bad.jpg", b"#!/bin/sh\necho hi\n")
    status, _, err = cli("update", image_id, str(bad))
    assert status == 1 and "script" in err
    stored = raw_db["images"].find_one({"_id": ObjectId(image_id)})
    assert stored["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert raw_db["fs.files"].count_documents({}) == 1
    status, _, err = cli("update", image_id, str(tmp_path / "missing.jpg"))
    assert status == 1 and "no such file" in err


def test_edit_changes_metadata(cli, tmp_path: Path) -> None:
    image_id = upload_one(
        cli, write(tmp_path / "e.jpg", jpeg_bytes(seed=40)), "--tag", "holiday", "--tag", "sea"
    )
    status, out, _ = cli(
        "edit",
        image_id,
        "--title",
        "Sunset",
        "--description",
        "red sky",
        "--tag",
        "beach",
        "--untag",
        "HOLIDAY",
        "--json",
    )
    assert status == 0
    info = json.loads(out)
    assert (info["title"], info["description"], info["tags"]) == (
        "Sunset",
        "red sky",
        ["sea", "beach"],
    )
    assert info["updated_at"] >= info["created_at"]
    status, out, _ = cli("ls", "--json", "--tag", "holiday")
    assert json.loads(out) == []
    status, out, _ = cli("ls", "--json", "--tag", "beach")
    assert [item["id"] for item in json.loads(out)] == [image_id]
    status, out, _ = cli("edit", image_id, "--title", "")
    assert status == 0
    assert json.loads(cli("info", image_id, "--json")[1])["title"] == ""


# -- delete --------------------------------------------------------------------------------


def live_ids(cli) -> list[str]:
    return [item["id"] for item in json.loads(cli("ls", "--json")[1])]


@pytest.mark.parametrize("purge", [[], ["--purge"]])
def test_delete_refuses_without_yes_when_not_on_a_terminal(
    cli, tmp_path: Path, raw_db, monkeypatch: pytest.MonkeyPatch, purge: list[str]
) -> None:
    image_id = upload_one(cli, write(tmp_path / "d.jpg", jpeg_bytes(seed=50)))
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # not a terminal, even if it says y
    status, out, err = cli("delete", image_id, *purge)
    assert (status, out) == (2, "") and "--yes" in err
    assert live_ids(cli) == [image_id]
    assert raw_db["fs.files"].count_documents({}) == 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "deleted"), [("n\n", False), ("\n", False), ("y\n", True)])
def test_delete_asks_on_a_terminal(
    cli, tmp_path: Path, raw_db, monkeypatch: pytest.MonkeyPatch, answer: str, deleted: bool
) -> None:
    image_id = upload_one(cli, write(tmp_path / "ask me.jpg", jpeg_bytes(seed=51)))
    monkeypatch.setattr("sys.stdin", _Terminal(answer))
    status, out, err = cli("delete", image_id, "--purge")
    assert status == 0
    assert "1 image(s): ask me.jpg? [y/N]" in err
    assert live_ids(cli) == ([] if deleted else [image_id])
    assert raw_db["images"].count_documents({}) == (0 if deleted else 1)
    assert raw_db["fs.files"].count_documents({}) == (0 if deleted else 1)
    assert (f"{image_id}  ask me.jpg  (deleted for good)" in out) is deleted


def test_delete_moves_to_the_trash_and_purge_removes_the_bytes(cli, tmp_path: Path, raw_db) -> None:
    ids = [upload_one(cli, write(tmp_path / f"{n}.jpg", jpeg_bytes(seed=52 + n))) for n in range(3)]
    status, out, err = cli("delete", ids[0], "0" * 24, ids[1], "--yes")
    assert status == 1  # one item failed, the others were still done
    assert err.strip() == f"error: {'0' * 24}: no image with id {'0' * 24}"
    assert [line.split()[0] for line in out.splitlines()] == ids[:2]
    assert live_ids(cli) == [ids[2]]
    # In the trash the bytes stay, so a restore brings the image back whole.
    assert raw_db["fs.files"].count_documents({}) == 3
    assert cli("restore", ids[1])[0] == 0
    assert sorted(live_ids(cli)) == sorted(ids[1:])

    status, out, _ = cli("purge", ids[0], "--yes")
    assert status == 0 and "(deleted for good)" in out
    status, out, _ = cli("delete", ids[1], "--purge", "--yes")
    assert status == 0 and "(deleted for good)" in out
    kept_file = raw_db["images"].find_one({"_id": ObjectId(ids[2])})["file_id"]
    assert [str(d["_id"]) for d in raw_db["images"].find()] == [ids[2]]
    assert [d["_id"] for d in raw_db["fs.files"].find()] == [kept_file]
    assert set(raw_db["fs.chunks"].distinct("files_id")) == {kept_file}
    assert raw_db["gridfs_claims"].count_documents({}) == 0


# -- usage ----------------------------------------------------------------------------------


def _command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list:
    """Every (nested) subcommand, as the words that name it."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append([*prefix, name])
                found.extend(_command_paths(sub, (*prefix, name)))
    return found


COMMAND_PATHS = _command_paths(build_parser())


def test_the_documented_commands_exist() -> None:
    names = {path[0] for path in COMMAND_PATHS}
    assert names >= {"upload", "ls", "info", "download", "update", "edit", "delete"}


@pytest.mark.parametrize("command", [[], *COMMAND_PATHS], ids=lambda c: " ".join(c) or "top")
def test_help_works_everywhere(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: imagerepo-tui") and "--db" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["upload"],
        ["info"],
        ["ls", "--limit", "many"],
        ["update", "abcdef"],
        ["frobnicate"],
        ["ls", "--bogus"],
        ["download", "abcdef", "--force=yes"],
    ],
)
def test_argument_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # An unreachable --db: argparse must refuse before any connection is tried.
    assert run_main(["--db", "mongodb://127.0.0.1:1/x", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "usage:" in captured.err


@pytest.mark.parametrize(
    "argv",
    [["download"], ["delete"], ["delete", "--yes"], ["edit", "--title", "x"]],
)
def test_missing_targets_exit_2(cli, argv: list[str]) -> None:
    status, out, err = cli(*argv)
    assert (status, out) == (2, "") and "give image ids" in err


def test_global_options_before_or_after_the_subcommand(cli, db_uri: str, capsys) -> None:
    # ``cli`` already puts --db first; here it comes after the subcommand.
    status = run_main(["ls", "--json", "--db", db_uri])
    assert status == 0 and capsys.readouterr().out == "[]\n"


# -- end to end, as a separate process ------------------------------------------------------


def test_end_to_end_exit_statuses(db_uri: str, tmp_path: Path) -> None:
    good = write(tmp_path / "good.jpg", jpeg_bytes(seed=70))
    bad = write(tmp_path / "bad.jpg", b"not an image")
    done = run_cli("--db", db_uri, "upload", str(good), str(bad))
    assert done.returncode == 1
    assert_no_traceback(done.stderr)
    [image_id] = upload_lines(done.stdout).values()
    assert f"error: {bad}: a text file, not an image" in done.stderr

    done = run_cli("--db", db_uri, "upload", str(good))
    assert done.returncode == 0
    assert done.stdout == f"{image_id}  {good}  (duplicate)\n"

    done = run_cli("--db", db_uri, "ls", "--json")
    assert done.returncode == 0 and [i["id"] for i in json.loads(done.stdout)] == [image_id]
    assert run_cli("--db", db_uri, "info", "0" * 24).returncode == 1
    assert run_cli("--db", db_uri, "ls", "--limit", "x").returncode == 2
    assert run_cli("--db", db_uri, "delete", image_id).returncode == 2  # stdin: not a tty
    assert run_cli("--db", db_uri, "info", image_id).returncode == 0


def test_ls_into_a_reader_that_leaves_early_exits_quietly(
    db_uri: str, tmp_path: Path, repo
) -> None:
    """`imagerepo-tui ls | head -1`: the command ends with status 0 and no traceback,
    also from the installed entry point's final flush of what is still buffered."""
    for seed in range(12):
        repo.upload(write(tmp_path / f"p{seed}.jpg", jpeg_bytes(seed=seed)))
    reader, writer = os.pipe()
    fcntl.fcntl(writer, fcntl.F_SETPIPE_SZ, 4096)  # 12 rows of JSON overflow it
    process = subprocess.Popen(
        [sys.executable, "-m", "imagerepo_tui", "--db", db_uri, "ls", "--json"],
        stdin=subprocess.DEVNULL,
        stdout=writer,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(writer)
    with os.fdopen(reader, "rb") as head:
        assert head.readline().startswith(b"[")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0
    assert_no_traceback(err)
    assert "Exception ignored" not in err


def test_end_to_end_delete_asks_on_a_real_terminal(db_uri: str, tmp_path: Path) -> None:
    photo = write(tmp_path / "t.jpg", jpeg_bytes(seed=71))
    image_id = upload_lines(run_cli("--db", db_uri, "upload", str(photo)).stdout)[str(photo)]
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "imagerepo_tui", "--db", db_uri, "delete", image_id],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(controller, b"y\n")
        out, err = process.communicate(timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert process.returncode == 0, err
    assert "Move to the trash 1 image(s): t.jpg? [y/N]" in err
    assert out == f"{image_id}  t.jpg  (moved to the trash)\n"
    done = run_cli("--db", db_uri, "ls", "--json")
    assert json.loads(done.stdout) == []


def _parser_at(path: list[str]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


@pytest.mark.parametrize("command", [[], *COMMAND_PATHS], ids=lambda c: " ".join(c) or "top")
def test_every_option_says_what_it_does(command: list[str]) -> None:
    unexplained = [
        action.option_strings[0]
        for action in _parser_at(command)._actions
        if action.option_strings and not action.help and action.help != argparse.SUPPRESS
    ]
    assert unexplained == [], f"options without help in {' '.join(command) or 'top'}"


# -- the app's options, read without every command's parser -------------------------------


@pytest.mark.parametrize(
    "words",
    [
        [],
        ["--data-dir", "/tmp/lib"],
        ["--data-dir=/tmp/lib", "--graphics", "halfcell", "--user", "ann"],
        ["--db", "mongodb://localhost/x", "--gra", "none"],  # abbreviated, as argparse allows
    ],
)
def test_the_app_options_read_as_the_full_parser_reads_them(words: list[str]) -> None:
    from imagerepo_tui.cli.app_options import parse_app_options

    quick = parse_app_options(words)
    assert quick is not None
    assert vars(quick) == vars(build_parser().parse_args(words))


@pytest.mark.parametrize(
    "words",
    [
        ["ls"],
        ["--data-dir", "/tmp/lib", "ls", "--json"],
        ["-h"],
        ["--he"],
        ["--version"],
        ["--graphics", "bogus"],
        ["--data-dir"],
        ["--d", "x"],  # ambiguous: --db or --data-dir
        ["stray"],
    ],
)
def test_anything_but_the_app_options_goes_to_the_full_parser(words: list[str]) -> None:
    from imagerepo_tui.cli.app_options import parse_app_options

    assert parse_app_options(words) is None


def test_a_mistake_in_the_app_options_is_explained_by_the_full_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from imagerepo_tui.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--graphics", "bogus"])
    assert exit_info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err  # the full usage line, commands and all
