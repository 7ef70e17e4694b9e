"""Smart collections: a collection that is its query, evaluated live, refused by-hand
membership, a stored query read as untrusted, and no loops."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagerepo_tui.albums import MAX_SMART_DEPTH
from imagerepo_tui.errors import SmartCollectionError
from imagerepo_tui.query import QueryError
from imagerepo_tui.repository import ImageRepository
from tests.sample_images import jpeg_bytes, write
from tests.support import upload_lines


def _upload(cli: Any, path: Path, *extra: str) -> str:
    status, out, err = cli("upload", str(path), *extra)
    assert status == 0, err
    return upload_lines(out)[str(path)]


def _ls(cli: Any, *query: str) -> list[str]:
    status, out, err = cli("ls", *query, "--json")
    assert status == 0, err
    return sorted(item["filename"] for item in json.loads(out))


def _collections(cli: Any) -> dict[str, dict[str, Any]]:
    status, out, err = cli("collections", "ls", "--json")
    assert status == 0, err
    return {item["name"]: item for item in json.loads(out)}


def test_a_smart_collection_is_its_query_live(cli: Any, tmp_path: Path) -> None:
    _upload(cli, write(tmp_path / "cat1.jpg", jpeg_bytes(seed=1)), "--tag", "cat")
    _upload(cli, write(tmp_path / "dog.jpg", jpeg_bytes(seed=2)), "--tag", "dog")
    status, out, err = cli("collections", "create", "Cats", "--query", "tag:cat sort:name")
    assert status == 0, err
    assert "Cats" in out and "[smart] tag:cat sort:name" in out
    assert _ls(cli, "collection:Cats") == ["cat1.jpg"]
    # Live: an image uploaded afterwards is in it, with no one adding it.
    _upload(cli, write(tmp_path / "cat2.jpg", jpeg_bytes(seed=3)), "--tag", "cat")
    assert _ls(cli, "collection:Cats") == ["cat1.jpg", "cat2.jpg"]
    # Combined with other terms, and negated.
    assert _ls(cli, "collection:Cats", "name:cat2") == ["cat2.jpg"]
    assert _ls(cli, "-collection:Cats") == ["dog.jpg"]
    # Its own sort applies when the search has none.
    status, out, _ = cli("ls", "collection:Cats", "--json")
    assert [item["filename"] for item in json.loads(out)] == ["cat1.jpg", "cat2.jpg"]
    listed = _collections(cli)["Cats"]
    assert listed["smart"] is True and listed["query"] == "tag:cat sort:name"
    assert listed["count"] == 2 and listed["damaged"] == []
    status, out, err = cli("collections", "create", "Plain")
    assert status == 0, err
    plain = _collections(cli)["Plain"]
    assert plain["smart"] is False and plain["query"] is None


def test_smart_collections_refuse_images_by_hand(cli: Any, tmp_path: Path) -> None:
    image_id = _upload(cli, write(tmp_path / "a.jpg", jpeg_bytes(seed=4)), "--tag", "cat")
    assert cli("collections", "create", "Cats", "--query", "tag:cat")[0] == 0
    for action in ("add", "remove"):
        status, _, err = cli("collections", action, "Cats", image_id)
        assert status == 2
        assert "'Cats' is a smart collection" in err and "by hand" in err
    status, _, err = cli(
        "upload", str(write(tmp_path / "b.jpg", jpeg_bytes(seed=5))), "--collection", "cats"
    )
    assert status == 2 and "smart collection" in err
    assert _ls(cli) == ["a.jpg"]
    # Rename, describe and delete work as for any collection.
    assert cli("collections", "rename", "Cats", "Felines")[0] == 0
    assert cli("collections", "describe", "Felines", "all the cats")[0] == 0
    felines = _collections(cli)["Felines"]
    assert felines["description"] == "all the cats" and felines["count"] == 1
    assert _ls(cli, "collection:felines") == ["a.jpg"]
    status, _, err = cli("collections", "delete", "Felines", "--yes")
    assert status == 0, err
    assert _collections(cli) == {} and _ls(cli) == ["a.jpg"]


def test_a_bad_query_is_refused_with_its_column(cli: Any) -> None:
    status, _, err = cli("collections", "create", "Odd", "--query", "tag:cat colour:red")
    assert status == 2
    assert "unknown field 'colour'" in err and "(at column 9)" in err
    assert "        ^" in err
    status, _, err = cli("collections", "create", "Odd", "--query", "collection:Nope")
    assert status == 2 and "no collection named 'Nope'" in err
    status, _, err = cli("collections", "create", "Odd", "--query", "  ")
    assert status == 2
    status, _, err = cli("collections", "create", "Self", "--query", "collection:self tag:x")
    assert status == 2 and "cannot name itself" in err
    assert _collections(cli) == {}


def test_a_damaged_stored_query_is_shown_not_raised(cli: Any, raw_db: Any, tmp_path: Path) -> None:
    _upload(cli, write(tmp_path / "a.jpg", jpeg_bytes(seed=6)), "--tag", "cat")
    assert cli("collections", "create", "Cats", "--query", "tag:cat")[0] == 0
    assert cli("collections", "create", "Numbers", "--query", "tag:cat")[0] == 0
    raw_db.collections.update_one({"name": "Cats"}, {"$set": {"query": 'tag:"unclosed'}})
    raw_db.collections.update_one({"name": "Numbers"}, {"$set": {"query": 5}})
    listed = _collections(cli)
    for name in ("Cats", "Numbers"):
        assert listed[name]["smart"] is True and listed[name]["count"] == 0
        assert listed[name]["damaged"], listed[name]
    assert "unclosed quote" in " ".join(listed["Cats"]["damaged"])
    status, out, err = cli("collections", "ls")
    assert status == 0 and "damaged" in out and "Traceback" not in err
    status, _, err = cli("ls", "collection:Cats")
    assert status == 2 and "damaged query" in err and "Traceback" not in err
    assert _ls(cli, "tag:cat") == ["a.jpg"]  # the rest of the library is untouched
    assert cli("collections", "delete", "Cats", "--yes")[0] == 0


def test_smart_collections_naming_each_other_do_not_loop(
    repo: ImageRepository, raw_db: Any, tmp_path: Path
) -> None:
    result = repo.upload(write(tmp_path / "a.jpg", jpeg_bytes(seed=7)))
    assert result.image is not None
    repo.create_collection("Base", query="format:jpg")
    repo.create_collection("Outer", query="collection:Base")
    assert [i.filename for i in repo.iter_images("collection:Outer")] == ["a.jpg"]
    # Another client makes them name each other, and one name itself.
    raw_db.collections.update_one({"name": "Base"}, {"$set": {"query": "collection:Outer"}})
    raw_db.collections.insert_one(
        {
            **raw_db.collections.find_one({"name": "Base"}, {"_id": 0}),
            "name": "Me",
            "name_key": "me",
            "query": "collection:me",
        }
    )
    with pytest.raises(QueryError, match="a loop"):
        repo.parse_query("collection:Outer")
    with pytest.raises(QueryError, match="a loop"):
        repo.parse_query("collection:Me")
    shown = {c.name: c for c in repo.list_collections()}
    assert all(shown[name].damaged and shown[name].count == 0 for name in ("Base", "Outer", "Me"))
    # A long chain (no loop) is bounded too.
    raw_db.collections.update_one({"name": "Base"}, {"$set": {"query": "tag:x"}})
    previous = "Base"
    for n in range(MAX_SMART_DEPTH - 1):
        repo.create_collection(f"L{n}", query=f"collection:{previous}")
        previous = f"L{n}"
    assert [i.filename for i in repo.iter_images(f"collection:{previous}")] == []
    with pytest.raises(QueryError, match="nest more than"):
        repo.create_collection("Deeper", query=f"collection:{previous}")
    template = raw_db.collections.find_one({"name": "Base"}, {"_id": 0})
    raw_db.collections.insert_one(
        {**template, "name": "Deeper", "name_key": "deeper", "query": f"collection:{previous}"}
    )
    (damage,) = repo.collection("Deeper").damaged
    assert "nest more than" in damage and "has a damaged query" not in damage
    with pytest.raises(SmartCollectionError):
        repo.add_to_collection("L0", [result.image.id])
