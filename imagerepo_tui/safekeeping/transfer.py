"""The one transfer core behind backup, restore and copy: a source yields a library's
raw documents and original bytes, a sink writes them, and this walks the one into the
other in the order the sink needs (accounts, then collections, counters, images).

Sources: a library (``LibraryReader``) or a backup folder (``BackupReader``). Sinks: a
library (``LibraryWriter``) or a backup folder (``BackupWriter``). Backup is library to
folder, restore folder to library, copy library to library.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from imagerepo_tui.errors import DatabaseUnavailableError, ImageRepoError
from imagerepo_tui.store.models import COLLECTIONS, COUNTERS, USERS
from imagerepo_tui.store.transfer import DUPLICATE, REPAIRED, SKIPPED, WRITTEN, Placed

# Owners first: collections and images name them; counters before images, so a fresh
# sequence number is past every incoming one.
SMALL_KINDS = (USERS, COLLECTIONS, COUNTERS)
# Images in flight at once (``put_image`` runs in this many threads).
WORKERS = 3


class FatalTransferError(ImageRepoError):
    """A failure that no later image can escape (a full or unwritable backup disk):
    the transfer stops, like it does for a lost database."""


class Source(Protocol):
    def totals(self) -> tuple[int, int]: ...
    def documents(self, kind: str) -> Iterator[dict[str, Any]]: ...
    def images(self) -> Iterator[dict[str, Any]]: ...
    def original(self, image: dict[str, Any]) -> Iterator[bytes]: ...


class Sink(Protocol):
    def put_documents(self, kind: str, docs: Iterable[dict[str, Any]]) -> list[str]: ...
    def record(self, image: dict[str, Any]) -> None:
        """Called for every image in the source's order, before ``put_image``."""

    def put_image(self, image: dict[str, Any], blocks: Callable[[], Iterator[bytes]]) -> Placed:
        """Runs in several threads at once."""
        ...

    def finish(self) -> None: ...


@dataclass
class Summary:
    """What a transfer did. ``written`` counts originals written (repairs apart)."""

    images: int = 0
    trashed: int = 0
    written: int = 0
    skipped: int = 0
    repaired: int = 0
    duplicates: int = 0
    failed: int = 0
    bytes_written: int = 0
    seconds: float = 0.0
    documents: dict[str, int] = field(default_factory=dict)

    def count(self, placed: Placed) -> None:
        attribute = {
            WRITTEN: "written",
            SKIPPED: "skipped",
            REPAIRED: "repaired",
            DUPLICATE: "duplicates",
        }[placed.outcome]
        setattr(self, attribute, getattr(self, attribute) + 1)
        self.bytes_written += placed.written

    @property
    def rate(self) -> float:
        """MB/s written (0 when nothing was)."""
        return self.bytes_written / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "trashed": self.trashed,
            "written": self.written,
            "skipped": self.skipped,
            "repaired": self.repaired,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "bytes_written": self.bytes_written,
            "seconds": round(self.seconds, 3),
            "documents": dict(self.documents),
        }


def _counted(docs: Iterable[dict[str, Any]], summary: Summary, kind: str) -> Iterator[Any]:
    summary.documents[kind] = 0
    for doc in docs:
        summary.documents[kind] += 1
        yield doc


def transfer(
    source: Source,
    sink: Sink,
    *,
    advance: Callable[[float], None] = lambda amount: None,
    report: Callable[[str], None] = lambda message: None,
    note: Callable[[str], None] = lambda message: None,
) -> Summary:
    """Everything of ``source`` into ``sink``. One image's failure is ``report``ed and
    the rest go on; a lost database or a failing disk stops it all.
    ``advance`` hears of each image's bytes, written or not."""
    started = time.monotonic()
    summary = Summary()
    for kind in SMALL_KINDS:
        for message in sink.put_documents(kind, _counted(source.documents(kind), summary, kind)):
            note(message)
    # A few images move at once: each waits mostly on a journaled write or an fsync,
    # so one alone left the server or the disk idle between round trips. Results are
    # taken in order, and only a few are in flight (each holds a few MB at most).
    pending: deque[tuple[dict[str, Any], Future[Placed]]] = deque()
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="transfer") as pool:
        try:
            for image in source.images():
                sink.record(image)
                job = pool.submit(sink.put_image, image, partial(source.original, image))
                pending.append((image, job))
                if len(pending) > 2 * WORKERS:
                    _settle(*pending.popleft(), summary, advance, report, note)
            while pending:
                _settle(*pending.popleft(), summary, advance, report, note)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    sink.finish()
    summary.seconds = time.monotonic() - started
    return summary


def _settle(
    image: dict[str, Any],
    job: Future[Placed],
    summary: Summary,
    advance: Callable[[float], None],
    report: Callable[[str], None],
    note: Callable[[str], None],
) -> None:
    summary.images += 1
    summary.trashed += image.get("trashed") is True
    try:
        placed = job.result()
    except (DatabaseUnavailableError, FatalTransferError):
        raise
    except ImageRepoError as error:
        summary.failed += 1
        report(str(error))
    else:
        summary.count(placed)
        if placed.note:
            note(placed.note)
    size = image.get("size")
    advance(size if isinstance(size, int) else 0)
