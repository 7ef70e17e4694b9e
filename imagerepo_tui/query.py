"""The search language shared by the TUI's search box and ``imagerepo-tui ls QUERY``.

    sunset beach            free words: whole words of filename, title, description, tags
    tag:cat  -tag:dog       a tag, or its absence (a leading "-" negates any term)
    format:png  camera:canon  name:IMG_  collection:"Summer 2021"  (a smart one: its query)
    taken:2021-05  added:>2026-01-01  taken:2021-01..2021-06
    width:>1000  height:<=800  size:<2mb  frames:>1  orientation:portrait
    rating:>=4  rating:3  rating:1..3  is:favorite   (stars 0-5, 0 = unrated)
    meta.key:value  meta.rating:>=4
    owner:NAME  is:public  is:private   (whose images, and which are shared)
    similar:ID              images that look like that one (near-duplicates)
    sort:name|added|taken|size   (prefix "-" for descending: sort:-size)

Everything a user types is matched literally: values become equality tests, literal
substrings or numbers, never operators, so ``{"$ne": null}`` or ``.*`` find nothing odd.
The parser is pure: it turns text into a ``Query`` (terms over record fields and a
sort; ``store.filters`` alone turns that into MongoDB filters), and points at the
offending column when the text is not valid. What the database would refuse with its own
error is refused here first, with a column: dates outside years 1-9999, numbers past 64
bits, terms over 1,000 characters, queries over 4,000, control characters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from imagerepo_tui.errors import ImageRepoError
from imagerepo_tui.formats import format_condition
from imagerepo_tui.query_syntax import MAX_QUERY_CHARS as MAX_QUERY_CHARS
from imagerepo_tui.query_syntax import QueryError as QueryError

# Spelled as before the tokenizer moved to query_syntax, for the term builders here.
from imagerepo_tui.query_syntax import Token as _Token
from imagerepo_tui.query_syntax import tokenize as tokenize
from imagerepo_tui.query_terms import (
    AllOf,
    AnyOf,
    Contains,
    Equals,
    Not,
    OneOf,
    Query,
    Range,
    Sort,
    Term,
)

# Fields a sort may use, and the document field each one orders by.
# "taken" orders by taken_key (date taken, else upload date): never null, so keyset
# paging can step past images without EXIF ($lt/$gt a date never matches a null).
SORT_FIELDS = {"added": "seq", "name": "filename_key", "taken": "taken_key", "size": "size"}
NUMBER_FIELDS = {name: name for name in ("width", "height", "size", "frames", "rating")}
DATE_FIELDS = {"taken": "taken_at", "added": "created_at", "updated": "updated_at"}
TEXT_FIELDS = (
    "tag",
    "format",
    "camera",
    "name",
    "collection",
    "orientation",
    "owner",
    "is",
    "similar",
    "sort",
)
VISIBILITIES = ("public", "private")
# is:favorite (is:favourite too); -is:favorite is every other image.
FAVORITES = ("favorite", "favourite")
ORIENTATIONS = ("portrait", "landscape", "square")
META_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)", re.IGNORECASE)
# Plain decimals, as records.parse_meta types a stored value (it imports this module, so
# its patterns cannot be imported here): Python's int()/float() would also take "1_000",
# "nan" and "infinity", and a stored "nan" is text.
_META_INT = re.compile(r"[+-]?\d+")
_META_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
# BSON's integers are 64-bit: pymongo refuses a bigger Python int with an OverflowError.
INT64_MAX = 2**63 - 1
# The server caps a $regex pattern at 1,000 characters (MongoDB's own cap is 32,764).
MAX_PATTERN_CHARS = 1000
# The first instant after year 9999 is not a datetime: the last span ends here instead
# (BSON keeps milliseconds, so only 9999-12-31 23:59:59.999 itself is left out).
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)
_COMPARISON = re.compile(r"(>=|<=|>|<|=)?(.*)", re.DOTALL)
_WORD = re.compile(r"\w+", re.UNICODE)


def search_words(text: str) -> list[str]:
    """The case-folded words of ``text``: what free-word search matches against."""
    return [word.casefold() for word in _WORD.findall(text)]


def _parse_number(raw: str, token: _Token, sizes: bool) -> int | float:
    match = _NUMBER.fullmatch(raw.strip())
    if not match:
        raise QueryError(f"{token.key}: expects a number, not {raw!r}", token.column)
    # Decimal, not float: "99999999999999999999999" must not round to a nearby number.
    number, unit = Decimal(match.group(1)), match.group(2).lower()
    if unit and not sizes:
        raise QueryError(f"{token.key}: a plain number, without {unit!r}", token.column)
    if unit not in _SIZE_UNITS:
        raise QueryError(f"size: unknown unit {unit!r} (use kb, mb or gb)", token.column)
    number *= _SIZE_UNITS[unit]
    if number > INT64_MAX:  # no width or size is that big, and BSON has no bigger int
        raise QueryError(f"{token.key}: {raw!r} is too large", token.column)
    return int(number) if number == number.to_integral_value() else float(number)


def _range_parts(raw: str, operator: str | None, token: _Token) -> tuple[str, str] | None:
    """``low..high`` as its two parts, None for a single value."""
    if ".." not in raw:
        return None
    if operator is not None:
        raise QueryError(f"{token.key}: a range takes no {operator}", token.column)
    low, _, high = raw.partition("..")
    return low, high


def _split_comparison(value: str) -> tuple[str | None, str]:
    match = _COMPARISON.fullmatch(value)
    assert match is not None  # the pattern matches any string
    operator = match.group(1)
    return (None if operator in (None, "=") else operator), match.group(2)


def _compared(field_name: str, operator: str, value: Any) -> Range:
    """``field <operator> value`` for one of ``> >= < <=``."""
    if operator.startswith(">"):
        return Range(field_name, low=value, include_low=operator == ">=")
    return Range(field_name, high=value, include_high=operator == "<=")


def _number_condition(token: _Token, field_name: str, sizes: bool) -> Term:
    operator, raw = _split_comparison(token.value)
    parts = _range_parts(raw, operator, token)
    if parts is not None:
        low, high = (_parse_number(part, token, sizes) for part in parts)
        return Range(field_name, low, high)
    number = _parse_number(raw, token, sizes)
    if operator is None:
        return Equals(field_name, number)
    return _compared(field_name, operator, number)


_DATE_FORMS = (("%Y-%m-%d", "day"), ("%Y-%m", "month"), ("%Y", "year"))


def _date_span(raw: str, token: _Token) -> tuple[datetime, datetime]:
    """[start, end) of a year, month or day written as YYYY, YYYY-MM or YYYY-MM-DD."""
    for pattern, unit in _DATE_FORMS:
        try:
            start = datetime.strptime(raw.strip(), pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
        return start, _span_end(start, unit)
    raise QueryError(
        f"{token.key}: expects a date like 2021, 2021-05 or 2021-05-17 "
        "(years 1 to 9999, real months and days)",
        token.column,
    )


def _span_end(start: datetime, unit: str) -> datetime:
    """The first instant after the year, month or day that begins at ``start``."""
    try:
        if unit == "day":
            return start + timedelta(days=1)
        if unit == "month":
            year, month = (
                (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
            )
            return start.replace(year=year, month=month)
        return start.replace(year=start.year + 1)
    except (OverflowError, ValueError):  # after 9999-12-31 there is no datetime
        return _END_OF_TIME


def _span_comparison(
    field_name: str, operator: str | None, start: datetime, end: datetime
) -> Range:
    """A comparison with a whole year, month or day [start, end): ``>`` means after it."""
    if operator is None:
        return Range(field_name, start, end, include_high=False)
    if operator.startswith(">"):
        return Range(field_name, low=end if operator == ">" else start)
    return Range(field_name, high=start if operator == "<" else end, include_high=False)


def _date_condition(token: _Token, field_name: str) -> Term:
    operator, raw = _split_comparison(token.value)
    parts = _range_parts(raw, operator, token)
    if parts is not None:
        first, last = parts
        start, end = _date_span(first, token)[0], _date_span(last, token)[1]
        return Range(field_name, start, end, include_high=False)
    return _span_comparison(field_name, operator, *_date_span(raw, token))


def _literal_contains(token: _Token, field_name: str) -> Contains:
    # The store matches it as an escaped regex (the one form of substring search the
    # embedded server answers), which the server caps: refuse a longer one here, where
    # the error can point at its column.
    text = token.value.casefold()
    if len(re.escape(text)) > MAX_PATTERN_CHARS:
        raise QueryError(
            f"{token.key}: too long (at most {MAX_PATTERN_CHARS:,} characters, "
            "punctuation and spaces counting twice)",
            token.column,
        )
    return Contains(field_name, text)


def _meta_number(raw: str) -> int | float | None:
    """``raw`` as a number the way a stored value is typed, or None for text. An
    integer past 64 bits compares as a float (BSON has no bigger int); "1e999" is
    infinite, so text, as it is when stored."""
    text = raw.strip()
    if _META_INT.fullmatch(text):
        number = int(text)
        if -INT64_MAX - 1 <= number <= INT64_MAX:
            return number
    elif not _META_FLOAT.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _meta_date(condition: Callable[[], Term]) -> Term | None:
    try:
        return condition()
    except QueryError:
        return None


def _meta_condition(token: _Token) -> Term:
    key = token.key[len("meta.") :] if token.key else ""
    if not META_KEY.fullmatch(key):
        raise QueryError(f"meta.{key}: not a valid metadata key", token.column)
    path = f"meta.{key}"
    operator, raw = _split_comparison(token.value)
    parts = _range_parts(raw, operator, token)
    if operator is None and parts is None:
        value = _meta_number(raw)
        # "4" finds a number 4 or the text "4": values are typed when stored.
        return Equals(path, raw) if value is None else OneOf(path, (value, raw))
    # Dates compare by whole days, months or years, as taken: does.
    if parts is not None:
        low, high = parts
        bounds = (_meta_number(low), _meta_number(high))
        number: Term | None = None if None in bounds else Range(path, *bounds)
        date = _meta_date(
            lambda: Range(
                path, _date_span(low, token)[0], _date_span(high, token)[1], include_high=False
            )
        )
    else:
        assert operator is not None  # no range and no operator returned above
        value = _meta_number(raw)
        number = None if value is None else _compared(path, operator, value)
        date = _meta_date(lambda: _span_comparison(path, operator, *_date_span(raw, token)))
    if number is not None and date is not None:
        # "1950" is a number and a year. Comparisons only match values of their own
        # type, so asking both ways finds numbers and dates alike.
        return AnyOf((number, date))
    condition = number if number is not None else date
    if condition is None:
        raise QueryError(f"{path}: comparing needs a number or a date", token.column)
    return condition


def _orientation_condition(token: _Token) -> Term:
    shape = token.value.casefold()
    if shape not in ORIENTATIONS:
        raise QueryError("orientation: is portrait, landscape or square", token.column)
    return Equals("shape", shape)


def _sort_of(token: _Token) -> Sort:
    name = token.value.casefold()
    descending = name.startswith("-")
    name = name.removeprefix("-")  # one "-": "--size" is a typo, not a double negation
    if name not in SORT_FIELDS or token.negated:
        choices = "|".join(SORT_FIELDS)
        raise QueryError(f"sort: is one of {choices}, with - for descending", token.column)
    return Sort(SORT_FIELDS[name], descending)


def _is_condition(token: _Token) -> Term:
    """``is:public`` / ``is:private``; negated, the other one (a plain equality
    either way, which the store turns into the matching audience). ``is:favorite``;
    negated, every image that is not one (a field another client left out too)."""
    value = token.value.casefold()
    if value in FAVORITES:
        favorite = Equals("favorite", True)
        return Not(favorite) if token.negated else favorite
    if value not in VISIBILITIES:
        choices = "|".join((*VISIBILITIES, FAVORITES[0]))
        raise QueryError(f"is: is one of {choices}", token.column)
    return Equals("public", (value == "public") != token.negated)


def _found(token: _Token, find: Callable[[str], Any]) -> Any:
    try:
        return find(token.value)
    except ImageRepoError as error:
        raise QueryError(str(error), token.column) from None


def _lookup(token: _Token, field_name: str, find: Callable[[str], Any]) -> Term:
    return Equals(field_name, _found(token, find))


def _collection_terms(token: _Token, found: Any) -> list[Term]:
    """``collection:NAME``: membership, or a smart collection's own terms (live)."""
    if not isinstance(found, Query):
        term: Term = Equals("collections", found)
        return [Not(term) if token.negated else term]
    if not token.negated:
        return list(found.terms)
    if not found.terms:  # it finds every image: its negation finds none
        return [OneOf("_id", ())]
    return [Not(found.terms[0] if len(found.terms) == 1 else AllOf(found.terms))]


