"""Phones' and cameras' formats: HEIC/HEIF, AVIF and MPO, made here, stored byte for
byte with their EXIF, thumbnails and previews, and found by ``format:``."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

from PIL import Image
from textual.pilot import Pilot

from imagerepo_tui import imaging
from imagerepo_tui.config import Settings
from imagerepo_tui.formats import format_condition, format_extension
from imagerepo_tui.query_terms import Equals, OneOf
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.paths import looks_like_image
from imagerepo_tui.tui.widgets.preview import PreviewPane
from tests.sample_images import avif_bytes, heic_bytes, jpeg_bytes, mpo_bytes, write
from tests.support import upload_lines
from tests.tui_support import ready, run_app_test, wait_for


def _ls(cli: Any, query: str) -> list[str]:
    status, out, err = cli("ls", query, "--json")
    assert status == 0, err
    return sorted(item["filename"] for item in json.loads(out))


def test_the_plugins_are_there() -> None:
    # Both decoders must be present here, or every test below proves nothing.
    assert {"HEIF", "AVIF"} <= set(imaging.allowed_formats())


def test_heic_and_avif_through_the_cli(cli: Any, tmp_path: Path) -> None:
    folder = tmp_path / "phone"
    files = {
        "IMG_0001.HEIC": write(folder / "IMG_0001.HEIC", heic_bytes(64, 48, seed=1)),
        "IMG_0002.avif": write(folder / "IMG_0002.avif", avif_bytes(64, 48, seed=2)),
        "other.jpg": write(folder / "other.jpg", jpeg_bytes(seed=3)),
    }
    status, out, err = cli("upload", str(folder), "-r")
    assert status == 0, err
    ids = {Path(path).name: image_id for path, image_id in upload_lines(out).items()}
    assert set(ids) == set(files)
    for name, expected_format, mime in (
        ("IMG_0001.HEIC", "HEIF", "image/heif"),
        ("IMG_0002.avif", "AVIF", "image/avif"),
    ):
        status, out, err = cli("info", ids[name], "--json")
        assert status == 0, err
        info = json.loads(out)
        assert (info["format"], info["mime"]) == (expected_format, mime)
        # Orientation 6 turns the 64x48 picture upright: 48 wide, 64 high.
        assert (info["width"], info["height"]) == (48, 64)
        assert info["taken_at"].startswith("2023-07-14T10:20:30")
        assert info["exif"]["camera_model"] == "iPhone 15"
        assert info["sha256"] == hashlib.sha256(files[name].read_bytes()).hexdigest()
    assert _ls(cli, "format:heic") == ["IMG_0001.HEIC"]
    assert _ls(cli, "format:HEIF") == ["IMG_0001.HEIC"]
    assert _ls(cli, "format:avif") == ["IMG_0002.avif"]
    assert _ls(cli, "-format:heic -format:avif") == ["other.jpg"]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    status, _, err = cli("download", ids["IMG_0001.HEIC"], ids["IMG_0002.avif"], "-o", str(out_dir))
    assert status == 0, err
    for name in ("IMG_0001.HEIC", "IMG_0002.avif"):
        assert (out_dir / name).read_bytes() == files[name].read_bytes()


def test_heic_and_avif_through_the_repository(repo: ImageRepository, tmp_path: Path) -> None:
    for data, expected in (
        (heic_bytes(80, 40, seed=4), "HEIF"),
        (avif_bytes(80, 40, seed=5), "AVIF"),
    ):
        path = write(tmp_path / f"photo.{expected.lower()}", data)
        result = repo.upload(path)
        assert result.image is not None, result.error
        info = result.image
        assert info.format == expected and (info.width, info.height) == (40, 80)
        assert info.taken_at is not None and info.taken_at.year == 2023
        assert repo.original_bytes(info.id)[1] == data
        thumbnail = Image.open(io.BytesIO(repo.thumbnail(info.id)))
        assert thumbnail.format == "WEBP"
        assert thumbnail.size[1] > thumbnail.size[0]  # drawn upright, as the photo is
        assert [i.id for i in repo.iter_images(f"format:{expected}")] == [info.id]


def test_mpo_counts_as_jpeg(cli: Any, tmp_path: Path) -> None:
    mpo = write(tmp_path / "in" / "stereo.jpg", mpo_bytes(seed=6))
    write(tmp_path / "in" / "plain.jpg", jpeg_bytes(seed=7))
    write(tmp_path / "in" / "flat.png", _png())
    status, out, err = cli("upload", str(tmp_path / "in"), "-r")
    assert status == 0, err
    ids = {Path(path).name: image_id for path, image_id in upload_lines(out).items()}
    status, out, _ = cli("info", ids["stereo.jpg"], "--json")
    info = json.loads(out)
    # Stored as what it is (both pictures kept), served as the JPEG it is.
    assert (info["format"], info["mime"], info["frames"]) == ("MPO", "image/jpeg", 2)
    assert _ls(cli, "format:jpg") == ["plain.jpg", "stereo.jpg"]
    assert _ls(cli, "format:jpeg") == ["plain.jpg", "stereo.jpg"]
    assert _ls(cli, "format:mpo") == ["stereo.jpg"]
    assert _ls(cli, "-format:jpg") == ["flat.png"]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    status, _, err = cli("download", ids["stereo.jpg"], "-o", str(out_dir))
    assert status == 0, err
    assert (out_dir / "stereo.jpg").read_bytes() == mpo.read_bytes()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, format="PNG")
    return out.getvalue()


def test_damaged_heic_is_one_error_line(cli: Any, tmp_path: Path) -> None:
    whole = heic_bytes(seed=8)
    folder = tmp_path / "in"
    write(folder / "a_cut.heic", whole[: len(whole) // 2])
    zeroed = whole[:40] + b"\0" * (len(whole) - 40)
    write(folder / "b_zeroed.heic", zeroed)
    write(folder / "c_good.heic", heic_bytes(seed=9))
    status, out, err = cli("upload", str(folder), "-r")
    assert status == 1
    assert "Traceback" not in err
    assert [Path(path).name for path in upload_lines(out)] == ["c_good.heic"]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert all("a damaged HEIF file" in line for line in errors), errors


def test_damaged_avif_header_is_named() -> None:
    whole = avif_bytes(seed=10)
    try:
        imaging.inspect_image(whole[: len(whole) // 2], max_pixels=10**7)
    except imaging.InvalidImageError as error:
        assert "a damaged AVIF file" in str(error)
    else:
        raise AssertionError("half an AVIF was accepted")


def test_format_names() -> None:
    assert format_condition("jpg") == OneOf("format", ("JPEG", "MPO"))
    assert format_condition("HEIC") == Equals("format", "HEIF")
    assert format_condition("avif") == Equals("format", "AVIF")
    assert format_condition("png") == Equals("format", "PNG")
    assert format_extension("HEIF") == "heic" and format_extension("MPO") == "jpeg"
    assert format_extension("AVIF") == "avif"
    for name in ("a.HEIC", "b.heif", "c.hif", "d.avif", "e.MPO"):
        assert looks_like_image(Path(name))


def test_heic_preview_is_drawn(settings: Settings, repo: ImageRepository, tmp_path: Path) -> None:
    result = repo.upload(write(tmp_path / "IMG_0003.HEIC", heic_bytes(64, 48, seed=11)))
    assert result.image is not None
    image_id = result.image.id

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 1)
        pane = app.screen.query_one(PreviewPane)
        await wait_for(pilot, lambda: pane.shown == (image_id, "full"))
        assert app.is_running

    run_app_test(settings, body, repo)
