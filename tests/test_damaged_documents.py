"""Documents the app did not write (another client, an older version, a hand edit)
never break it: each is listed as damaged with what is wrong, the rest as usual, and
nothing from them reaches the terminal unescaped."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import Binary, DatetimeMS, ObjectId
from pymongo.errors import OperationFailure

from imagerepo_tui.records import CollectionInfo, ImageInfo, UserInfo
from imagerepo_tui.repository import ImageRepository
from tests.damaged_support import ALL_WRONG, MISSING, plant
from tests.sample_images import jpeg_bytes, write
from tests.support import Cli, upload_lines
from tests.test_cli_accounts import ALICE_PW, BOB_PW, Accounts

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
# Sets the terminal's title, and writes its clipboard (OSC 0 and OSC 52).
RETITLE = "\x1b]0;pwned\x07"
CLIPBOARD = "\x1b]52;c;ZXZpbA==\x07"


def sound_document() -> dict[str, Any]:
    return {
        "_id": ObjectId(),
        "seq": 7,
        "filename": "a.jpg",
        "title": "A",
        "description": "",
        "tags": ["sea"],
        "format": "JPEG",
        "mime": "image/jpeg",
        "width": 4,
        "height": 3,
        "frames": 1,
        "size": 100,
        "sha256": "0" * 64,
        "file_id": ObjectId(),
        "exif": {"camera_make": "Canon", "iso": 200},
        "created_at": NOW,
        "updated_at": NOW,
        "collections": [],
        "meta": {"trip": "Lisbon", "when": NOW},
        "trashed": False,
        "owner": "",
        "public": False,
    }


def upload_two(cli: Cli, tmp_path: Path) -> list[str]:
    paths = [write(tmp_path / f"good{n}.jpg", jpeg_bytes(40 + n, 30, seed=n)) for n in (1, 2)]
    status, out, err = cli("upload", *map(str, paths))
    assert status == 0, err
    found = upload_lines(out)
    return [found[str(path)] for path in paths]


# -- the boundary: documents to records ------------------------------------------------

WRONG_VALUES: list[Any] = [
    MISSING,
    None,
    42,
    -1,
    2.5,
    math.nan,
    True,
    "text",
    "",
    b"\x00\xff",
    ["a", 1],
    {"a": {"b": 1}},
    ObjectId(),
    NOW,
    DatetimeMS(2**62),
]


@pytest.mark.parametrize("key", sorted(sound_document()))
def test_any_wrong_value_in_any_field_makes_a_record_never_an_exception(key: str) -> None:
    for value in WRONG_VALUES:
        doc = sound_document()
        if value is MISSING:
            del doc[key]
        else:
            doc[key] = value
        info = ImageInfo.from_document(doc, {"": "someone"}, {"x"})
        json.loads(json.dumps(info.to_json(), allow_nan=False))
        assert isinstance(info.title, str) and isinstance(info.width, int)
        assert all(isinstance(tag, str) for tag in info.tags)
        assert info.created_at is None or isinstance(info.created_at, datetime)


def test_sound_document_is_not_damaged_and_each_wrong_field_is_named() -> None:
    assert ImageInfo.from_document(sound_document()).damaged == ()
    doc = sound_document()
    doc.update({key: value for key, value in ALL_WRONG.items() if value is not MISSING})
    for key in (key for key, value in ALL_WRONG.items() if value is MISSING):
        del doc[key]
    info = ImageInfo.from_document(doc)
    damaged = "\n".join(info.damaged)
    assert "title: expected a string, got int" in damaged
    assert "tags[0]: expected a string, got int" in damaged
    assert "tags[2]: expected a string, got dict" in damaged
    assert "filename: missing" in damaged and "file_id: missing" in damaged
    assert "created_at: expected a date, got str" in damaged
    assert "size: expected an integer, got str" in damaged
    assert "exif: expected a document, got list" in damaged
    assert "owner: expected a string, got dict" in damaged
    assert "public: expected a boolean, got str" in damaged
    # What can be shown is: the title's digits, the number in the size string, the
    # date in the ISO string; "yes" makes nothing public.
    assert info.title == "42" and info.size == 123 and info.tags == ("1", "ok")
    assert info.created_at == datetime(2021, 5, 1, 10, tzinfo=UTC)
    assert info.public is False and info.owner == ""


def test_users_and_collections_are_checked_too() -> None:
    user = UserInfo.from_document({"_id": ObjectId(), "name": 7, "admin": "false"})
    assert user.admin is False and user.name == "7"  # only a stored true is an admin
    collection = CollectionInfo.from_document({"_id": ObjectId(), "name": ["x"]})
    assert collection.name.startswith("(no name: ") and collection.created_at is None
    assert "name: expected a string, got list" in collection.damaged
    json.dumps(collection.to_json())


# -- the CLI against a real server --------------------------------------------------------


def test_ls_and_info_list_damaged_images_beside_the_others(
    cli: Cli, raw_db: Any, tmp_path: Path
) -> None:
    good = upload_two(cli, tmp_path)
    one_wrong = {
        "title": plant(raw_db, good[0], title=42),
        "tags": plant(raw_db, good[0], tags=[1, "two"]),
        "filename": plant(raw_db, good[0], filename=MISSING),
        "created_at": plant(raw_db, good[0], created_at="2021-05-01"),
        "size": plant(raw_db, good[0], size="123"),
        "exif": plant(raw_db, good[0], exif=[1, 2]),
        "owner": plant(raw_db, good[0], owner={"evil": 1}),
    }
    everything = plant(raw_db, good[0], **ALL_WRONG)
    planted = {*good, *one_wrong.values(), everything}
    # A date beyond Python's years, which strict decoding failed whole batches for.
    # MongoDB stores it; the embedded server (Python too) refuses to.
    try:
        far_future: str | None = plant(raw_db, good[0], updated_at=DatetimeMS(2**62))
        planted.add(far_future)
    except OperationFailure:
        far_future = None

    status, out, err = cli("ls")
    assert status == 0, err
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert set(lines) == planted
    for image_id in good:
        assert "DAMAGED" not in lines[image_id]
    for field, image_id in one_wrong.items():
        assert f"DAMAGED: {field}" in lines[image_id]
    assert "title: expected a string, got int" in lines[one_wrong["title"]]
    if far_future is not None:
        assert "updated_at: expected a date, got DatetimeMS" in lines[far_future]

    status, out, err = cli("ls", "--json")
    assert status == 0, err
    listed = {item["id"]: item for item in json.loads(out)}
    assert set(listed) == set(lines)
    assert all(listed[image_id]["damaged"] == [] for image_id in good)
    assert "title: expected a string, got int" in listed[one_wrong["title"]]["damaged"]
    assert listed[one_wrong["title"]]["title"] == "42"
    assert "file_id: missing" in listed[everything]["damaged"]
    assert listed[one_wrong["tags"]]["tags"] == ["1", "two"]

    status, out, err = cli("info", everything)
    assert status == 0, err
    assert "damaged" in out and "width: expected an integer, got str" in out
    status, out, err = cli("info", everything, "--json")
    assert status == 0, err
    assert "meta: expected a document, got str" in json.loads(out)["damaged"]
    # Its original cannot be reached: a clear error, not a traceback.
    status, _, err = cli("download", everything, "-o", str(tmp_path))
    assert status == 1 and "damaged" in err


def test_a_damaged_image_can_still_be_trashed_and_purged(
    cli: Cli, raw_db: Any, tmp_path: Path
) -> None:
    """No stored original to take along, but the user must be able to get rid of it;
    the sound images and their bytes stay."""
    good = upload_two(cli, tmp_path)
    no_file = plant(raw_db, good[0], file_id=MISSING)
    not_an_id = plant(raw_db, good[0], file_id="by hand")
    chunks = raw_db["fs.chunks"].count_documents({})
    fresh = write(tmp_path / "fresh.jpg", jpeg_bytes(50, 30, seed=9))
    for image_id in (no_file, not_an_id):
        status, _, err = cli("update", image_id, str(fresh))
        assert status == 1 and "damaged" in err and "purge it" in err
        status, _, err = cli("delete", image_id, "-y")
        assert status == 0, err
        status, _, err = cli("purge", image_id, "-y")
        assert status == 0, err
        assert raw_db.images.find_one({"_id": ObjectId(image_id)}) is None
    assert raw_db["fs.chunks"].count_documents({}) == chunks
    status, out, _ = cli("ls", "--json")
    assert sorted(item["id"] for item in json.loads(out)) == sorted(good)


def test_image_with_a_non_objectid_id_is_listed(cli: Cli, raw_db: Any, tmp_path: Path) -> None:
    good = upload_two(cli, tmp_path)
    plant(raw_db, good[0], _id=f"by-hand{RETITLE}")
    status, out, err = cli("ls")
    assert status == 0, err
    assert "by-hand\\x1b]0;pwned\\x07" in out and "_id: expected an ObjectId, got str" in out
    assert "\x1b" not in out + err and "\x07" not in out + err


def test_terminal_control_in_library_data_is_escaped_in_ls_and_info(
    cli: Cli, raw_db: Any, tmp_path: Path
) -> None:
    good = upload_two(cli, tmp_path)
    hostile = plant(
        raw_db,
        good[0],
        exif={RETITLE: "x", "Model": CLIPBOARD},
        meta={CLIPBOARD: RETITLE},
        format=f"JPEG{RETITLE}",
        mime=CLIPBOARD,
        sha256=RETITLE,
        title=RETITLE,
        tags=[CLIPBOARD],
    )
    for args in (("ls",), ("info", hostile), ("info", hostile, "--json"), ("ls", "--json")):
        status, out, err = cli(*args)
        assert status == 0, err
        assert "\x1b" not in out + err and "\x07" not in out + err, args
    status, out, _ = cli("info", hostile)
    assert "exif \\x1b]0;pwned\\x07" in out and "meta \\x1b]52;c;ZXZpbA==\\x07" in out


def test_info_prints_every_exif_entry(cli: Cli, raw_db: Any, tmp_path: Path) -> None:
    good = upload_two(cli, tmp_path)
    many = plant(raw_db, good[0], exif={f"key{n:04}": f"v{n}" for n in range(5000)})
    status, out, err = cli("info", many)
    assert status == 0, err
    assert sum(line.startswith("exif key") for line in out.splitlines()) == 5000


def test_damaged_collection_is_listed(cli: Cli, raw_db: Any, tmp_path: Path) -> None:
    good = upload_two(cli, tmp_path)
    assert cli("collections", "create", "Trips")[0] == 0
    bad = raw_db.collections.insert_one(
        {"name": 42, "name_key": "42", "owner": "", "created_at": "yesterday"}
    ).inserted_id
    raw_db.images.update_one({"_id": ObjectId(good[0])}, {"$push": {"collections": bad}})
    status, out, err = cli("collections")
    assert status == 0, err
    assert "Trips" in out and "DAMAGED" in out and "created_at: expected a date" in out
    status, out, err = cli("collections", "--json")
    assert status == 0, err
    assert {item["name"] for item in json.loads(out)} == {"Trips", "42"}
    status, out, err = cli("info", good[0])
    assert status == 0 and "collections  42" in out, out


def test_garbage_thumbnail_is_no_thumbnail(repo: ImageRepository, raw_db: Any, tmp_path: Path):
    result = repo.upload(write(tmp_path / "a.jpg", jpeg_bytes(40, 30, seed=1)))
    assert result.image is not None
    for garbage in ("a string", 12, {"not": "bytes"}):
        raw_db.images.update_one(
            {"_id": ObjectId(result.image.id)}, {"$set": {"thumbnail": garbage}}
        )
        assert repo.thumbnail(result.image.id) == b""
    raw_db.images.update_one(
        {"_id": ObjectId(result.image.id)}, {"$set": {"thumbnail": Binary(b"\x89PNG junk")}}
    )
    assert repo.thumbnail(result.image.id) == b"\x89PNG junk"  # the preview copes


# -- accounts: other users' collections, mixed types in a merged sort ---------------------


@pytest.fixture
def accounts(db_uri: str, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> Accounts:
    return Accounts(db_uri, capsys, monkeypatch)


def test_other_users_collections_stay_hidden_and_bad_sort_keys_merge(
    accounts: Accounts, raw_db: Any, tmp_path: Path
) -> None:
    run = accounts.run
    assert run("user", "add", "alice", password=ALICE_PW)[0] == 0
    assert accounts.alice("user", "add", "bob", new_password=BOB_PW)[0] == 0
    photo = write(tmp_path / "bob.jpg", jpeg_bytes(40, 30, seed=3))
    status, out, err = accounts.bob("upload", str(photo), "--public")
    assert status == 0, err
    bobs = upload_lines(out)[str(photo)]
    assert accounts.bob("collections", "create", "Mine")[0] == 0
    assert accounts.bob("collections", "add", "Mine", bobs)[0] == 0
    assert accounts.alice("collections", "create", "Hers")[0] == 0
    assert accounts.alice("collections", "add", "Hers", bobs)[0] == 0
    hers = str(raw_db.collections.find_one({"name": "Hers"})["_id"])
    mine = str(raw_db.collections.find_one({"name": "Mine"})["_id"])

    status, out, _ = accounts.bob("ls", "--json")
    assert status == 0 and json.loads(out)[0]["collections"] == [mine]
    status, out, _ = accounts.alice("ls", "--json")
    assert status == 0 and json.loads(out)[0]["collections"] == [hers]

    # Bob's own and everyone's public images are two pages merged in Python: a size
    # stored as a string among numbers must sort, not raise.
    alices = write(tmp_path / "alice.jpg", jpeg_bytes(50, 30, seed=4))
    status, out, err = accounts.alice("upload", str(alices), "--public")
    assert status == 0, err
    plant(raw_db, upload_lines(out)[str(alices)], size="huge", public=True)
    status, out, err = accounts.bob("ls", "sort:size", "--json")
    assert status == 0, err
    assert len(json.loads(out)) == 3