def _words_condition(value: str) -> Term | None:
    """Free words: each must be a whole keyword."""
    words = search_words(value)
    if not words:
        # Only punctuation (".*", "$"): matched as a whole keyword (a tag can be
        # ".*"), never dropped, or ".*" alone would list everything.
        return Equals("keywords", value.casefold()) if value.strip() else None
    if len(words) == 1:
        return Equals("keywords", words[0])
    return AllOf(tuple(Equals("keywords", word) for word in words))


def _condition(
    token: _Token,
    collection_id: Callable[[str], Any],
    owner_id: Callable[[str], Any],
    similar: Callable[[str], Term],
) -> Term | None:
    key, value = token.key, token.value
    if key is None:
        return _words_condition(value)
    if key == "tag":
        return Equals("tag_keys", " ".join(value.split()).casefold())
    if key == "format":
        return format_condition(value)
    if key == "camera":
        return _literal_contains(token, "camera")
    if key == "name":
        return _literal_contains(token, "filename")
    if key == "owner":
        return _lookup(token, "owner", owner_id)
    if key == "similar":
        try:
            return similar(value)
        except ImageRepoError as error:
            raise QueryError(str(error), token.column) from None
    if key == "orientation":
        return _orientation_condition(token)
    if key in DATE_FIELDS:
        return _date_condition(token, DATE_FIELDS[key])
    if key in NUMBER_FIELDS:
        return _number_condition(token, NUMBER_FIELDS[key], sizes=key == "size")
    if key.startswith("meta."):
        return _meta_condition(token)
    known = ", ".join([*TEXT_FIELDS, *DATE_FIELDS, *NUMBER_FIELDS, "meta.KEY"])
    raise QueryError(f"unknown field {key!r} (known: {known})", token.column)


