"""Reading documents the app did not necessarily write.

Another client, an older version or a hand edit may have put anything in any field:
an int for a title, a list for the EXIF, nothing for the filename. Records are built
from documents only through ``Fields``, which checks each field's type before it is
used and, when it is wrong, notes what is wrong (``"title: expected a string, got
int"``) and gives a stand-in of the right type. So a bad document becomes a record
marked as damaged, never an exception that stops a whole listing.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

# A document with thousands of bad EXIF values would otherwise carry thousands of
# problems into every row that shows it: this many per list or sub-document.
MAX_ITEM_PROBLEMS = 5
# Keys quoted in a problem are cut: a 1 MB key name is itself the problem.
MAX_KEY_IN_PROBLEM = 60
# An ``_id`` that is no ObjectId is shown as text, cut to this.
MAX_ID_TEXT = 100
_INTEGER_TEXT = re.compile(r"[+-]?\d{1,19}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PHASH = re.compile(r"[0-9a-f]{16}")
_MISSING: Any = object()


def kind(value: Any) -> str:
    """What a stored value is, in a problem's words."""
    if value is None:
        return "null"
    if isinstance(value, bytes):
        return "binary"
    return type(value).__name__


def _label(key: object) -> str:
    text = str(key)
    return text if len(text) <= MAX_KEY_IN_PROBLEM else text[:MAX_KEY_IN_PROBLEM] + "…"


def _scalar_text(value: Any) -> str | None:
    """A number or boolean written as text (what a display can show of it)."""
    if isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return str(value)
    return None


def _is_id(value: Any) -> bool:
    """An ObjectId? Asked without importing bson: only ``store/`` imports database
    libraries (the TUI paints before loading them). Documents come from the driver,
    which has loaded bson; if it is not loaded, nothing is an ObjectId."""
    bson = sys.modules.get("bson")
    return bson is not None and isinstance(value, bson.ObjectId)


