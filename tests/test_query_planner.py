"""Query planning (``store.planner``) answers exactly what the server answers for the
whole filter: every query form of ``test_search``, alone and combined with an indexed
term, on its library plus documents other clients wrote (wrong types, missing fields,
arrays where values belong, boundary values), with the same ids in the same order
through cursor paging, the same counts and the same id streams. ``store.matching``
is also checked row by row against the server's own matching."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId

from imagerepo_tui.query import QueryError
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.store.filters import audience_filters
from imagerepo_tui.store.matching import matchable, matches
from imagerepo_tui.store.paging import Pager
from imagerepo_tui.store.planner import candidate_plans
from imagerepo_tui.store.schema import SEQ_COUNTER
from tests.test_search import (
    COMBINED,
    DATES,
    FIELDS,
    FREE_WORDS,
    HOSTILE,
    META,
    NUMBERS,
    Library,
    lib,  # noqa: F401 - the module's library fixture, shared with test_search's forms
)

MISSING: Any = object()
# Small pages, so that paging crosses many page boundaries.
PAGE = 4


def _at(year: int, month: int = 1, day: int = 1, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


# Changes to a copy of the image "IMG_0001.jpg" (tagged beach, words sunset and lake,
# taken 2021-05-17, 64x48, meta rating 5): what another client may have written.
PLANTED: list[dict[str, Any]] = [
    {"width": "1200", "height": 1200.0, "taken_at": "2021-05-17"},
    # Each bound of a range may be met by another element of an array.
    {"width": [500, 2000], "height": [30, 50], "taken_at": 1621245600000, "rating": "5"},
    {"meta": [{"rating": 5}, {"rating": "4"}], "rating": 4.0, "favorite": "yes"},
    {"meta": {"rating": True, "built": "1950", "visited": _at(2021, 5, 17)}},
    {"meta": {"rating": 4.5, "built": 1950.0}, "camera": ["canon eos"], "filename": 42},
    {"tag_keys": "beach", "keywords": ["sunset", 5, None, "lake"], "rating": MISSING},
    {"collections": "abc", "format": ["JPEG"], "shape": None, "favorite": MISSING},
    {"width": math.nan, "size": "123", "frames": True, "height": None},
    # Boundaries: the first instant of a span, the last one before the next, whole
    # numbers at inclusive bounds.
    {"taken_at": _at(2019), "width": 1000, "height": 40, "size": 2_000_000, "rating": 4},
    {"taken_at": _at(2022), "width": 1001, "height": 48, "size": 1_999_999, "rating": 3},
    {"taken_at": datetime(2020, 12, 31, 23, 59, 59, 999000, tzinfo=UTC), "rating": 0},
    {"keywords": MISSING, "tag_keys": MISSING, "camera": MISSING, "width": MISSING},
    {"keywords": "sunset", "tags": "beach", "tag_keys": ["beach", 7], "format": 5},
    {"created_at": "2021-05-01T10:00:00", "updated_at": None, "taken_at": [_at(2020, 6), 2021]},
    {"taken_at": [_at(2020, 6), _at(2023, 6)], "favorite": 1, "meta": {"rating": [3, 5]}},
    {"meta": "text", "camera": 5, "filename": None, "frames": [1, 3], "favorite": True},
    {"meta": {"visited": "2021-05-17", "rating": [3, 5]}, "rating": 5, "favorite": True},
    {"public": True, "audience": "*", "favorite": True, "rating": 2},
    {"public": True, "audience": "*", "tag_keys": ["dog"], "keywords": ["sunset"]},
    {"trashed": True, "deleted_at": _at(2026), "rating": 5},
    {"trashed": True, "deleted_at": _at(2025), "width": "2000", "keywords": ["lake"]},
]


@pytest.fixture(scope="module")
def planted(lib: Library) -> Iterator[Library]:  # noqa: F811 - the fixture imported above
    raw = lib.shared.raw
    images = raw["images"]
    template = images.find_one({"_id": ObjectId(lib.ids["IMG_0001.jpg"])})
    assert template is not None
    newest = max(doc["seq"] for doc in images.find({}, {"seq": 1}))
    for number, changes in enumerate(PLANTED, start=1):
        doc = {**template, "_id": ObjectId(), "file_id": ObjectId(), "seq": newest + number}
        doc["sha256"] = f"{number:064x}"
        for key, value in changes.items():
            if value is MISSING:
                doc.pop(key, None)
            else:
                doc[key] = value
        images.insert_one(doc)
        lib.ids[f"planted{number}"] = str(doc["_id"])
    raw["counters"].update_one({"_id": SEQ_COUNTER}, {"$set": {"value": newest + len(PLANTED)}})
    repo = lib.repo
    repo.create_collection("Smart beach", query="tag:beach width:>50")
    yield lib


def _texts(table: list[tuple[str, Any]]) -> list[str]:
    return [text for text, expected in table if expected is not None]


FORMS = sorted(
    {
        *_texts(FREE_WORDS),
        *_texts(FIELDS),
        *_texts(DATES),
        *_texts(NUMBERS),
        *_texts(META),
        *_texts(COMBINED),
        *_texts(HOSTILE),
        # Beyond test_search's tables: stars, favourites, sharing, smart collections.
        "rating:>=4",
        "rating:4",
        "rating:0",
        "rating:<2",
        "rating:<=4",
        "rating:1..3",
        "is:favorite",
        "-is:favorite",
        "is:public",
        "is:private",
        'collection:"Smart beach"',
        '-collection:"Smart beach"',
        "sort:name",
    }
)
# What each form is combined with: an indexed equality the planner reads by, or two.
DRIVERS = ["", "tag:beach", "sunset", "lake tag:beach", 'collection:"Summer 2021"', "SIMILAR"]


def _similar(library: Library, text: str) -> str:
    return text.replace("SIMILAR", f"similar:{library.ids['IMG_0001.jpg']}")


def _pager(repo: ImageRepository) -> Pager:
    return repo._images.pager


def _answer(
    repo: ImageRepository, text: str, *, planning: bool, trash: bool = False, oldest: bool = False
) -> tuple[list[list[str]], int, list[str]]:
    """Pages of ids (``PAGE`` to a page, by cursor), the count and the sorted id stream."""
    _pager(repo).planning = planning
    try:
        pages: list[list[str]] = []
        cursor = None
        while True:
            page = repo.list_page(text, cursor, PAGE, oldest_first=oldest, trash=trash)
            pages.append([image.id for image in page.items])
            cursor = page.next_before
            if cursor is None:
                break
            assert len(pages) < 100, f"{text!r}: paging does not end"
        count = repo.count(text, trash=trash)
        ids = sorted(repo.iter_ids(text, trash=trash))
    finally:
        _pager(repo).planning = True
    return pages, count, ids


def _planned(repo: ImageRepository, text: str, trash: bool = False) -> bool:
    query = repo.parse_query(text)
    parts = audience_filters(query, repo._audiences(trash), trash=trash)
    return repo._images.store.simple_planner and all(candidate_plans(part) for part in parts)


def _flat(pages: list[list[str]]) -> list[str]:
    return [image_id for page in pages for image_id in page]


def _check_same(library: Library, text: str, *, trash: bool = False, oldest: bool = False) -> bool:
    repo = library.repo
    try:
        repo.parse_query(text)
    except QueryError:
        return False  # e.g. a form that names a collection the combination does not
    planned = _answer(repo, text, planning=True, trash=trash, oldest=oldest)
    server = _answer(repo, text, planning=False, trash=trash, oldest=oldest)
    pages, count, ids = planned
    assert _flat(pages) == _flat(server[0]), f"{text!r}: listed differently"
    assert count == server[1], f"{text!r}: counted differently"
    assert ids == server[2], f"{text!r}: id streams differ"
    if not _planned(repo, text, trash):
        return False
    # Planned pages are full up to the last; the count is what is listed.
    assert all(len(page) == PAGE for page in pages[:-1]), pages
    assert count == len(_flat(pages)) == len(ids), f"{text!r}"
    return True


@pytest.mark.parametrize("driver", DRIVERS)
def test_planned_answers_equal_the_servers(planted: Library, driver: str) -> None:
    used = 0
    for form in FORMS:
        text = _similar(planted, f"{driver} {form}".strip())
        used += _check_same(planted, text)
    if driver:
        # The combinations are what the planner is for: nearly all of them planned.
        assert used > len(FORMS) // 2, used


@pytest.mark.parametrize(
    "text",
    [
        "sunset tag:beach taken:2019..2022 width:>1000",
        "tag:beach width:>50 rating:>=4",
        "tag:beach -is:favorite",
        "SIMILAR tag:beach",
        "SIMILAR -rating:5 sort:added",
        'collection:"Smart beach" sunset',
    ],
)
def test_planned_in_both_directions(planted: Library, text: str) -> None:
    text = _similar(planted, text)
    assert _check_same(planted, text, oldest=True)
    assert _check_same(planted, text)


@pytest.mark.parametrize(
    "text",
    ["sort:added tag:beach rating:5", "sort:-added lake width:>10", "sort:added SIMILAR -lake"],
)
def test_planned_in_the_trash(planted: Library, text: str) -> None:
    text = _similar(planted, text)
    assert _check_same(planted, text, trash=True)
    assert _check_same(planted, text, trash=True, oldest=True)


def test_not_planned_without_a_selective_term(planted: Library) -> None:
    """What no indexed equality narrows goes to the server as today."""
    repo = planted.repo
    for text in ("width:>1000 taken:2019..2022", "tag:beach", "sunset", "-tag:beach width:>1"):
        assert not _planned(repo, text), text
    assert _planned(repo, "sunset tag:beach")


@pytest.mark.parametrize("driver", ["", "tag:beach", "SIMILAR"])
def test_matching_agrees_with_the_server_row_by_row(planted: Library, driver: str) -> None:
    """Each filter the forms make, checked here on every document (planted ones too),
    picks the documents the server picks for it."""
    repo = planted.repo
    images = planted.shared.raw["images"]
    docs = list(images.find({}))
    checked = 0
    for form in FORMS:
        text = _similar(planted, f"{driver} {form}".strip())
        for trash in (False, True):
            for part in audience_filters(repo.parse_query(text), ["", "*"], trash=trash):
                if not matchable(part):
                    continue
                # Inside "$and", so the server checks every document rather than
                # take candidates from an index: it leaves out an array whose
                # elements meet a range's bounds one each (height: [30, 50] for
                # 40..48) when an index serves the range, but not when it checks.
                scanned = images.find({"$and": [part]}, {"_id": 1})
                by_server = {doc["_id"] for doc in scanned}
                here = {doc["_id"] for doc in docs if matches(doc, part)}
                assert here == by_server, f"{text!r} {part!r}"
                checked += 1
    assert checked > len(FORMS)


@pytest.mark.parametrize("text", ["tag:beach width:>50", "sunset -rating:5", "SIMILAR tag:beach"])
def test_near_duplicate_groups_follow_the_plan(planted: Library, text: str) -> None:
    """``dupes QUERY`` reads the hashes of a search's matches by the same plan."""
    repo = planted.repo
    text = _similar(planted, text)

    def groups() -> tuple[list[list[str]], int, list[tuple[str, str]]]:
        found = repo.duplicates.groups(text)
        ids = sorted(sorted(image.id for image in group) for group in found.groups)
        return ids, found.unhashed, sorted(found.damaged)

    assert _planned(repo, text)
    planned = groups()
    _pager(repo).planning = False
    try:
        assert planned == groups()
    finally:
        _pager(repo).planning = True
    assert planned[0], "the planted copies of IMG_0001.jpg are near it"
