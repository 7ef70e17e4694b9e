"""Bad input: one clear line per file on stderr, the batch goes on, nothing stored."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import pytest

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository, find_upload_files, safe_export_name
from tests.sample_images import encode, jpeg_bytes, picture, write
from tests.support import (
    assert_no_orphans,
    run_cli,
    upload_lines,
)


def png_claiming(width: int, height: int) -> bytes:
    """A real PNG whose header then claims ``width`` x ``height`` (CRC fixed up)."""
    data = bytearray(encode(picture(1, 1), "PNG"))
    # Signature (8), IHDR length (4), "IHDR" (4), then width and height.
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def psd_header() -> bytes:
    return b"8BPS\x00\x01" + b"\x00" * 6 + struct.pack(">HIIHH", 3, 16, 16, 8, 3)


BAD_FILES: dict[str, tuple[bytes, str]] = {
    # name: (content, a piece of the error it must get)
    "empty.jpg": (b"", "empty file"),
    "notes.jpg": (b"shopping list\nmilk\neggs\n", "a text file, not an image"),
    "script.jpg": (b"#!/bin/sh\nrm -rf ~\n", "a script, not an accepted image format"),
    "truncated.jpg": (jpeg_bytes(64, 64, seed=9)[:400], "truncated"),
    "bomb.png": (png_claiming(40000, 40000), "decompression bomb"),
    "doc.eps": (encode(picture(8, 8), "EPS"), "a PostScript/EPS file"),
    "binary.eps": (b"\xc5\xd0\xd3\xc6" + b"\x00" * 60, "an EPS file"),
    "doc.pdf": (encode(picture(8, 8), "PDF"), "a PDF document"),
    "layers.psd": (psd_header(), "a Photoshop (PSD) file"),
    "icon.ico": (encode(picture(16, 16), "ICO"), "not a recognised image format"),
    "old.pcx": (encode(picture(16, 16), "PCX"), "not a recognised image format"),
    "drawing.svg": (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "an SVG drawing"),
}


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error: ")]


def test_each_bad_file_gets_one_line_and_the_batch_goes_on(cli, tmp_path: Path, raw_db) -> None:
    folder = tmp_path / "mixed"
    good = [
        write(folder / "a_good.jpg", jpeg_bytes(seed=1)),
        write(folder / "z_good.png", encode(picture(10, 10, seed=2), "PNG")),
    ]
    bad = {name: write(folder / name, content) for name, (content, _) in BAD_FILES.items()}
    status, out, err = cli("upload", "-r", str(folder))
    assert status == 1
    assert sorted(upload_lines(out)) == sorted(map(str, good))
    errors = error_lines(err)
    assert len(errors) == len(BAD_FILES), err
    for name, (_, reason) in BAD_FILES.items():
        [line] = [line for line in errors if line.startswith(f"error: {bad[name]}: ")]
        assert reason in line, line
    assert f"2 uploaded, 0 duplicate(s), {len(BAD_FILES)} failed" in err
    assert raw_db["images"].count_documents({}) == 2
    assert_no_orphans(raw_db)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_alone_stores_nothing(cli, tmp_path: Path, raw_db, name: str) -> None:
    content, reason = BAD_FILES[name]
    path = write(tmp_path / name, content)
    status, out, err = cli("upload", str(path))
    assert (status, out) == (1, "")
    [line] = error_lines(err)
    assert line.startswith(f"error: {path}: ") and reason in line
    assert err.splitlines()[1:] == ["0 uploaded, 0 duplicate(s), 1 failed"]
    assert raw_db["images"].count_documents({}) == 0
    assert raw_db["fs.files"].count_documents({}) == 0
    assert raw_db["fs.chunks"].count_documents({}) == 0


def test_file_over_the_size_cap_is_refused_before_reading(
    cli, tmp_path: Path, raw_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGEREPO_MAX_FILE_MB", "0.001")  # 1048 bytes
    small = write(tmp_path / "small.png", encode(picture(4, 4), "PNG"))
    big = write(tmp_path / "big.jpg", jpeg_bytes(64, 64, seed=3))
    assert small.stat().st_size < 1048 < big.stat().st_size
    status, out, err = cli("upload", str(big), str(small))
    assert status == 1
    assert list(upload_lines(out)) == [str(small)]
    [line] = error_lines(err)
    assert line.startswith(f"error: {big}: ") and "over the" in line
    assert "IMAGEREPO_MAX_FILE_MB" in line
    assert raw_db["images"].count_documents({}) == 1


def test_size_cap_from_settings(settings: Settings, tmp_path: Path) -> None:
    capped = Settings(db_uri=settings.db_uri, data_dir=settings.data_dir, max_file_bytes=500)
    repo = ImageRepository.open(capped)
    try:
        result = repo.upload(write(tmp_path / "x.jpg", jpeg_bytes(seed=4)))
    finally:
        repo.close()
    assert result.status == "error" and "upload limit" in (result.error or "")


def test_paths_that_are_not_files(cli, tmp_path: Path, raw_db) -> None:
    folder = write(tmp_path / "folder" / "inside.jpg", jpeg_bytes(seed=5)).parent
    good = write(tmp_path / "good.jpg", jpeg_bytes(seed=6))
    missing = tmp_path / "missing.jpg"
    status, out, err = cli("upload", str(folder), str(missing), str(good))
    assert status == 1
    assert list(upload_lines(out)) == [str(good)]
    assert error_lines(err) == [
        f"error: {folder}: is a directory (use -r to upload folders)",
        f"error: {missing}: no such file or folder",
    ]
    assert raw_db["images"].count_documents({}) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(cli, tmp_path: Path) -> None:
    locked = write(tmp_path / "locked.jpg", jpeg_bytes(seed=7))
    locked.chmod(0)
    status, out, err = cli("upload", str(locked))
    assert (status, out) == (1, "")
    assert error_lines(err) == [f"error: {locked}: cannot read: Permission denied"]


def test_symlinks_and_fifos_met_in_a_folder_are_skipped(cli, tmp_path: Path, raw_db) -> None:
    outside = write(tmp_path / "outside" / "secret.jpg", jpeg_bytes(seed=8))
    folder = tmp_path / "walk"
    good = write(folder / "good.jpg", jpeg_bytes(seed=9))
    link = folder / "link.jpg"
    link.symlink_to(outside)
    (folder / "dirlink").symlink_to(outside.parent)
    fifo = folder / "pipe.jpg"
    os.mkfifo(fifo)
    write(folder / ".hidden" / "cache.jpg", jpeg_bytes(seed=10))

    status, out, err = cli("upload", "-r", str(folder))
    assert status == 1
    assert list(upload_lines(out)) == [str(good)]
    assert sorted(error_lines(err)) == sorted(
        [
            f"error: {folder / 'dirlink'}: symbolic link, skipped",
            f"error: {link}: symbolic link, skipped",
            f"error: {fifo}: not a regular file (FIFO, socket or device), skipped",
        ]
    )
    assert raw_db["images"].count_documents({}) == 1


def test_a_fifo_named_directly_does_not_hang(cli, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    status, _, err = cli("upload", str(fifo))
    assert status == 1 and "not a regular file" in err


def test_a_symlink_named_directly_is_followed(cli, tmp_path: Path) -> None:
    target = write(tmp_path / "real.jpg", jpeg_bytes(seed=11))
    link = tmp_path / "named.jpg"
    link.symlink_to(target)
    status, out, _ = cli("upload", str(link))
    assert status == 0 and list(upload_lines(out)) == [str(link)]


def test_unknown_and_ambiguous_ids_fail_per_item(cli, tmp_path: Path) -> None:
    status, out, err = cli("edit", "abcdef", "--title", "x")
    assert (status, out) == (1, "") and err.strip() == "error: abcdef: no image with id abcdef"
    status, _, err = cli("delete", "--yes", "abc", "f" * 24)
    assert status == 1
    assert error_lines(err)[0].startswith("error: abc: 'abc' is not an image id")
    assert error_lines(err)[1] == f"error: {'f' * 24}: no image with id {'f' * 24}"


def test_content_decides_the_format(cli, tmp_path: Path) -> None:
    disguised = write(tmp_path / "really-a-jpeg.png", jpeg_bytes(seed=12))
    gif_as_bmp = write(tmp_path / "g.bmp", encode(picture(8, 8).convert("P"), "GIF"))
    no_suffix = write(tmp_path / "noextension", encode(picture(8, 8, seed=13), "WEBP"))
    status, out, _ = cli("upload", str(disguised), str(gif_as_bmp), str(no_suffix), "--json")
    assert status == 0
    ids = [item["id"] for item in json.loads(out)]
    formats = []
    for image_id in ids:
        status, out, _ = cli("info", image_id, "--json")
        formats.append((json.loads(out)["format"], json.loads(out)["mime"]))
    assert formats == [("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")]


HOSTILE_NAMES = [
    "with spaces.jpg",
    "ünïcødé 写真.jpg",
    "[bold]markup[red].jpg",
    "[@click=app.quit]x.jpg",
    "evil\x1b[31mred.jpg",
    "\u202eexe.jpg",
    "bell\x07.jpg",
    "zero\u200bwidth.jpg",
]


def test_hostile_filenames_upload_and_print_safely(cli, tmp_path: Path) -> None:
    paths = [
        write(tmp_path / "names" / name, jpeg_bytes(seed=20 + n))
        for n, name in enumerate(HOSTILE_NAMES)
    ]
    bad = write(tmp_path / "names" / "bad\x1b]0;title\x07.jpg", b"text")
    status, out, err = cli("upload", *map(str, paths), str(bad))
    assert status == 1  # only the bad one failed
    for text in (out, err):
        assert "\x1b" not in text and "\u202e" not in text
        assert "\x07" not in text and "\u200b" not in text
    assert "evil\\x1b[31mred.jpg" in out and "\\u202eexe.jpg" in out
    assert "[bold]markup[red].jpg" in out and "ünïcødé 写真.jpg" in out
    assert "bad\\x1b]0;title\\x07.jpg" in err
    assert len(out.splitlines()) == len(HOSTILE_NAMES)

    status, listing, _ = cli("ls")
    assert status == 0 and len(listing.splitlines()) == len(HOSTILE_NAMES)
    assert "\x1b" not in listing and "\u202e" not in listing
    assert "[@click=app.quit]x.jpg" in listing
    for line in out.splitlines():
        status, info, _ = cli("info", line.split()[0])
        assert status == 0 and "\x1b" not in info and "\u202e" not in info

    status, as_json, _ = cli("ls", "--json")
    assert as_json.isascii()  # escapes as \\u001b, never the raw character
    assert sorted(item["filename"] for item in json.loads(as_json)) == sorted(HOSTILE_NAMES)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("../../evil.jpg", "evil.jpg"),
        ("/etc/x.jpg", "x.jpg"),
        # A backslash is a character of a Unix name: kept, as "_", never a separator.
        ("C:\\Windows\\x.jpg", "C:_Windows_x.jpg"),
        ("holiday\\1.png", "holiday_1.png"),
        ("..", "fallback.jpg"),
        ("", "fallback.jpg"),
        ("/", "fallback.jpg"),
        ("...", "fallback.jpg"),
        ("  spaced.jpg  ", "spaced.jpg"),
        ("a\x00b.jpg", "a_b.jpg"),
        ("evil\x1b[31mred.jpg", "evil_[31mred.jpg"),
        ("\u202eexe.jpg", "_exe.jpg"),
        ("fine name.jpg", "fine name.jpg"),
    ],
)
def test_safe_export_name(stored: str, expected: str) -> None:
    assert safe_export_name(stored, "fallback.jpg") == expected


def test_safe_export_name_bounds_long_names() -> None:
    name = safe_export_name("é" * 300 + ".jpeg", "fallback.jpg")
    assert len(name.encode()) <= 200 and name.endswith(".jpeg")
    assert "/" not in safe_export_name("a/" * 500 + "b" * 400, "f")
    assert len(safe_export_name("b" * 400, "f").encode()) <= 200


def test_walk_reports_in_sorted_order(tmp_path: Path) -> None:
    for name in ("c.jpg", "a.jpg", "sub/b.jpg"):
        write(tmp_path / name, b"x")
    names = [e.path.relative_to(tmp_path).as_posix() for e in find_upload_files([tmp_path], True)]
    assert names == ["a.jpg", "c.jpg", "sub/b.jpg"]


def test_the_pixel_limit_is_the_configured_one(db_uri: str, tmp_path: Path) -> None:
    # A subprocess: pytest's own warning capture would hide how Pillow's bomb warning
    # behaves in the real program. 102 megapixels, like a medium-format camera, is
    # under the documented 178 MP default, so it must not be refused as a bomb (this
    # stub then fails as the truncated file it is).
    big_camera = write(tmp_path / "gfx100.png", png_claiming(11648, 8736))
    done = run_cli("--db", db_uri, "upload", str(big_camera))
    assert done.returncode == 1
    [line] = error_lines(done.stderr)
    reason = line.removeprefix(f"error: {big_camera}: ")
    assert "bomb" not in reason and "limit" not in reason and "truncated" in reason
    # A lower configured limit is what refuses it.
    done = run_cli(
        "--db", db_uri, "upload", str(big_camera), env={"IMAGEREPO_MAX_MEGAPIXELS": "50"}
    )
    [line] = error_lines(done.stderr)
    assert "11648x8736 pixels is over the 50-megapixel limit" in line
