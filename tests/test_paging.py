"""Paging: small pages walk every match exactly once, in order, for every sort and
both directions, across gaps in the upload sequence; iter_ids streams every match.

Each walk runs twice: with the paging strategies shaped for the embedded server's
simple planner, and with those a real MongoDB gets (keyset paging with ``$or``
bounds), so the real-MongoDB path is proven here too, where no mongod runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from imagerepo_tui.repository import ImageInfo, ImageRepository, NewMetadata
from tests.library_support import Shared, exif_jpeg, shared_library
from tests.sample_images import write

# (filename, width, height, date taken or None). Three share a name and three a date,
# so ties are broken by id; several have no date taken.
FILES = [
    ("same.jpg", 40, 30, datetime(2021, 5, 1, 9)),
    ("b.jpg", 30, 30, None),
    ("same.jpg", 50, 31, datetime(2021, 5, 1, 9)),
    ("c.jpg", 20, 44, datetime(2019, 1, 1)),
    ("A.jpg", 64, 48, None),
    ("same.jpg", 33, 33, datetime(2021, 5, 1, 9)),
    ("d.jpg", 36, 20, datetime(2022, 8, 8)),
    # The upload sequence jumps by 1000 here: wider than the first seq window.
    ("e.jpg", 25, 25, None),
    ("f.jpg", 70, 30, datetime(2020, 2, 2)),
    ("g.jpg", 28, 28, None),
    ("h.jpg", 45, 45, datetime(2018, 3, 3)),
    ("i.jpg", 22, 22, None),
    ("j.jpg", 60, 40, datetime(2023, 1, 1)),
    ("k.jpg", 38, 26, None),
]
SEQ_JUMP_BEFORE = 7
TRASHED = (2, 9)  # indexes into FILES: moved to the trash
PURGED = (4, 12)  # deleted for good: real gaps in seq


class Paged:
    def __init__(self, shared: Shared, ids: list[str]) -> None:
        self.shared = shared
        self.ids = ids  # in upload order, FILES[i] -> ids[i]
        self.simple_planner = True

    @property
    def repo(self) -> ImageRepository:
        repo = self.shared.connected()
        # The strategy is chosen per server at connect; override it to walk the
        # strategy a real MongoDB gets on this server (slower here, equally correct).
        repo._store.simple_planner = self.simple_planner
        return repo

    def live(self) -> list[dict[str, Any]]:
        return list(self.shared.raw["images"].find({"deleted_at": None}, {"thumbnail": 0}))


@pytest.fixture(scope="module")
def paged(server_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paged]:
    for shared in shared_library(server_uri, tmp_path_factory):
        repo, ids = shared.repo, []
        for index, (name, width, height, taken) in enumerate(FILES):
            if index == SEQ_JUMP_BEFORE:
                shared.raw["counters"].update_one({"_id": "image_seq"}, {"$inc": {"value": 1000}})
            data = exif_jpeg(width, height, index, taken=taken)
            path = write(shared.folder / str(index) / name, data)
            tags = ("even",) if index % 2 == 0 else ()
            result = repo.upload(path, NewMetadata(tags=tags))
            assert result.image is not None, result.error
            ids.append(result.image.id)
        for index in TRASHED:
            repo.delete(ids[index])
        for index in PURGED:
            repo.delete(ids[index])
            repo.purge(ids[index])
        yield Paged(shared, ids)


@pytest.fixture(params=[True, False], ids=["embedded-planner", "mongod-planner"])
def paging(paged: Paged, request: pytest.FixtureRequest) -> Iterator[Paged]:
    """The shared library, paged with either server's strategies."""
    paged.simple_planner = request.param
    yield paged
    paged.simple_planner = True


def test_the_fixture_has_gaps_and_ties(paged: Paged) -> None:
    seqs = sorted(doc["seq"] for doc in paged.live())
    assert seqs[-1] - seqs[0] > 1000 and len(seqs) == len(FILES) - len(PURGED) - len(TRASHED)
    assert paged.repo.count() == len(seqs)


SORT_KEYS = {
    "": ("seq", True),
    "sort:added": ("seq", False),
    "sort:-added": ("seq", True),
    "sort:size": ("size", False),
    "sort:-size": ("size", True),
    "sort:name": ("filename_key", False),
    "sort:-name": ("filename_key", True),
    "sort:taken": ("taken", False),
    "sort:-taken": ("taken", True),
}


