"""Ratings, favourites and non-destructive rotation: the CLI, the query language,
what is stored, what is drawn and what is downloaded (against the real server)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from PIL import Image, ImageChops, ImageStat

from imagerepo_tui import imaging
from imagerepo_tui.config import Settings
from imagerepo_tui.errors import InvalidMetadataError
from imagerepo_tui.repository import Adjustment, ImageRepository
from tests.sample_images import encode, jpeg_bytes, picture, write
from tests.support import upload_lines


def _upload(cli: Any, folder: Path, count: int, *extra: str, first: int = 0) -> list[str]:
    seeds = range(first, first + count)
    paths = [write(folder / f"p{n}.jpg", jpeg_bytes(80, 40, seed=n)) for n in seeds]
    status, out, err = cli("upload", *map(str, paths), *extra)
    assert status == 0, err
    ids = upload_lines(out)
    return [ids[str(path)] for path in paths]


def _json(cli: Any, *args: str) -> Any:
    status, out, err = cli(*args, "--json")
    assert status == 0, err
    return json.loads(out)


def _ids(cli: Any, query: str) -> set[str]:
    return {image["id"] for image in _json(cli, "ls", query)}


# -- the CLI -------------------------------------------------------------------------------


def test_edit_sets_rating_and_favourite_shown_by_ls_and_info(cli, tmp_path: Path) -> None:
    first, second = _upload(cli, tmp_path, 2)
    fresh = _json(cli, "info", first)
    assert (fresh["rating"], fresh["favorite"], fresh["rotation"]) == (0, False, 0)

    status, _, err = cli("edit", first, "--rating", "4", "--favorite")
    assert status == 0, err
    info = _json(cli, "info", first)
    assert (info["rating"], info["favorite"], info["damaged"]) == (4, True, [])
    listed = {image["id"]: image for image in _json(cli, "ls")}
    assert (listed[first]["rating"], listed[first]["favorite"]) == (4, True)
    assert (listed[second]["rating"], listed[second]["favorite"]) == (0, False)

    _, text, _ = cli("info", first)
    assert "4 ★★★★" in text and "favorite" in text
    _, lines, _ = cli("ls")
    line = next(line for line in lines.splitlines() if line.startswith(first))
    assert "★★★★♥" in line
    other = next(line for line in lines.splitlines() if line.startswith(second))
    assert "★" not in other and "♥" not in other

    status, _, err = cli("edit", first, "--rating", "0", "--unfavorite")
    assert status == 0, err
    info = _json(cli, "info", first)
    assert (info["rating"], info["favorite"]) == (0, False)


@pytest.mark.parametrize(
    "bad",
    [
        ["--rating", "6"],
        ["--rating", "-1"],
        ["--rating", "three"],
        ["--rotate", "45"],
        ["--rotate", "360"],
        ["--favorite", "--unfavorite"],
    ],
)
def test_bad_values_are_usage_errors_that_change_nothing(cli, tmp_path: Path, bad) -> None:
    (image_id,) = _upload(cli, tmp_path, 1)
    before = _json(cli, "info", image_id)
    status, _, err = cli("edit", image_id, *bad)
    assert status == 2
    assert err.strip() and "Traceback" not in err
    assert _json(cli, "info", image_id) == before


def test_edit_query_rates_every_match(cli, tmp_path: Path) -> None:
    tagged = _upload(cli, tmp_path / "a", 3, "--tag", "beach")
    other = _upload(cli, tmp_path / "b", 1, first=10)
    status, _, err = cli("edit", "--query", "tag:beach", "--rating", "5", "--favorite")
    assert status == 0, err
    listed = {image["id"]: image for image in _json(cli, "ls")}
    assert {listed[i]["rating"] for i in tagged} == {5}
    assert all(listed[i]["favorite"] for i in tagged)
    assert listed[other[0]]["rating"] == 0 and not listed[other[0]]["favorite"]
    status, _, _ = cli("edit", "--query", "tag:beach", "--rotate", "90")
    assert status == 0
    assert {_json(cli, "info", i)["rotation"] for i in tagged} == {90}


def test_the_core_refuses_what_the_cli_cannot_send(repo: ImageRepository, tmp_path: Path) -> None:
    image = repo.upload(write(tmp_path / "a.jpg", jpeg_bytes())).image
    assert image is not None
    with pytest.raises(InvalidMetadataError):
        repo.adjust(image.id, Adjustment(rating=9))
    with pytest.raises(InvalidMetadataError):
        repo.adjust(image.id, Adjustment(turn=45))
    assert repo.info(image.id).rating == 0


# -- the query language --------------------------------------------------------------------


def test_rating_and_favourite_terms(cli, tmp_path: Path) -> None:
    ids = _upload(cli, tmp_path, 6)
    for image_id, rating in zip(ids, [0, 1, 2, 3, 4, 5], strict=True):
        assert cli("edit", image_id, "--rating", str(rating))[0] == 0
    assert cli("edit", ids[1], ids[4], "--favorite")[0] == 0
    assert cli("edit", ids[4], "--tag", "sea")[0] == 0
    assert cli("edit", ids[5], "--tag", "sea")[0] == 0

    assert _ids(cli, "rating:>=4") == {ids[4], ids[5]}
    assert _ids(cli, "rating:3") == {ids[3]}
    assert _ids(cli, "rating:<2") == {ids[0], ids[1]}
    assert _ids(cli, "rating:1..3") == {ids[1], ids[2], ids[3]}
    assert _ids(cli, "rating:0") == {ids[0]}
    assert _ids(cli, "-rating:0") == set(ids[1:])
    assert _ids(cli, "is:favorite") == {ids[1], ids[4]}
    assert _ids(cli, "is:favourite") == {ids[1], ids[4]}
    assert _ids(cli, "-is:favorite") == {ids[0], ids[2], ids[3], ids[5]}
    assert _ids(cli, "is:favorite rating:>=4") == {ids[4]}
    assert _ids(cli, "tag:sea rating:>=4 -is:favorite") == {ids[5]}
    assert _ids(cli, "tag:sea is:favorite sort:name") == {ids[4]}
    ordered = [image["id"] for image in _json(cli, "ls", "rating:>=1 sort:name")]
    assert ordered == ids[1:]


@pytest.mark.parametrize("bad", ["rating:high", "rating:>=4mb", "is:starred"])
def test_bad_terms_are_usage_errors(cli, bad: str) -> None:
    status, _, err = cli("ls", bad)
    assert status == 2
    assert "column" in err


def test_paging_through_rated_and_favourite_images(repo: ImageRepository, tmp_path: Path) -> None:
    """Smaller pages than matches: every match once, in order, for a range (offset
    or keyset pages) and for an equality (seq windows)."""
    rated: list[str] = []
    for n in range(13):
        image = repo.upload(write(tmp_path / f"{n}.png", encode(picture(8, 8, n), "PNG"))).image
        assert image is not None
        if n % 3:
            repo.adjust(image.id, Adjustment(rating=4 + n % 2, favorite=n % 2 == 0))
            rated.append(image.id)
    for text in ("rating:>=4", "is:favorite", "rating:5 is:favorite", "rating:>=4 sort:name"):
        query = repo.parse_query(text)
        expected = [image.id for image in repo.iter_images(query)]
        seen: list[str] = []
        before = None
        while True:
            page = repo.list_page(query, before, limit=2)
            seen.extend(image.id for image in page.items)
            if page.next_before is None:
                break
            before = page.next_before
        assert seen == expected, text
        assert len(seen) == repo.count(query)
    assert {i.id for i in repo.iter_images("rating:>=4")} == set(rated)
    favourites = {i.id for i in repo.iter_images("is:favorite")}
    assert favourites and favourites < set(rated)


# -- stored documents: old, damaged -----------------------------------------------------------


def test_images_from_before_ratings_read_and_search_as_unrated(
    settings: Settings, tmp_path: Path, raw_db
) -> None:
    """No upgrade writes the new fields into every image (minutes at 100,000 on the
    embedded server): an image without them is unrated, no favourite, not turned, in
    what is shown and in what searches find."""
    repo = ImageRepository.open(settings)
    old = repo.upload(write(tmp_path / "old.jpg", jpeg_bytes(seed=1))).image
    rated = repo.upload(write(tmp_path / "new.jpg", jpeg_bytes(seed=2))).image
    assert old is not None and rated is not None
    repo.adjust(rated.id, Adjustment(rating=4, favorite=True))
    raw_db["images"].update_one(
        {"_id": ObjectId(old.id)}, {"$unset": {"rating": "", "favorite": "", "rotation": ""}}
    )
    repo.close()

    repo = ImageRepository.open(settings)
    try:
        info = repo.info(old.id)
        assert (info.rating, info.favorite, info.rotation, info.damaged) == (0, False, 0, ())

        def found(text: str) -> set[str]:
            return {image.id for image in repo.iter_images(text)}

        assert found("rating:<2") == found("rating:0") == found("rating:0..3") == {old.id}
        assert found("rating:<=4") == {old.id, rated.id}
        assert found("rating:>=1") == found("-rating:0") == found("is:favorite") == {rated.id}
        assert found("-is:favorite") == found("-rating:>=1") == {old.id}
        assert repo.count("rating:0") == 1
        # And it can be rated and turned like any other.
        assert repo.adjust(old.id, Adjustment(rating=2, turn=180)).rotation == 180
        assert found("rating:2") == {old.id}
    finally:
        repo.close()
    indexed = {tuple(i["key"]) for i in raw_db["images"].list_indexes()}
    assert ("trashed", "audience", "rating", "seq") in indexed
    assert ("trashed", "audience", "favorite", "seq") in indexed


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("rating", "lots", "rating: expected an integer, got str"),
        ("rating", 11, "rating: expected one of 0, 1, 2, 3, 4, 5, got 11"),
        ("favorite", "yes", "favorite: expected a boolean, got str"),
        ("rotation", 45, "rotation: expected one of 0, 90, 180, 270, got 45"),
        ("rotation", {"$gt": 0}, "rotation: expected an integer, got dict"),
    ],
)
def test_a_damaged_field_marks_the_image_never_crashes(
    cli, tmp_path: Path, raw_db, field: str, value: Any, problem: str
) -> None:
    first, second = _upload(cli, tmp_path, 2)
    raw_db["images"].update_one({"_id": ObjectId(first)}, {"$set": {field: value}})
    info = _json(cli, "info", first)
    assert problem in info["damaged"]
    assert (info["rating"], info["rotation"]) == (0, 0)  # never drawn as stored
    assert {image["id"] for image in _json(cli, "ls")} == {first, second}
    status, text, _ = cli("ls")
    assert status == 0 and "DAMAGED" in text
    # A turn still works on it, from 0, and is stored as a plain value.
    status, _, err = cli("edit", first, "--rotate", "90")
    assert status == 0, err
    assert _json(cli, "info", first)["rotation"] == 90


# -- rotation: stored, drawn, downloaded -----------------------------------------------------


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_rotation_adds_up_and_never_touches_the_original(cli, tmp_path: Path, raw_db) -> None:
    source = write(tmp_path / "wide.jpg", jpeg_bytes(80, 40, seed=3))
    (image_id,) = upload_lines(cli("upload", str(source))[1]).values()
    stored_before = raw_db["images"].find_one({"_id": ObjectId(image_id)})
    for turn, expected in (("90", 90), ("180", 270), ("270", 180), ("180", 0), ("270", 270)):
        status, _, err = cli("edit", image_id, "--rotate", turn)
        assert status == 0, err
        assert _json(cli, "info", image_id)["rotation"] == expected
    stored = raw_db["images"].find_one({"_id": ObjectId(image_id)})
    for key in ("sha256", "file_id", "width", "height", "thumbnail", "size"):
        assert stored[key] == stored_before[key]

    plain, rendered = tmp_path / "plain", tmp_path / "rendered"
    plain.mkdir()
    rendered.mkdir()
    assert cli("download", image_id, "-o", str(plain))[0] == 0
    (original,) = plain.iterdir()
    assert _sha(original) == _sha(source) == stored["sha256"]

    status, out, err = cli("download", image_id, "-o", str(rendered), "--rendered", "--json")
    assert status == 0, err
    (written,) = json.loads(out)
    turned = Path(written["path"])
    assert turned.name == "wide.jpg"
    with Image.open(turned) as picture_turned, Image.open(source) as picture_source:
        assert picture_turned.format == "JPEG"
        assert picture_turned.size == (40, 80)  # 270° clockwise: the sides swap
        upright = picture_source.convert("RGB")
        assert _close(picture_turned.convert("RGB"), upright.transpose(Image.Transpose.ROTATE_90))
        assert not _close(
            picture_turned.convert("RGB"), upright.transpose(Image.Transpose.ROTATE_270)
        )
    assert _sha(source) == stored["sha256"]  # and the original is still the original


def _close(a: Image.Image, b: Image.Image, tolerance: float = 6.0) -> bool:
    """Same size and a small mean difference (JPEG re-encoding moves pixels; a turn
    the wrong way moves them far)."""
    if a.size != b.size:
        return False
    mean = ImageStat.Stat(ImageChops.difference(a, b)).mean
    return max(mean) <= tolerance


def _marker_picture() -> Image.Image:
    """80x40, black with one red block in the top-left corner: where it ends up says
    which way the picture was turned."""
    image = Image.new("RGB", (80, 40))
    image.paste((255, 0, 0), (0, 0, 20, 10))
    return image


def _red_corner(image: Image.Image) -> str:
    rgb = image.convert("RGB")
    width, height = rgb.size
    corners = {
        "top-left": (2, 2),
        "top-right": (width - 3, 2),
        "bottom-left": (2, height - 3),
        "bottom-right": (width - 3, height - 3),
    }
    red = []
    for name, xy in corners.items():
        pixel = rgb.getpixel(xy)
        assert isinstance(pixel, tuple)
        if pixel[0] > 200 and pixel[1] < 80:
            red.append(name)
    assert len(red) == 1, red
    return red[0]


def _oriented_jpeg(orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(_marker_picture(), "JPEG", quality=95, exif=exif.tobytes())


def test_exif_orientation_is_applied_wherever_the_image_is_drawn(
    repo: ImageRepository, tmp_path: Path
) -> None:
    """Orientation 6: the stored pixels are 80x40 with red top-left; upright (turned
    90° clockwise) they are 40x80 with red top-right."""
    data = _oriented_jpeg(6)
    image = repo.upload(write(tmp_path / "phone.jpg", data)).image
    assert image is not None
    assert (image.width, image.height) == (40, 80)
    thumbnail = imaging.render_preview(repo.thumbnail(image.id), (200, 200))
    preview = imaging.render_preview(repo.original_bytes(image.id)[1], (200, 200))
    for drawn in (thumbnail, preview):
        assert drawn.width < drawn.height
        assert _red_corner(drawn) == "top-right"
    out = tmp_path / "out"
    out.mkdir()
    turned = repo.export(image.id, out, rendered=True)
    with Image.open(turned) as written:
        assert written.size == (40, 80)
        assert written.getexif().get(0x0112) in (None, 1)  # never turned twice by a viewer
        assert _red_corner(written) == "top-right"

    # Its own rotation comes on top: 90° more puts red bottom-right, landscape again.
    repo.adjust(image.id, Adjustment(turn=90))
    rotation = repo.info(image.id).rotation
    assert rotation == 90
    for source in (repo.thumbnail(image.id), repo.original_bytes(image.id)[1]):
        drawn = imaging.render_preview(source, (200, 200), rotation)
        assert drawn.width > drawn.height
        assert _red_corner(drawn) == "bottom-right"
    again = repo.export(image.id, out, rendered=True, force=True)
    with Image.open(again) as written:
        assert written.size == (80, 40)
        assert _red_corner(written) == "bottom-right"
    assert hashlib.sha256(repo.original_bytes(image.id)[1]).hexdigest() == image.sha256


@pytest.mark.parametrize(
    ("turn", "corner"), [(90, "top-right"), (180, "bottom-right"), (270, "bottom-left")]
)
def test_turns_are_clockwise(turn: int, corner: str) -> None:
    data = encode(_marker_picture(), "PNG")
    drawn = imaging.render_preview(data, (400, 400), turn)
    assert drawn.size == ((40, 80) if turn != 180 else (80, 40))
    assert _red_corner(drawn) == corner
    written, extension = imaging.render_turned(data, turn)
    assert extension is None  # PNG stays PNG
    with Image.open(io.BytesIO(written)) as again:
        assert again.format == "PNG" and _red_corner(again) == corner


def test_a_rendered_animation_keeps_every_frame(repo: ImageRepository, tmp_path: Path) -> None:
    frames = [picture(30, 20, n).convert("P") for n in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=80)
    image = repo.upload(write(tmp_path / "moving.gif", buffer.getvalue())).image
    assert image is not None
    repo.adjust(image.id, Adjustment(turn=90))
    out = tmp_path / "out"
    out.mkdir()
    with Image.open(repo.export(image.id, out, rendered=True)) as written:
        assert written.format == "GIF"
        assert written.size == (20, 30)
        assert getattr(written, "n_frames", 1) == 3


def test_inclusive_upper_bounds_find_the_boundary(repo: ImageRepository, tmp_path: Path) -> None:
    """The embedded server dropped the boundary of "<=" on an index with a further
    field, (…, rating, seq) and (…, size, _id): these found one image too few."""
    images = []
    for n in range(5):
        image = repo.upload(write(tmp_path / f"{n}.jpg", jpeg_bytes(seed=n))).image
        assert image is not None
        images.append(repo.adjust(image.id, Adjustment(rating=n)))
    by_size = sorted(images, key=lambda image: image.size)
    middle = by_size[2].size
    assert {i.id for i in repo.iter_images(f"size:0..{middle}")} == {i.id for i in by_size[:3]}
    assert {i.rating for i in repo.iter_images("rating:<=3")} == {0, 1, 2, 3}
    assert {i.rating for i in repo.iter_images("rating:2..3")} == {2, 3}
    assert {i.rating for i in repo.iter_images("rating:>3")} == {4}
