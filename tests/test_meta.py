"""Custom metadata (--meta key=value): typed values, removal, key validation, search."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from imagerepo_tui.errors import InvalidMetadataError
from imagerepo_tui.repository import ImageRepository, NewMetadata, parse_meta
from tests.library_support import exif_jpeg
from tests.sample_images import write
from tests.support import Cli, upload_lines


def strict_json(text: str) -> Any:
    """JSON as other tools read it: NaN and Infinity are not JSON."""

    def refuse(name: str) -> None:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def upload(cli: Cli, path: Path, *extra: str) -> str:
    status, out, err = cli("upload", str(path), *extra)
    assert status == 0, err
    return upload_lines(out)[str(path)]


def info(cli: Cli, image_id: str) -> dict[str, Any]:
    status, out, err = cli("info", image_id, "--json")
    assert status == 0, err
    return strict_json(out)


@pytest.mark.parametrize(
    ("assignment", "key", "value"),
    [
        ("rating=4", "rating", 4),
        ("rating=-2", "rating", -2),
        ("ratio=1.5", "ratio", 1.5),
        ("ratio=2e3", "ratio", 2000.0),
        ("shot=2021-05-17", "shot", datetime(2021, 5, 17, tzinfo=UTC)),
        ("shot=2021-05-17T10:30", "shot", datetime(2021, 5, 17, 10, 30, tzinfo=UTC)),
        ("shot=2021-05-17 10:30:05", "shot", datetime(2021, 5, 17, 10, 30, 5, tzinfo=UTC)),
        ("note=hello world", "note", "hello world"),
        ("note=", "note", ""),
        ("url=a=b", "url", "a=b"),
        ("Camera-Body_2=X100", "Camera-Body_2", "X100"),
        # Text that only looks like a number or a date stays text.
        ("code=007x", "code", "007x"),
        ("part=12_34", "part", "12_34"),
        ("v=nan", "v", "nan"),
        ("v=inf", "v", "inf"),
        ("v=Infinity", "v", "Infinity"),
        ("v=-infinity", "v", "-infinity"),
        ("when=2021-13-45", "when", "2021-13-45"),
        ("when=2021-02-30", "when", "2021-02-30"),
        ("big=99999999999999999999", "big", "99999999999999999999"),  # over 64 bits
        ("huge=1e999", "huge", "1e999"),
        ("max=9223372036854775807", "max", 2**63 - 1),
        ("pad= 7 ", "pad", 7),
    ],
)
def test_values_are_typed(assignment: str, key: str, value: Any) -> None:
    parsed_key, parsed = parse_meta(assignment)
    assert (parsed_key, parsed, type(parsed)) == (key, value, type(value))


BAD_KEYS = ["$x=1", "a.b=1", "=1", " =1", "novalue", "a b=1", "é=1", "1abc=2", "x" * 65 + "=1"]


@pytest.mark.parametrize("assignment", BAD_KEYS)
def test_invalid_keys_are_refused(assignment: str) -> None:
    with pytest.raises(InvalidMetadataError, match="is not key=value with a key of letters"):
        parse_meta(assignment)


def test_upload_and_edit_store_typed_values(cli: Cli, tmp_path: Path, raw_db) -> None:
    image_id = upload(
        cli,
        write(tmp_path / "m.jpg", exif_jpeg(seed=1)),
        *("--meta", "rating=4", "--meta", "ratio=1.5", "--meta", "shot=2021-05-17"),
        *("--meta", "note=hello", "--meta", "camera_body=x100", "--meta", "v=infinity"),
    )
    assert info(cli, image_id)["meta"] == {
        "rating": 4,
        "ratio": 1.5,
        "shot": "2021-05-17T00:00:00+00:00",
        "note": "hello",
        "camera_body": "x100",
        "v": "infinity",
    }
    stored = raw_db["images"].find_one({"_id": ObjectId(image_id)})["meta"]
    assert type(stored["rating"]) is int and type(stored["ratio"]) is float
    assert isinstance(stored["shot"], datetime) and stored["note"] == "hello"

    status, out, err = cli(
        "edit", image_id, "--meta", "rating=5", "--meta", "added=x", "--unmeta", "note", "--json"
    )
    assert status == 0, err
    meta = strict_json(out)["meta"]
    assert meta["rating"] == 5 and meta["added"] == "x" and "note" not in meta
    assert meta["shot"] == "2021-05-17T00:00:00+00:00"  # untouched
    status, out, _ = cli("info", image_id)
    assert "meta rating" in out and "meta added" in out
    # Removing a field that is not there is harmless.
    status, _, err = cli("edit", image_id, "--unmeta", "never-set")
    assert status == 0, err
    assert "never-set" not in info(cli, image_id)["meta"]


@pytest.mark.parametrize("assignment", BAD_KEYS)
def test_cli_refuses_invalid_keys_with_exit_2(cli: Cli, tmp_path: Path, assignment: str) -> None:
    path = write(tmp_path / "k.jpg", exif_jpeg(seed=2))
    status, out, err = cli("upload", str(path), "--meta", assignment)
    assert (status, out) == (2, "")
    assert "error: " in err and "is not key=value with a key of letters, digits, _ or -" in err
    assert cli("ls", "--json")[1] == "[]\n"  # nothing uploaded
    image_id = upload(cli, path)
    status, _, err = cli("edit", image_id, "--meta", assignment)
    assert status == 2 and "is not key=value" in err
    assert info(cli, image_id)["meta"] == {}


@pytest.mark.parametrize("key", ["$x", "a.b", "", "x y", "$where"])
def test_cli_refuses_invalid_unmeta_keys(cli: Cli, tmp_path: Path, key: str) -> None:
    image_id = upload(cli, write(tmp_path / "u.jpg", exif_jpeg(seed=3)), "--meta", "a=1")
    status, _, err = cli("edit", image_id, "--unmeta", key, "--title", "changed")
    assert status == 2 and "not a valid custom field name" in err
    after = info(cli, image_id)
    assert (after["title"], after["meta"]) == ("", {"a": 1})  # nothing changed


def test_core_refuses_invalid_keys(repo: ImageRepository, tmp_path: Path, raw_db) -> None:
    path = write(tmp_path / "c.jpg", exif_jpeg(seed=4))
    for bad in ({"$where": 1}, {"a.b": 1}, {"": 1}):
        result = repo.upload(path, NewMetadata(meta=bad))
        assert result.status == "error" and "not a valid custom field name" in (result.error or "")
    assert raw_db["images"].count_documents({}) == 0
    result = repo.upload(path, NewMetadata(meta={"ok": 1}))
    assert result.image is not None
    for bad in ({"$where": 1}, {"a.b": 1}, {"n": {"$gt": 1}}, {"n": float("nan")}):
        with pytest.raises(InvalidMetadataError):
            repo.edit(result.image.id, meta=bad)
    with pytest.raises(InvalidMetadataError):
        repo.edit(result.image.id, unset_meta=["a.b"])
    stored = raw_db["images"].find_one({"_id": ObjectId(result.image.id)})
    assert stored["meta"] == {"ok": 1}


def test_search_by_custom_fields(cli: Cli, tmp_path: Path) -> None:
    ids = {
        rating: upload(
            cli,
            write(tmp_path / f"{rating}.jpg", exif_jpeg(seed=10 + rating)),
            "--meta",
            f"rating={rating}",
            "--meta",
            f"body={'x' if rating % 2 else 'y'}",
        )
        for rating in range(1, 6)
    }
    unrated = upload(cli, write(tmp_path / "none.jpg", exif_jpeg(seed=20)))

    def found(*query: str) -> set[str]:
        status, out, err = cli("ls", "--json", *query)
        assert status == 0, err
        return {item["id"] for item in json.loads(out)}

    assert found("meta.rating:>=4") == {ids[4], ids[5]}
    assert found("meta.rating:<2") == {ids[1]}
    assert found("meta.rating:3") == {ids[3]}
    assert found("meta.rating:2..4") == {ids[2], ids[3], ids[4]}
    assert found("meta.body:x") == {ids[1], ids[3], ids[5]}
    assert found("meta.body:x meta.rating:>1") == {ids[3], ids[5]}
    assert found("--", "-meta.body:x") == {ids[2], ids[4], unrated}
    cli("edit", ids[5], "--meta", "rating=2.5")
    assert found("meta.rating:>=4") == {ids[4]}
    assert found("meta.rating:>2") == {ids[3], ids[4], ids[5]}
    cli("edit", ids[4], "--unmeta", "rating")
    assert found("meta.rating:>=4") == set()
    status, _, err = cli("ls", "meta.rating:>=high")
    assert status == 2 and "comparing needs a number or a date" in err