def parse_query(
    text: str,
    collection_id: Callable[[str], Any] = lambda name: name,
    owner_id: Callable[[str], Any] = lambda name: name,
    similar: Callable[[str], Term] = lambda image_id: OneOf("_id", ()),
) -> Query:
    """Parse search text. ``collection_id(name)`` and ``owner_id(name)`` map a
    collection's or a user's name to what the ``collections`` or ``owner`` field
    holds (they raise if there is no such collection or user); for a smart
    collection, ``collection_id`` gives its parsed ``Query``, whose terms stand in
    for the term (and whose sort applies when the text has none). ``similar(id)`` is
    the term of ``similar:ID`` (the ids of the images near that one)."""
    terms: list[Term] = []
    sort: Sort | None = None
    smart_sort = Sort()
    for token in tokenize(text):
        if token.key == "sort":
            sort = _sort_of(token)
            continue
        if token.key == "is":
            terms.append(_is_condition(token))
            continue
        if token.key == "collection":
            found = _found(token, collection_id)
            if isinstance(found, Query) and smart_sort.is_default:
                smart_sort = found.sort
            terms.extend(_collection_terms(token, found))
            continue
        term = _condition(token, collection_id, owner_id, similar)
        if term is not None:
            terms.append(Not(term) if token.negated else term)
    return Query(tuple(terms), sort or smart_sort, text)