def plain_exif_value(value: Any) -> bool:
    """What EXIF values may be: text and numbers, as ``imaging.read_exif`` stores them
    (JSON can hold each, unlike NaN, dates or binary)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | bool | int)


def plain_meta_value(value: Any) -> bool:
    """What custom fields may be: text, numbers and dates (``records.check_meta``)."""
    return isinstance(value, datetime) or (value is not None and plain_exif_value(value))


class Fields:
    """One document's fields, each read with its type checked; ``problems`` lists
    what was wrong, in order, for the record to carry as ``damaged``."""

    def __init__(self, doc: object) -> None:
        self.doc: Mapping[str, Any] = doc if isinstance(doc, Mapping) else {}
        self.problems: list[str] = []
        if not isinstance(doc, Mapping):
            self.problem(f"document: expected a document, got {kind(doc)}")

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def wrong(self, key: str, expected: str, value: Any) -> None:
        self.problem(f"{_label(key)}: expected {expected}, got {kind(value)}")

    def _wrong_items(self, key: str, wrong: list[tuple[str, Any]], expected: str) -> None:
        """Problems of a list's or sub-document's entries: the first few, then a count."""
        for label, value in wrong[:MAX_ITEM_PROBLEMS]:
            self.wrong(label, expected, value)
        if len(wrong) > MAX_ITEM_PROBLEMS:
            self.problem(f"{key}: {len(wrong) - MAX_ITEM_PROBLEMS:,} more wrong entries")

    def _get(self, key: str, required: bool) -> Any:
        """The stored value, or ``_MISSING`` for an absent or null one (noted when
        the app always writes this field)."""
        value = self.doc.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                self.problem(f"{key}: missing")
            return _MISSING
        return value

    # -- scalars ----------------------------------------------------------------------

    def identity(self) -> str:
        """The ``_id`` as text: an ObjectId's hex, or whatever else is there, flagged
        (such an image can be listed but not opened by id)."""
        value = self.doc.get("_id", _MISSING)
        if _is_id(value):
            return str(value)
        if value is _MISSING:
            self.problem("_id: missing")
            return "?"
        self.wrong("_id", "an ObjectId", value)
        # Its text, so that two such images still differ in a list (escaped when shown).
        return str(value)[:MAX_ID_TEXT]

    def object_id(self, key: str, *, required: bool = True) -> Any:
        """An ObjectId, or None."""
        value = self._get(key, required)
        if value is _MISSING:
            return None
        if _is_id(value):
            return value
        self.wrong(key, "an ObjectId", value)
        return None

    def text(self, key: str, *, required: bool = True, default: str = "") -> str:
        """A string; a number stored instead is shown as its digits."""
        value = self._get(key, required)
        if value is _MISSING:
            return default
        if isinstance(value, str):
            return value
        self.wrong(key, "a string", value)
        return _scalar_text(value) or default

    def optional_text(self, key: str) -> str | None:
        """A string, or None when the field is absent; anything else is noted and
        read as "" (present, but unusable: never a number's digits)."""
        value = self._get(key, required=False)
        if value is _MISSING:
            return None
        if isinstance(value, str):
            return value
        self.wrong(key, "a string", value)
        return ""

    def digest(self, key: str) -> str:
        value = self.text(key)
        if value and not _SHA256.fullmatch(value):
            self.problem(f"{key}: expected 64 lowercase hex digits")
        return value

    def perceptual_hash(self, key: str) -> str:
        """A 64-bit hash as 16 lowercase hex digits, or "" when there is none yet; any
        other value is noted and is no hash (never matched as a near-duplicate)."""
        value = self._get(key, required=False)
        if value is _MISSING:
            return ""
        if isinstance(value, str) and _PHASH.fullmatch(value):
            return value
        self.wrong(key, "16 lowercase hex digits", value)
        return ""

    def integer(
        self, key: str, *, required: bool = True, default: int = 0, minimum: int | None = None
    ) -> int:
        """An integer. A whole double is one too (what JavaScript clients store); a
        string of digits is shown as its number but noted."""
        value = self._get(key, required)
        if value is _MISSING:
            return default
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        else:
            self.wrong(key, "an integer", value)
            if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
                return int(value)
            return default
        if minimum is not None and number < minimum:
            self.problem(f"{key}: expected at least {minimum}, got {number}")
        return number

    def choice(self, key: str, allowed: tuple[int, ...], *, default: int = 0) -> int:
        """One of a few integers (absent: ``default``); anything else is noted and
        read as ``default``, never used as it is."""
        value = self.integer(key, required=False, default=default)
        if value in allowed:
            return value
        wanted = ", ".join(str(item) for item in allowed)
        self.problem(f"{key}: expected one of {wanted}, got {value}")
        return default

    def flag(self, key: str, *, default: bool = False) -> bool:
        """A boolean; anything else (the string "false" included) is the default."""
        value = self._get(key, required=False)
        if value is _MISSING:
            return default
        if isinstance(value, bool):
            return value
        self.wrong(key, "a boolean", value)
        return default

    def moment(self, key: str, *, required: bool = True) -> datetime | None:
        """A date (UTC when stored without a zone). An ISO string stored instead is
        shown as its date but noted; anything else is no date."""
        value = self._get(key, required)
        if value is _MISSING:
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        self.wrong(key, "a date", value)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip())
            except ValueError:
                return None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return None

    # -- containers -------------------------------------------------------------------

    def _items(self, key: str) -> list[Any]:
        value = self._get(key, required=False)
        if value is _MISSING:
            return []
        if isinstance(value, list | tuple):
            return list(value)
        self.wrong(key, "a list", value)
        return []

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of strings; a number in it is shown as its digits, other things
        dropped, each noted with its position."""
        found: list[str] = []
        wrong: list[tuple[str, Any]] = []
        for index, item in enumerate(self._items(key)):
            if isinstance(item, str):
                found.append(item)
                continue
            wrong.append((f"{key}[{index}]", item))
            shown = _scalar_text(item)
            if shown is not None:
                found.append(shown)
        self._wrong_items(key, wrong, "a string")
        return tuple(found)

    def object_ids(self, key: str) -> tuple[Any, ...]:
        """The ObjectIds in a list; anything else in it is dropped and noted."""
        items = self._items(key)
        wrong = [(f"{key}[{n}]", item) for n, item in enumerate(items) if not _is_id(item)]
        self._wrong_items(key, wrong, "an ObjectId")
        return tuple(item for item in items if _is_id(item))

    def mapping(self, key: str, allowed: Callable[[Any], bool], expected: str) -> dict[str, Any]:
        """A sub-document whose values ``allowed`` accepts; any other value is noted
        and shown as a description of what it is (JSON and the screen can hold that)."""
        value = self._get(key, required=False)
        if value is _MISSING:
            return {}
        if not isinstance(value, Mapping):
            self.wrong(key, "a document", value)
            return {}
        found: dict[str, Any] = {}
        wrong: list[tuple[str, Any]] = []
        for name, item in value.items():
            if allowed(item):
                found[str(name)] = item
            else:
                wrong.append((f"{key}.{name}", item))
                found[str(name)] = f"<{kind(item)}>"
        self._wrong_items(key, wrong, expected)
        return found
