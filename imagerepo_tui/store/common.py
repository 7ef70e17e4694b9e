"""Helpers every store module shares: driver failures as app errors, reads that no
stored value can fail, timestamps as BSON keeps them, and this host's name."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from bson import DatetimeConversion
from mongoengine.errors import OperationError, ValidationError
from pymongo.collection import Collection as MongoCollection
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from imagerepo_tui.errors import DatabaseUnavailableError, ImageRepoError
from imagerepo_tui.similarity import bands, is_hash
from imagerepo_tui.store.connection import Store, describe_failure

# Claims name the host and pid of their writer: only on this host can we tell
# whether that writer is still alive.
HOST = socket.gethostname()
# Listing never needs the thumbnail bytes; leaving them out keeps pages small.
LIST_PROJECTION = {"thumbnail": 0}
# How documents come back from the driver: plain dicts.
Documents = MongoCollection[dict[str, Any]]


@contextlib.contextmanager
def database_errors(store: Store) -> Iterator[None]:
    """Translate driver failures: lost connections stop a batch, others fail one item."""
    try:
        yield
    except ConnectionFailure as error:  # includes AutoReconnect and server selection
        raise DatabaseUnavailableError(describe_failure(error, store.description)) from None
    except (OperationFailure, ValidationError) as error:
        raise ImageRepoError(f"the database refused the operation: {error}") from None
    except OperationError as error:
        # mongoengine's save() wraps the driver's OperationFailure in its own type,
        # which is no PyMongoError: without this it escaped as a traceback.
        raise ImageRepoError(f"the database refused the operation: {error}") from None
    except PyMongoError as error:
        raise ImageRepoError(f"database error: {error}") from None


def tolerant(collection: Any) -> Documents:
    """``collection`` read so that no stored value fails a whole batch of documents:
    dates beyond Python's years come as ``DatetimeMS`` (which ``checked.Fields``
    reports as no date), invalid UTF-8 with replacement characters. Strict decoding
    raised for the batch, and one such document written by another client emptied
    every list holding it."""
    options = collection.codec_options.with_options(
        datetime_conversion=DatetimeConversion.DATETIME_AUTO,
        unicode_decode_error_handler="replace",
    )
    # mongoengine hands out untyped collections: say what the driver returns.
    reader: Documents = collection.with_options(codec_options=options)
    return reader


def utc_now() -> datetime:
    """Now, to the millisecond: what BSON stores, so a document read back compares equal."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def hash_fields(phash: object) -> dict[str, Any]:
    """The stored fields of a perceptual hash: itself and its indexed band values
    (``similarity.bands``); nothing for no hash."""
    if not isinstance(phash, str) or not is_hash(phash):
        return {}
    return {"phash": phash, "phash_bands": bands(phash)}


class SeqWindows:
    """Bounded ``seq`` ranges walked newest first (or oldest first) from a page's
    cursor ``after``: the embedded server reads every document for an open-ended
    ``sort().limit()`` but answers a bounded range on an indexed field from the index."""

    def __init__(self, descending: bool, after: int | None, newest: int, size: int) -> None:
        self.descending = descending
        self.newest = newest
        if descending:
            self.high = newest + 1 if after is None else after
            self.low = max(0, self.high - size)
        else:
            self.low = 1 if after is None else after + 1
            self.high = min(newest + 1, self.low + size)

    def __bool__(self) -> bool:
        return self.low < self.high

    def bounds(self) -> dict[str, int]:
        return {"$gte": self.low, "$lt": self.high}

    def advance(self, size: int) -> None:
        """The next range, ``size`` uploads wide, beyond the one just read."""
        if self.descending:
            self.high, self.low = self.low, max(0, self.low - size)
        else:
            self.low, self.high = self.high, min(self.newest + 1, self.high + size)