def expected_order(docs: list[dict[str, Any]], text: str, oldest_first: bool) -> list[str]:
    field_name, descending = SORT_KEYS[text.replace("tag:even", "").strip()]

    def key(doc: dict[str, Any]) -> tuple[Any, ObjectId]:
        if field_name == "seq":
            return doc["seq"], doc["_id"]
        if field_name == "taken":
            return doc.get("taken_at") or doc["created_at"], doc["_id"]
        return doc[field_name], doc["_id"]

    ordered = sorted(docs, key=key, reverse=descending != oldest_first)
    return [str(doc["_id"]) for doc in ordered]


def walk(repo: ImageRepository, text: str, limit: int, oldest_first: bool) -> tuple[list[str], int]:
    query = repo.parse_query(text)
    found: list[str] = []
    pages, before = 0, None
    while True:
        page = repo.list_page(query, before, limit, oldest_first=oldest_first)
        pages += 1
        assert len(page.items) <= limit
        found.extend(image.id for image in page.items)
        if page.next_before is None:
            return found, pages
        before = page.next_before
        assert pages < 100, "paging does not end"


@pytest.mark.parametrize("text", list(SORT_KEYS))
@pytest.mark.parametrize("oldest_first", [False, True])
@pytest.mark.parametrize("limit", [1, 3])
def test_pages_walk_every_match_once_in_order(
    paging: Paged, text: str, oldest_first: bool, limit: int
) -> None:
    expected = expected_order(paging.live(), text, oldest_first)
    found, pages = walk(paging.repo, text, limit, oldest_first)
    assert found == expected
    assert pages in (len(expected) // limit + 1, -(-len(expected) // limit))


@pytest.mark.parametrize("text", ["tag:even", "tag:even sort:-size", "tag:even sort:taken"])
@pytest.mark.parametrize("oldest_first", [False, True])
def test_pages_of_a_filtered_search(paging: Paged, text: str, oldest_first: bool) -> None:
    docs = [doc for doc in paging.live() if "even" in doc["tag_keys"]]
    found, _ = walk(paging.repo, text, 2, oldest_first)
    assert found == expected_order(docs, text, oldest_first)
    assert len(found) == paging.repo.count(text) == 4


def test_trash_pages_most_recently_deleted_first(paging: Paged) -> None:
    repo = paging.repo
    first = repo.list_page(trash=True, limit=1)
    second = repo.list_page(before=first.next_before, trash=True, limit=1)
    assert [i.id for i in first.items + second.items] == [paging.ids[9], paging.ids[2]]
    assert repo.list_page(before=second.next_before, trash=True, limit=1).items == []


def test_iter_ids_streams_every_match(paging: Paged) -> None:
    repo = paging.repo
    live = {str(doc["_id"]) for doc in paging.live()}
    ids = list(repo.iter_ids())
    assert len(ids) == len(live) and set(ids) == live
    assert set(repo.iter_ids("tag:even")) == {
        str(doc["_id"]) for doc in paging.live() if "even" in doc["tag_keys"]
    }
    assert set(repo.iter_ids(trash=True)) == {paging.ids[i] for i in TRASHED}
    assert list(repo.iter_ids("tag:nothing")) == []
    assert [i.id for i in repo.iter_images(limit=4)] == expected_order(paging.live(), "", False)[:4]


def test_replaced_content_moves_in_the_taken_order(repo: ImageRepository, tmp_path: Path) -> None:
    old = repo.upload(write(tmp_path / "old.jpg", exif_jpeg(seed=1, taken=datetime(2010, 1, 1))))
    undated = repo.upload(write(tmp_path / "undated.jpg", exif_jpeg(seed=2)))
    assert old.image is not None and undated.image is not None
    assert [i.id for i in repo.iter_images("sort:taken")] == [old.image.id, undated.image.id]
    # New bytes taken in 2000: the image now sorts (and pages) by that date.
    dated = write(tmp_path / "dated.jpg", exif_jpeg(seed=3, taken=datetime(2000, 6, 1)))
    updated: ImageInfo = repo.replace_content(undated.image.id, dated)
    assert updated.taken_at is not None and updated.taken_at.year == 2000
    assert [i.id for i in repo.iter_images("sort:taken")] == [undated.image.id, old.image.id]
    page = repo.list_page("sort:taken", limit=1)
    assert [i.id for i in page.items] == [undated.image.id]
    after = repo.list_page("sort:taken", page.next_before, limit=1)
    assert [i.id for i in after.items] == [old.image.id]
