"""The search language on a small crafted library: every query form finds exactly the
right images, hostile text stays literal, and bad text is a QueryError with a column."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from imagerepo_tui.query import QueryError, parse_query
from imagerepo_tui.repository import ImageInfo, ImageRepository, NewMetadata, parse_meta
from imagerepo_tui.store.filters import query_filter
from tests.library_support import Shared, exif_jpeg, flat_image, shared_library
from tests.sample_images import animated_gif_bytes, encode, picture, write
from tests.support import Cli, make_cli


@dataclass(frozen=True)
class Spec:
    name: str
    data: bytes
    title: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    meta: tuple[str, ...] = ()  # "key=value" as --meta takes them
    size: tuple[int, int] = (0, 0)  # width, height as stored (no EXIF rotation here)
    extra: dict[str, Any] = field(default_factory=dict)


def _taken(*parts: int) -> datetime:
    return datetime(*parts)  # naive: EXIF dates carry no zone


SPECS = [
    Spec(
        "IMG_0001.jpg",
        exif_jpeg(64, 48, 1, camera=("Canon", "EOS 5D"), taken=_taken(2021, 5, 17, 10)),
        title="Sunset at the Lake",
        description="golden light",
        tags=("beach", "Summer Fun"),
        meta=("rating=5", "camera_body=x", "visited=2021-05-17"),
        size=(64, 48),
    ),
    Spec(
        "IMG_0002.jpg",
        exif_jpeg(36, 60, 2, camera=("NIKON CORPORATION", "D750"), taken=_taken(2021, 5, 1, 12)),
        title="Morning",
        tags=("beach",),
        meta=("rating=3", "camera_body=xt2", "visited=2021-06-01"),
        size=(36, 60),
    ),
    Spec(
        "holiday.png",
        flat_image(1200, 40, "PNG", 3),
        description="a lake house",
        tags=("dog",),
        meta=("rating=4.5", "built=1950"),
        size=(1200, 40),
    ),
    Spec(
        "square.webp",
        encode(picture(50, 50, 4), "WEBP", quality=80),
        title="sunset",
        tags=("Dog",),
        meta=("built=1850",),
        size=(50, 50),
    ),
    Spec("anim.gif", animated_gif_bytes(3, 5), size=(32, 32)),
    Spec("big.bmp", flat_image(1000, 700, "BMP", 6), size=(1000, 700)),
    Spec("(a+)+$.jpg", exif_jpeg(40, 30, 7), size=(40, 30)),
    Spec(
        "x.*y.jpg",
        exif_jpeg(30, 40, 8, camera=("FUJIFILM", "X-T2"), taken=_taken(2020, 12, 31, 23, 59, 59)),
        size=(30, 40),
    ),
    Spec(
        "canon_note.jpg",
        exif_jpeg(44, 33, 9, camera=("Canon", "PowerShot G7"), taken=_taken(2021, 6, 30, 23)),
        tags=("summer",),
        size=(44, 33),
    ),
    Spec(
        "late.jpg",
        exif_jpeg(45, 45, 10, camera=("Apple", "iPhone 12"), taken=_taken(2021, 7, 1)),
        tags=('say "cheese"',),
        size=(45, 45),
    ),
]
NAMES = [spec.name for spec in SPECS]
# Upload times set afterwards (name -> created_at), so added: has fixed answers.
ADDED = {
    "IMG_0001.jpg": datetime(2020, 1, 15, 12, tzinfo=UTC),
    "IMG_0002.jpg": datetime(2023, 3, 1, 8, tzinfo=UTC),
}
SUMMER = ("IMG_0001.jpg", "holiday.png", "canon_note.jpg")


@dataclass
class Library:
    shared: Shared
    ids: dict[str, str]  # name -> id
    info: dict[str, ImageInfo]  # name -> info after set-up

    @property
    def repo(self) -> ImageRepository:
        return self.shared.connected()


@pytest.fixture(scope="module")
def lib(server_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    for shared in shared_library(server_uri, tmp_path_factory):
        repo, ids = shared.repo, {}
        for spec in SPECS:
            path = write(shared.folder / "in" / spec.name, spec.data)
            metadata = NewMetadata(
                title=spec.title,
                description=spec.description,
                tags=spec.tags,
                meta=dict(parse_meta(item) for item in spec.meta),
                collection="Summer 2021" if spec.name in SUMMER else None,
            )
            result = repo.upload(path, metadata)
            assert result.status == "created" and result.image is not None, result.error
            ids[spec.name] = result.image.id
        repo.create_collection("Empty one")
        for name, moment in ADDED.items():
            shared.raw["images"].update_one(
                {"_id": repo.resolve_id(ids[name])}, {"$set": {"created_at": moment}}
            )
        info = {name: repo.info(image_id) for name, image_id in ids.items()}
        yield Library(shared, ids, info)


def names(lib: Library, text: str) -> set[str]:
    by_id = {image_id: name for name, image_id in lib.ids.items()}
    found = [by_id[image.id] for image in lib.repo.iter_images(text)]
    assert len(found) == len(set(found)), f"{text!r} listed an image twice"
    assert lib.repo.count(text) == len(found), f"count({text!r}) disagrees with the listing"
    return set(found)


def ordered(lib: Library, text: str) -> list[str]:
    by_id = {image_id: name for name, image_id in lib.ids.items()}
    return [by_id[image.id] for image in lib.repo.iter_images(text)]


def everything_but(*excluded: str) -> set[str]:
    return set(NAMES) - set(excluded)


def test_library_facts_are_what_the_queries_rely_on(lib: Library) -> None:
    for spec in SPECS:
        image = lib.info[spec.name]
        assert (image.width, image.height) == spec.size, spec.name
    assert lib.info["IMG_0001.jpg"].taken_at == datetime(2021, 5, 17, 10, tzinfo=UTC)
    assert lib.info["anim.gif"].frames == 3
    assert lib.info["big.bmp"].size > 2_000_000 > lib.info["holiday.png"].size


FREE_WORDS = [
    ("sunset", {"IMG_0001.jpg", "square.webp"}),
    ("SUNSET", {"IMG_0001.jpg", "square.webp"}),
    ("lake", {"IMG_0001.jpg", "holiday.png"}),  # a title and a description
    ("sunset lake", {"IMG_0001.jpg"}),  # several words: all of them
    ("Sunset  golden", {"IMG_0001.jpg"}),
    ("sun", set()),  # whole words only
    ("fun", {"IMG_0001.jpg"}),  # a word of the tag "Summer Fun"
    ("summer", {"IMG_0001.jpg", "canon_note.jpg"}),
    ("beach", {"IMG_0001.jpg", "IMG_0002.jpg"}),
    ("img_0001", {"IMG_0001.jpg"}),  # a word of the filename
    ("IMG_0001.jpg", {"IMG_0001.jpg"}),
    ("holiday", {"holiday.png"}),  # the filename's stem
    ("png", {"holiday.png"}),
    ("house", {"holiday.png"}),
    ("img", set()),
    ("-beach", everything_but("IMG_0001.jpg", "IMG_0002.jpg")),
    ("", set(NAMES)),
]


@pytest.mark.parametrize(("text", "expected"), FREE_WORDS)
def test_free_words(lib: Library, text: str, expected: set[str]) -> None:
    assert names(lib, text) == expected


FIELDS = [
    ("tag:beach", {"IMG_0001.jpg", "IMG_0002.jpg"}),
    ("tag:BEACH", {"IMG_0001.jpg", "IMG_0002.jpg"}),
    ("-tag:beach", everything_but("IMG_0001.jpg", "IMG_0002.jpg")),
    ('tag:"summer fun"', {"IMG_0001.jpg"}),
    ("tag:summer", {"canon_note.jpg"}),  # a whole tag, not a word of one
    ("tag:dog", {"holiday.png", "square.webp"}),
    ("tag:fun", set()),
    ("format:png", {"holiday.png"}),
    ("format:PNG", {"holiday.png"}),
    ("format:gif", {"anim.gif"}),
    ("format:bmp", {"big.bmp"}),
    ("format:webp", {"square.webp"}),
    ("format:jpg", {n for n in NAMES if n.endswith(".jpg")}),
    ("format:jpeg", {n for n in NAMES if n.endswith(".jpg")}),
    ("-format:jpg", {"holiday.png", "square.webp", "anim.gif", "big.bmp"}),
    ("camera:canon", {"IMG_0001.jpg", "canon_note.jpg"}),
    ("camera:CANON", {"IMG_0001.jpg", "canon_note.jpg"}),
    ("camera:eos", {"IMG_0001.jpg"}),
    ('camera:"eos 5d"', {"IMG_0001.jpg"}),
    ("camera:x-t2", {"x.*y.jpg"}),
    ("camera:nikon", {"IMG_0002.jpg"}),
    ("camera:sony", set()),
    ("name:IMG_", {"IMG_0001.jpg", "IMG_0002.jpg"}),
    ("name:img_0", {"IMG_0001.jpg", "IMG_0002.jpg"}),
    ("name:_note", {"canon_note.jpg"}),
    ("-name:IMG_", everything_but("IMG_0001.jpg", "IMG_0002.jpg")),
    ('collection:"Summer 2021"', set(SUMMER)),
    ('collection:"summer   2021"', set(SUMMER)),  # names compare ignoring case and spacing
    ('-collection:"Summer 2021"', everything_but(*SUMMER)),
    ('collection:"Empty one"', set()),
    ("orientation:portrait", {"IMG_0002.jpg", "x.*y.jpg"}),
    ("orientation:square", {"square.webp", "anim.gif", "late.jpg"}),
    (
        "orientation:landscape",
        {"IMG_0001.jpg", "holiday.png", "big.bmp", "(a+)+$.jpg", "canon_note.jpg"},
    ),
    ("orientation:PORTRAIT", {"IMG_0002.jpg", "x.*y.jpg"}),
]


@pytest.mark.parametrize(("text", "expected"), FIELDS)
def test_text_fields(lib: Library, text: str, expected: set[str]) -> None:
    assert names(lib, text) == expected


DATES = [
    ("taken:2021-05", {"IMG_0001.jpg", "IMG_0002.jpg"}),
    ("taken:2021", {"IMG_0001.jpg", "IMG_0002.jpg", "canon_note.jpg", "late.jpg"}),
    ("taken:2021-05-17", {"IMG_0001.jpg"}),
    ("taken:2020-12-31", {"x.*y.jpg"}),  # 23:59:59 is still that day
    # After that day: 2021-05-01 12:00 is not after 2021-05-01.
    ("taken:>2021-05-01", {"IMG_0001.jpg", "canon_note.jpg", "late.jpg"}),
    ("taken:>=2021-05-01", {"IMG_0001.jpg", "IMG_0002.jpg", "canon_note.jpg", "late.jpg"}),
    ("taken:<2021", {"x.*y.jpg"}),
    ("taken:<=2021-05", {"x.*y.jpg", "IMG_0001.jpg", "IMG_0002.jpg"}),
    ("taken:>2021-06", {"late.jpg"}),
    # A range takes both ends whole: all of January to all of June.
    ("taken:2021-01..2021-06", {"IMG_0001.jpg", "IMG_0002.jpg", "canon_note.jpg"}),
    ("taken:2020..2021-05-01", {"x.*y.jpg", "IMG_0002.jpg"}),
    ("taken:1999", set()),
    ("added:>2022", {n for n in NAMES if n != "IMG_0001.jpg"}),
    ("added:<2021", {"IMG_0001.jpg"}),
    ("added:2023-03", {"IMG_0002.jpg"}),
    ("added:2020-01-15", {"IMG_0001.jpg"}),
    ("added:2020..2023", {"IMG_0001.jpg", "IMG_0002.jpg"}),
    ("added:>2999", set()),
    ("updated:>2000", set(NAMES)),
    ("updated:<2000", set()),
]


@pytest.mark.parametrize(("text", "expected"), DATES)
def test_dates(lib: Library, text: str, expected: set[str]) -> None:
    assert names(lib, text) == expected


def test_added_follows_the_stored_upload_time(lib: Library) -> None:
    today = max(image.created_at for image in lib.info.values()).date().isoformat()
    recent = {n for n, image in lib.info.items() if image.created_at.date().isoformat() == today}
    assert recent == everything_but(*ADDED)
    assert names(lib, f"added:{today}") == recent
    assert names(lib, f"added:>={today}") == recent
    assert names(lib, f"added:<{today}") == set(ADDED)


NUMBERS = [
    ("width:>1000", {"holiday.png"}),
    ("width:>=1000", {"holiday.png", "big.bmp"}),
    ("width:1000", {"big.bmp"}),
    ("width:=1000", {"big.bmp"}),
    ("width:<36", {"anim.gif", "x.*y.jpg"}),
    ("height:<=40", {"holiday.png", "anim.gif", "(a+)+$.jpg", "x.*y.jpg", "canon_note.jpg"}),
    ("height:>100", {"big.bmp"}),
    ("height:40..48", {"IMG_0001.jpg", "holiday.png", "x.*y.jpg", "late.jpg"}),
    ("-width:<1000", {"holiday.png", "big.bmp"}),
    ("frames:>1", {"anim.gif"}),
    ("frames:3", {"anim.gif"}),
    ("frames:1", everything_but("anim.gif")),
    ("size:>2mb", {"big.bmp"}),
    ("size:>2MB", {"big.bmp"}),
    ("size:<2mb", everything_but("big.bmp")),
    ("size:>1gb", set()),
    ("size:>2000000", {"big.bmp"}),
]


@pytest.mark.parametrize(("text", "expected"), NUMBERS)
def test_numbers(lib: Library, text: str, expected: set[str]) -> None:
    assert names(lib, text) == expected


def test_size_units_against_the_stored_sizes(lib: Library) -> None:
    sizes = {name: image.size for name, image in lib.info.items()}
    small = sorted(sizes.values())[len(sizes) // 2]
    kb = small / 1000
    assert names(lib, f"size:<{kb}kb") == {n for n, s in sizes.items() if s < small}
    assert names(lib, f"size:>={kb}kb") == {n for n, s in sizes.items() if s >= small}
    assert names(lib, f"size:{small}") == {n for n, s in sizes.items() if s == small}
    assert names(lib, f"size:>{small / 1024}kib") == {n for n, s in sizes.items() if s > small}


META = [
    ("meta.rating:>=4", {"IMG_0001.jpg", "holiday.png"}),
    ("meta.rating:>4", {"IMG_0001.jpg", "holiday.png"}),
    ("meta.rating:<4", {"IMG_0002.jpg"}),
    ("meta.rating:5", {"IMG_0001.jpg"}),
    ("meta.rating:4.5", {"holiday.png"}),
    ("meta.rating:4", set()),
    ("-meta.rating:>=4", everything_but("IMG_0001.jpg", "holiday.png")),
    ("meta.camera_body:x", {"IMG_0001.jpg"}),  # equality, not a substring
    ("meta.camera_body:xt2", {"IMG_0002.jpg"}),
    ("meta.missing:1", set()),
    # Four digits compare as a number with numbers (not only as a year).
    ("meta.built:>1900", {"holiday.png"}),
    ("meta.built:<1900", {"square.webp"}),
    ("meta.built:1950", {"holiday.png"}),
    # Dates compare by whole days, like taken:.
    ("meta.visited:>2021-05-17", {"IMG_0002.jpg"}),
    ("meta.visited:>=2021-05-17", {"IMG_0001.jpg", "IMG_0002.jpg"}),
    ("meta.visited:<2021-06-01", {"IMG_0001.jpg"}),
    ("meta.visited:<=2021-06-01", {"IMG_0001.jpg", "IMG_0002.jpg"}),
    ("meta.visited:>2021-05", {"IMG_0002.jpg"}),
    ("meta.visited:2021-05-17..2021-05-31", {"IMG_0001.jpg"}),
    ("meta.visited:2021..2021", {"IMG_0001.jpg", "IMG_0002.jpg"}),
    ("meta.rating:3..4.5", {"IMG_0002.jpg", "holiday.png"}),
    ("meta.built:1800..1900", {"square.webp"}),
]


@pytest.mark.parametrize(("text", "expected"), META)
def test_custom_metadata(lib: Library, text: str, expected: set[str]) -> None:
    assert names(lib, text) == expected


COMBINED = [
    ("beach camera:canon", {"IMG_0001.jpg"}),
    ("tag:beach -camera:canon", {"IMG_0002.jpg"}),
    ('collection:"Summer 2021" taken:2021', {"IMG_0001.jpg", "canon_note.jpg"}),
    (
        "format:jpg orientation:landscape size:<2mb",
        {"IMG_0001.jpg", "(a+)+$.jpg", "canon_note.jpg"},
    ),
    ("lake meta.rating:>=4 -format:png", {"IMG_0001.jpg"}),
    ("tag:dog width:>100", {"holiday.png"}),
    ("taken:2021 -taken:2021-05 sort:-taken", {"canon_note.jpg", "late.jpg"}),
]


@pytest.mark.parametrize(("text", "expected"), COMBINED)
def test_combined_queries(lib: Library, text: str, expected: set[str]) -> None:
    assert names(lib, text) == expected


def _sort_key(image: ImageInfo, field_name: str) -> Any:
    return {
        "name": image.filename.casefold(),
        "size": image.size,
        "taken": image.taken_at or image.created_at,
        "added": image.seq,
    }[field_name]


@pytest.mark.parametrize("field_name", ["name", "size", "taken", "added"])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_orders(lib: Library, field_name: str, descending: bool) -> None:
    infos = list(lib.info.values())
    keys = [(_sort_key(image, field_name), image.id) for image in infos]  # ties: by id
    expected = [
        name
        for name, _ in sorted(
            zip(lib.info, keys, strict=True), key=lambda pair: pair[1], reverse=descending
        )
    ]
    text = f"sort:{'-' if descending else ''}{field_name}"
    assert ordered(lib, text) == expected
    assert ordered(lib, text.upper()) == expected


def test_default_order_is_newest_upload_first(lib: Library) -> None:
    assert ordered(lib, "") == list(reversed(NAMES))
    assert ordered(lib, "sort:added") == NAMES
    assert ordered(lib, "sort:-added") == list(reversed(NAMES))


def test_sort_with_a_filter_and_a_limit(lib: Library) -> None:
    found = [i.filename for i in lib.repo.iter_images("format:jpg sort:name", limit=3)]
    assert found == ["(a+)+$.jpg", "canon_note.jpg", "IMG_0001.jpg"]
    # Images without a date taken sort by their upload date.
    taken = [i.filename for i in lib.repo.iter_images("sort:taken tag:dog")]
    assert taken == ["holiday.png", "square.webp"]


# -- hostile text is literal ---------------------------------------------------------------

HOSTILE = [
    (".*", set()),
    ("(a+)+$", {"(a+)+$.jpg", "holiday.png"}),  # the word "a": that filename, "a lake house"
    ("(b+)+$", set()),
    ("$", set()),
    ("-.*", set(NAMES)),
    ('{"$ne": null}', set()),
    ("$where", set()),
    ('{"$where": "sleep(1000)"}', set()),
    ("name:.*", {"x.*y.jpg"}),  # only the filename that holds these two characters
    ("name:(a+)+$", {"(a+)+$.jpg"}),
    ("name:$", {"(a+)+$.jpg"}),
    ("name:^IMG", set()),
    ("name:[a-z]", set()),
    ("name:\\d", set()),
    ("name:|", set()),
    ('tag:{"$gt":""}', set()),
    ("tag:.*", set()),
    ('camera:{"$ne":null}', set()),
    ("camera:.*", set()),
    ("meta.rating:.*", set()),
    ('meta.rating:{"$gt":0}', set()),
    ("meta.$where:1", set()),  # not a meta key: plain words "meta", "where", "1"
    ("format:.*", set()),
    ('collection:".*"', None),  # no such collection: an error, not every image
]


@pytest.mark.parametrize(("text", "expected"), HOSTILE)
def test_hostile_text_is_matched_literally(lib: Library, text: str, expected: set[str]) -> None:
    if expected is None:
        with pytest.raises(QueryError):
            lib.repo.parse_query(text)
        return
    assert names(lib, text) == expected


def test_nothing_a_user_types_becomes_an_operator() -> None:
    hostile = [
        '{"$ne": null}',
        "$where:1",
        "tag:$ne",
        'tag:{"$gt":""}',
        "name:$regex",
        "camera:$in",
        "meta.x:$exists",
        "meta.x:{$gt:1}",
        "$or:[]",
        "format:$ne",
    ]

    def keys(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, inner in value.items():
                yield key
                yield from keys(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from keys(inner)

    operators = {"$and", "$nor", "$in", "$gt", "$gte", "$lt", "$lte", "$regex", "$options"}
    fields = {"keywords", "tag_keys", "format", "camera", "filename", "meta.x"}
    for text in hostile:
        try:
            criteria = query_filter(parse_query(text))
        except QueryError:
            continue
        for key in keys(criteria):
            assert key in operators or key in fields, (text, key)


BAD = [
    ('name:"unclosed', 6, "unclosed quote"),
    ('sunset "open', 8, "unclosed quote"),
    ('tag:beach name:"a b', 16, "unclosed quote"),
    ("colour:red", 1, "unknown field 'colour'"),
    ("beach -colour:red", 7, "unknown field 'colour'"),
    ("width:wide", 1, "width: expects a number"),
    ("width:>", 1, "width: expects a number"),
    ("height:10px", 1, "height: a plain number"),
    ("size:2tb", 1, "unknown unit 'tb'"),
    ("size:>lots", 1, "size: expects a number"),
    ("frames:1..", 1, "frames: expects a number"),
    ("taken:yesterday", 1, "taken: expects a date"),
    ("taken:2021-13", 1, "taken: expects a date"),
    ("added:>2021-02-30", 1, "added: expects a date"),
    ("taken:2021..", 1, "taken: expects a date"),
    ("orientation:diagonal", 1, "orientation: is portrait, landscape or square"),
    ("sort:colour", 1, "sort: is one of"),
    ("-sort:name", 1, "sort: is one of"),
    ("tag:", 1, "tag: needs a value"),
    ("beach name:", 7, "name: needs a value"),
    ("meta.rating:>high", 1, "comparing needs a number or a date"),
    ("meta.a.b:1", 1, "not a valid metadata key"),
    ("meta.:1", 1, "not a valid metadata key"),
    ('collection:"No such thing"', 1, "no collection named"),
    ("beach collection:nope", 7, "no collection named"),
]


@pytest.mark.parametrize(("text", "column", "message"), BAD)
def test_bad_queries_point_at_the_column(
    lib: Library, text: str, column: int, message: str
) -> None:
    with pytest.raises(QueryError) as raised:
        lib.repo.parse_query(text)
    assert raised.value.column == column
    assert message in str(raised.value)
    assert f"(at column {column})" in str(raised.value)
    with pytest.raises(QueryError):
        lib.repo.count(text)


# -- through the CLI -----------------------------------------------------------------------


@pytest.fixture
def lib_cli(lib: Library, capsys: pytest.CaptureFixture[str]) -> Cli:
    return make_cli(lib.shared.settings.db_uri or "", capsys)


def test_cli_ls_takes_a_query(lib: Library, lib_cli) -> None:
    status, out, err = lib_cli("ls", "--json", "tag:beach", "sort:name")
    assert status == 0, err
    assert [item["filename"] for item in json.loads(out)] == ["IMG_0001.jpg", "IMG_0002.jpg"]
    # Words given as separate arguments are one query; flags narrow it further.
    status, out, _ = lib_cli("ls", "--json", "sunset", "--tag", "beach")
    assert [item["filename"] for item in json.loads(out)] == ["IMG_0001.jpg"]
    status, out, _ = lib_cli("ls", 'collection:"Summer 2021"', "sort:name")
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()] == [
        lib.ids[name] for name in ("canon_note.jpg", "holiday.png", "IMG_0001.jpg")
    ]
    status, out, _ = lib_cli("ls", "--json", "name:(a+)+$")
    assert [item["filename"] for item in json.loads(out)] == ["(a+)+$.jpg"]


def test_cli_ls_flags_with_quotes_in_them(lib: Library, lib_cli) -> None:
    assert names(lib, r'tag:"say \"cheese\""') == {"late.jpg"}
    for argv in (["--tag", 'say "cheese"'], ["late", "--tag", 'say "cheese"']):
        # With query words the flag is folded into the query text: a quote in it
        # must neither break the parse nor change the tag.
        status, out, err = lib_cli("ls", "--json", *argv)
        assert status == 0, err
        assert [item["filename"] for item in json.loads(out)] == ["late.jpg"], argv
    status, out, err = lib_cli("ls", "--json", "late", "--name", 'x"y')
    assert (status, out) == (0, "[]\n"), err


@pytest.mark.parametrize(
    ("argv", "column", "message"),
    [
        (["bad:query"], 1, "unknown field 'bad'"),
        (["beach", 'name:"open'], 12, "unclosed quote"),
        (["size:>2tb"], 1, "unknown unit"),
        (['collection:"nope"'], 1, "no collection named 'nope'"),
    ],
)
def test_cli_bad_query_is_a_usage_error_with_a_caret(
    lib: Library, lib_cli, argv: list[str], column: int, message: str
) -> None:
    status, out, err = lib_cli("ls", *argv)
    assert (status, out) == (2, "")
    lines = err.splitlines()
    assert lines[0].startswith("error: invalid query: ") and message in lines[0]
    text = " ".join(argv)
    assert lines[1] == f"  {text}"
    assert lines[2] == "  " + " " * (column - 1) + "^"
