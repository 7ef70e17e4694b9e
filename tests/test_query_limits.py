"""Odd queries: dates at the ends of the calendar, numbers past 64 bits, over-long
terms, control characters, lone operators. Each is a valid query or a usage error that
names its column (exit status 2): never a traceback, never the server's raw error."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from imagerepo_tui.config import Settings
from imagerepo_tui.errors import ImageRepoError
from imagerepo_tui.query import MAX_QUERY_CHARS, QueryError
from imagerepo_tui.repository import ImageRepository, NewMetadata, parse_meta
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.widgets.search import SearchInput
from tests.library_support import Shared, exif_jpeg, shared_library
from tests.sample_images import write
from tests.support import Cli, make_cli
from tests.tui_support import ready, run_app_test, settle, shown_text, upload_samples, wait_for

# name -> (EXIF date taken, --meta values)
IMAGES = {
    "dated.jpg": (datetime(2021, 5, 17, 10), ("n=9999", "Trip=Lisbon", "huge=1e300")),
    "plain.jpg": (None, ("n=5",)),
    "other.jpg": (None, ()),
}
ALL = set(IMAGES)


@pytest.fixture(scope="module")
def library(server_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    for shared in shared_library(server_uri, tmp_path_factory):
        for seed, (name, (taken, meta)) in enumerate(IMAGES.items()):
            path = write(shared.folder / "in" / name, exif_jpeg(64, 48, seed, taken=taken))
            metadata = NewMetadata(meta=dict(parse_meta(item) for item in meta))
            result = shared.repo.upload(path, metadata)
            assert result.status == "created", result.error
        yield shared


@pytest.fixture
def cli(library: Shared, capsys: pytest.CaptureFixture[str]) -> Cli:
    library.connected()
    return make_cli(library.settings.db_uri or "", capsys)


def listed(cli: Cli, query: str) -> set[str]:
    status, out, err = cli("ls", "--json", query)
    assert (status, err) == (0, ""), query
    return {item["filename"] for item in json.loads(out)}


# -- valid, however odd ------------------------------------------------------------------------

VALID = [
    ("taken:9999", set()),  # the last year there is: its end is no datetime
    ("taken:9999-12", set()),
    ("taken:9999-12-31", set()),
    ("added:<=9999", ALL),
    ("added:>9999-12", set()),
    ("added:>=0001", ALL),
    ("taken:<0001", set()),
    ("taken:0001..9999", {"dated.jpg"}),
    ("meta.n:9999..9999", {"dated.jpg"}),  # a number and a year: both ways
    ("meta.n:9999", {"dated.jpg"}),
    ("meta.n:99999999999999999999", set()),  # past 64 bits: compared as a float
    ("meta.n:>99999999999999999999", set()),
    ("meta.n:<99999999999999999999", {"dated.jpg", "plain.jpg"}),
    ("meta.huge:>1e299", {"dated.jpg"}),
    ("meta.n:1e400", set()),  # infinite: text, as it is when stored
    ("meta.n:1_000", set()),
    ("meta.Trip:Lisbon", {"dated.jpg"}),  # a custom field's key keeps its case
    ("META.Trip:Lisbon", {"dated.jpg"}),
    ("meta.trip:Lisbon", set()),
    ("size:<8000000000gb", ALL),  # 8e18 bytes: still a 64-bit integer
    ("width:６４", ALL),  # full-width digits are digits
    ("taken:２０２１", {"dated.jpg"}),
    ('"-"', set()),  # a quoted "-" is a word to find, not a negation
    ("name:" + "é" * 1000, set()),  # 1,000 characters: the longest a term may be
    ("name:" + "." * 500, set()),  # escaped: 1,000 characters of pattern
    ("a\tb", set()),  # a tab separates terms like a space
]


@pytest.mark.parametrize(("query", "expected"), VALID)
def test_odd_but_valid_queries_answer(cli: Cli, query: str, expected: set[str]) -> None:
    assert listed(cli, query) == expected


# -- usage errors with a column ----------------------------------------------------------------

BAD = [
    ("taken:10000", 1, "taken: expects a date"),
    ("taken:0000", 1, "taken: expects a date"),
    ("added:2021-13", 1, "added: expects a date"),
    ("added:2021-00", 1, "added: expects a date"),
    ("beach updated:2021-12-32", 7, "updated: expects a date"),
    ("taken:2021-02-30", 1, "taken: expects a date"),
    ("taken:..", 1, "taken: expects a date"),
    ("taken:>=2021..2022", 1, "taken: a range takes no >="),
    ("width:>5..10", 1, "width: a range takes no >"),
    ("meta.n:<1..2", 1, "meta.n: a range takes no <"),
    ("width:..", 1, "width: expects a number"),
    ("beach size:>99999999999999999999999", 7, "is too large"),
    ("frames:9223372036854775808", 1, "is too large"),
    ("size:<10000000000gb", 1, "is too large"),
    ("width:>1e400", 1, "width: expects a number"),
    ("height:-1", 1, "height: expects a number"),
    ("meta.n:>1e400", 1, "comparing needs a number or a date"),
    ("meta.n:..", 1, "comparing needs a number or a date"),
    ("sort:--size", 1, "sort: is one of"),
    ("sort:$natural", 1, "sort: is one of"),
    ("sort:size,name", 1, "sort: is one of"),
    ("sort:-", 1, "sort: is one of"),
    ("-", 1, 'a lone "-"'),
    ("beach - sunset", 7, 'a lone "-"'),
    ("beach -", 7, 'a lone "-"'),
    ('name:"a"b"', 10, "unclosed quote"),
    ('name:"a\\"', 6, "unclosed quote"),
    ("x name:" + "a" * 1001, 3, "a term is too long"),
    ('x tag:"' + "a " * 501 + '"', 3, "a term is too long"),
    ("name:" + "." * 501, 1, "name: too long"),
    ('camera:"' + "a " * 400 + '"', 1, "camera: too long"),  # 800, escaped 1,200
    ("a " * (MAX_QUERY_CHARS // 2) + "b", MAX_QUERY_CHARS + 1, "the query is too long"),
    ("a\x01b", 2, "control character U+0001"),
    ("tag:x\x1b[31m", 6, "control character U+001B"),
    ("name:x\x7f", 7, "control character U+007F"),
    ("name:\udcff", 6, "undecodable bytes"),  # what a non-UTF-8 argv byte becomes
]


@pytest.mark.parametrize(("query", "column", "message"), BAD)
def test_odd_queries_are_usage_errors_with_a_column(
    cli: Cli, query: str, column: int, message: str
) -> None:
    status, out, err = cli("ls", query)
    assert status == 2 and out == ""
    assert message in err and f"(at column {column})" in err
    assert "Traceback" not in err and "refused" not in err and "errmsg" not in err
    # The caret points at the column under the query as shown.
    assert "\n  " + " " * (column - 1) + "^" in err


def test_a_nul_is_refused_with_its_column(library: Shared) -> None:
    # No argv holds a NUL; the TUI's search box (and the core) may.
    repo = library.connected()
    for text, column in (("a\x00b", 2), ("name:x\x00", 7)):
        with pytest.raises(QueryError) as raised:
            repo.count(text)
        assert raised.value.column == column and "U+0000" in str(raised.value)


# -- everything else: generated ---------------------------------------------------------------

FIELDS = [
    "",
    "tag:",
    "format:",
    "camera:",
    "name:",
    "collection:",
    "orientation:",
    "owner:",
    "is:",
    "sort:",
    "taken:",
    "added:",
    "width:",
    "size:",
    "meta.n:",
    "META.N:",
    "meta.$x:",
]
VALUES = [
    "",
    "..",
    "9999",
    "10000",
    "0000",
    "9999-12-31",
    "2021-13",
    "1..",
    "..1",
    "99999999999999999999",
    "9" * 400,
    "1e400",
    "-1",
    "nan",
    "inf",
    "１２",
    "٣",
    "\x00",
    "\udcff",
    '"',
    '""',
    '"a"b"',
    "\\",
    '"\\',
    "$ne",
    '{"$gt":""}',
    ".*",
    "a" * 1001,
    "." * 501,
    "1_000",
    "+5",
    "0x10",
    "🙂",
    "\u202e",
    "-",
    "5gb",
    "1.5.5",
]
# (A leading "-" only wraps the same values in $nor: it is tried in BAD and VALID.)
SHAPES = ["{f}{v}", "{f}>{v}", "{f}{v}..{v}"]


def nasty_queries() -> Iterator[str]:
    for field, value, shape in itertools.product(FIELDS, VALUES, SHAPES):
        yield shape.format(f=field, v=value)


def test_no_query_gets_past_the_parser_to_a_raw_error(library: Shared) -> None:
    """Every query parses and runs (a first page, sorted: the filter a count sends too),
    or is a QueryError with a column inside the text: never another exception, never a
    server error."""
    repo = library.connected()
    ran = refused = 0
    for text in nasty_queries():
        try:
            list(repo.iter_images(text, limit=2))
            ran += 1
        except QueryError as error:
            assert 1 <= error.column <= len(text) + 1, (text, error)
            refused += 1
        except ImageRepoError as error:  # the server's own refusal: what must not happen
            pytest.fail(f"{text!r}: {error}")
    assert ran > 200 and refused > 200, (ran, refused)  # both kinds were really tried


# -- in the TUI --------------------------------------------------------------------------------


def test_tui_search_box_shows_the_column_and_keeps_the_list(
    settings: Settings, repo: ImageRepository, tmp_path: Path
) -> None:
    upload_samples(repo, tmp_path / "in", 3)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 3)
        error = app.screen.query_one("#search-error")
        await pilot.press("slash")
        search = app.screen.query_one(SearchInput)
        for text, column, message in (
            ("photo taken:10000", 7, "taken: expects a date"),
            ("photo size:>99999999999999999999999", 7, "is too large"),
            ("name:" + "x" * 1001, 1, "a term is too long"),
            ("photo\x00", 6, "U+0000"),
        ):
            search.value = text
            await pilot.press("enter")
            pointed = f"(at column {column})"
            await wait_for(pilot, lambda: pointed in shown_text(error))  # noqa: B023
            assert message in shown_text(error), text
            assert search.cursor_position == column - 1
            assert gallery.query is None and gallery.rows.total == 3
        # The last year there is: a valid search, answered with no images.
        search.value = "taken:9999"
        await pilot.press("enter")
        await wait_for(pilot, lambda: gallery.query_text == "taken:9999" and gallery.loaded_once)
        await wait_for(pilot, lambda: gallery.rows.total == 0)
        await settle(pilot)
        assert app.is_running

    run_app_test(settings, body, repo)
