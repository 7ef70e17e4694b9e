"""Collections (albums): names unique ignoring case, membership by ids, prefixes or a
query, several per image, counts of live images only, and upload --collection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bson import ObjectId

from imagerepo_tui.errors import ImageRepoError, NotFoundError
from imagerepo_tui.query import QueryError
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.store import CollectionExistsError
from tests.library_support import exif_jpeg
from tests.sample_images import write
from tests.support import Cli, upload_lines


def upload(repo: ImageRepository, folder: Path, *names: str) -> list[str]:
    ids = []
    for name in names:
        result = repo.upload(write(folder / name, exif_jpeg(seed=sum(map(ord, name)))))
        assert result.image is not None, result.error
        ids.append(result.image.id)
    return ids


def members(repo: ImageRepository, name: str) -> set[str]:
    return set(repo.iter_ids(f"collection:{json.dumps(name)}"))


def test_create_describe_rename(repo: ImageRepository) -> None:
    created = repo.create_collection("  Summer   2021 ", "beach days")
    assert (created.name, created.description, created.count) == ("Summer 2021", "beach days", 0)
    assert repo.collection("summer 2021").id == created.id
    described = repo.describe_collection("SUMMER 2021", "lake days")
    assert described.description == "lake days" and described.updated_at >= created.updated_at
    renamed = repo.rename_collection("summer 2021", "Holidays 2021")
    assert (renamed.id, renamed.name, renamed.description) == (
        created.id,
        "Holidays 2021",
        "lake days",
    )
    with pytest.raises(NotFoundError, match="no collection named 'Summer 2021'"):
        repo.collection("Summer 2021")
    # Only the case of its own name changes: not a clash with itself.
    assert repo.rename_collection("holidays 2021", "HOLIDAYS 2021").name == "HOLIDAYS 2021"
    assert [c.name for c in repo.list_collections()] == ["HOLIDAYS 2021"]


@pytest.mark.parametrize("clash", ["summer", "SUMMER", " Summer ", "sum\u200bmer"])
def test_duplicate_names_ignoring_case_are_refused(repo: ImageRepository, clash: str) -> None:
    repo.create_collection("Summer")
    if "\u200b" in clash:  # a different name that only looks the same is a new name
        assert repo.create_collection(clash).name == clash
        return
    with pytest.raises(CollectionExistsError, match=r"a collection named .* exists"):
        repo.create_collection(clash)
    repo.create_collection("Winter")
    with pytest.raises(CollectionExistsError, match="exists"):
        repo.rename_collection("Winter", clash)
    assert sorted(c.name for c in repo.list_collections()) == ["Summer", "Winter"]


@pytest.mark.parametrize("bad", ["", "   ", "\t\n"])
def test_a_collection_needs_a_name(repo: ImageRepository, bad: str) -> None:
    with pytest.raises(ImageRepoError, match="needs a name"):
        repo.create_collection(bad)
    repo.create_collection("x")
    with pytest.raises(ImageRepoError, match="needs a name"):
        repo.rename_collection("x", bad)


def test_unknown_collections_are_clear_errors(repo: ImageRepository) -> None:
    for action in (
        lambda: repo.collection("nope"),
        lambda: repo.rename_collection("nope", "yes"),
        lambda: repo.describe_collection("nope", "text"),
        lambda: repo.delete_collection("nope"),
        lambda: repo.add_to_collection("nope", []),
        lambda: repo.remove_from_collection("nope", []),
    ):
        with pytest.raises(NotFoundError, match="no collection named 'nope'"):
            action()


def test_membership_by_ids_and_prefixes(repo: ImageRepository, tmp_path: Path, raw_db) -> None:
    # Ids made in the same second share their first 8+ characters: a short prefix is
    # unique only while b is the only image.
    (b,) = upload(repo, tmp_path, "b.jpg")
    repo.create_collection("Trips")
    repo.create_collection("Best")
    assert repo.add_to_collection("trips", [b[:6]]) == 1
    a, c = upload(repo, tmp_path, "a.jpg", "c.jpg")
    assert repo.add_to_collection("trips", [a, b]) == 1
    assert repo.add_to_collection("Trips", [a]) == 0  # already in it
    assert repo.add_to_collection("Best", [b, c]) == 2
    assert members(repo, "Trips") == {a, b}
    assert members(repo, "Best") == {b, c}
    # b is in both; it is stored once per collection.
    trips, best = repo.collection("Trips"), repo.collection("Best")
    assert set(repo.info(b).collections) == {trips.id, best.id}
    assert sorted(repo.collection_names(repo.info(b).collections)) == ["Best", "Trips"]
    stored = raw_db["images"].find_one({"_id": ObjectId(b)})["collections"]
    assert sorted(map(str, stored)) == sorted([trips.id, best.id])
    assert (trips.count, best.count) == (2, 2)

    assert repo.remove_from_collection("TRIPS", [b]) == 1
    assert repo.remove_from_collection("Trips", [b]) == 0
    assert members(repo, "Trips") == {a}
    assert set(repo.info(b).collections) == {best.id}
    with pytest.raises(ImageRepoError, match="not an image id"):
        repo.add_to_collection("Trips", ["zzz"])
    with pytest.raises(NotFoundError):
        repo.add_to_collection("Trips", ["0" * 24])
    assert members(repo, "Trips") == {a}


def test_deleting_a_collection_keeps_its_images(
    repo: ImageRepository, tmp_path: Path, raw_db
) -> None:
    a, b = upload(repo, tmp_path, "a.jpg", "b.jpg")
    repo.create_collection("Gone")
    repo.create_collection("Stays")
    repo.add_to_collection("Gone", [a, b])
    repo.add_to_collection("Stays", [b])
    gone = repo.delete_collection("gone")
    assert gone.name == "Gone"
    assert set(repo.iter_ids()) == {a, b}
    assert raw_db["images"].count_documents({"collections": ObjectId(gone.id)}) == 0
    assert repo.info(a).collections == ()
    assert repo.info(b).collections == (repo.collection("Stays").id,)
    assert raw_db["collections"].count_documents({}) == 1
    with pytest.raises(QueryError, match="no collection named 'Gone'"):
        repo.parse_query("collection:Gone")
    # The name is free again, and the new collection starts empty.
    assert repo.create_collection("Gone").count == 0
    assert members(repo, "Gone") == set()


def test_counts_exclude_trashed_images(repo: ImageRepository, tmp_path: Path) -> None:
    a, b, c = upload(repo, tmp_path, "a.jpg", "b.jpg", "c.jpg")
    repo.create_collection("Album")
    repo.add_to_collection("Album", [a, b, c])
    repo.delete(b)
    assert repo.collection("Album").count == 2
    assert [(x.name, x.count) for x in repo.list_collections()] == [("Album", 2)]
    assert members(repo, "Album") == {a, c}
    assert repo.count('collection:"Album"') == 2
    assert set(repo.iter_ids("collection:Album", trash=True)) == {b}
    repo.restore(b)
    assert repo.collection("Album").count == 3
    assert members(repo, "Album") == {a, b, c}


# -- through the CLI -----------------------------------------------------------------------


def test_cli_collections_lifecycle(cli: Cli, tmp_path: Path) -> None:
    assert cli("collections", "--json") == (0, "[]\n", "")
    status, out, err = cli("collections", "create", "Summer 2021", "--description", "hot")
    assert status == 0, err
    assert "Summer 2021" in out and "(created)" in out
    status, _, err = cli("collections", "create", "summer 2021")
    assert status == 1 and "error: a collection named 'summer 2021' exists" in err
    status, out, _ = cli("collections", "rename", "SUMMER 2021", "Holidays", "--json")
    assert (status, json.loads(out)["name"]) == (0, "Holidays")
    status, out, _ = cli("collections", "describe", "holidays", "sun and sea", "--json")
    assert json.loads(out)["description"] == "sun and sea"
    status, _, err = cli("collections", "rename", "nope", "x")
    assert status == 1 and "no collection named 'nope'" in err
    status, out, _ = cli("collections", "ls", "--json")
    listed = json.loads(out)
    assert [(c["name"], c["description"], c["count"]) for c in listed] == [
        ("Holidays", "sun and sea", 0)
    ]
    status, _, err = cli("collections", "delete", "Holidays")
    assert status == 2 and "--yes" in err  # not on a terminal: nothing without --yes
    status, out, _ = cli("collections", "delete", "Holidays", "--yes")
    assert status == 0 and "its images stay" in out
    assert cli("collections", "--json") == (0, "[]\n", "")


def test_cli_add_and_remove_by_ids_and_query(cli: Cli, tmp_path: Path) -> None:
    ids = {}
    cli("collections", "create", "Coast")
    for n, tag in enumerate(["hill", "sea", "sea", "sea"]):
        path = write(tmp_path / f"{n}.jpg", exif_jpeg(seed=n))
        status, out, err = cli("upload", str(path), "--tag", tag)
        assert status == 0, err
        ids[n] = upload_lines(out)[str(path)]
        if n == 0:  # a short prefix, while it is unique
            status, out, err = cli("collections", "add", "coast", ids[0][:6], "--json")
            assert (status, json.loads(out)) == (0, {"collection": "Coast", "changed": 1})
    status, _, err = cli("collections", "add", "Coast", "--query", "tag:sea")
    assert status == 0 and "3 image(s) added to 'Coast'" in err
    status, out, _ = cli("ls", "--json", "collection:Coast")
    assert {item["id"] for item in json.loads(out)} == set(ids.values())
    # One already in it.
    status, out, err = cli("collections", "add", "Coast", ids[1], "--json")
    assert (status, json.loads(out)) == (0, {"collection": "Coast", "changed": 0})
    status, _, err = cli("collections", "remove", "Coast", "--query", "tag:sea -name:3.jpg")
    assert status == 0 and "2 image(s) removed from 'Coast'" in err
    status, out, _ = cli("ls", "--json", 'collection:"coast"')
    assert {item["id"] for item in json.loads(out)} == {ids[0], ids[3]}
    # A query that matches nothing changes nothing and is not an error.
    status, _, err = cli("collections", "add", "Coast", "--query", "tag:desert")
    assert status == 0 and "0 image(s) added" in err
    # An unknown id fails that item only; an unknown collection fails up front.
    status, _, err = cli("collections", "add", "Coast", "f" * 24, ids[1])
    assert status == 1 and f"error: {'f' * 24}: no image with id" in err
    status, out, _ = cli("ls", "--json", "collection:Coast")
    assert {item["id"] for item in json.loads(out)} == {ids[0], ids[1], ids[3]}
    status, _, err = cli("collections", "add", "Nope", ids[1])
    assert status == 1 and "no collection named 'Nope'" in err
    status, _, err = cli("collections", "add", "Coast")
    assert status == 2 and "--query" in err
    status, _, err = cli("collections", "add", "Coast", ids[1], "--query", "tag:sea")
    assert status == 2
    status, _, err = cli("collections", "add", "Coast", "--query", "bad:field")
    assert status == 2 and "invalid query" in err and "^" in err


def test_cli_upload_into_a_collection(cli: Cli, tmp_path: Path) -> None:
    first = write(tmp_path / "one.jpg", exif_jpeg(seed=1))
    second = write(tmp_path / "two.jpg", exif_jpeg(seed=2))
    status, out, err = cli("upload", str(first), str(second), "--collection", "New Album")
    assert status == 0, err
    ids = upload_lines(out)
    status, out, _ = cli("collections", "--json")
    assert [(c["name"], c["count"]) for c in json.loads(out)] == [("New Album", 2)]
    # A duplicate upload into another collection joins it too; it stays in the first.
    copy = write(tmp_path / "copy.jpg", first.read_bytes())
    status, out, err = cli("upload", str(copy), "--collection", "Favourites")
    assert status == 0 and "(duplicate)" in out
    status, out, _ = cli("ls", "--json", "collection:Favourites")
    assert [item["id"] for item in json.loads(out)] == [ids[str(first)]]
    status, out, _ = cli("info", ids[str(first)])
    assert "collections" in out and "Favourites, New Album" in out
    status, out, _ = cli("collections", "--json")
    assert [(c["name"], c["count"]) for c in json.loads(out)] == [
        ("Favourites", 1),
        ("New Album", 2),
    ]
    status, out, _ = cli("ls", 'collection:"new   ALBUM"', "--json")
    assert {item["id"] for item in json.loads(out)} == set(ids.values())
