"""The upload pipeline: decoder threads prepare files while writer threads store them.

It knows nothing of the library: ``ImageRepository.upload_files`` hands it a
``prepare`` callable (read, validate, decode, hash: CPU work) and a ``store``
callable (write to the database: waiting on the server), and reads the results back
in input order.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import replace

from imagerepo_tui.errors import DatabaseUnavailableError, ImageRepoError
from imagerepo_tui.files import PreparedUpload
from imagerepo_tui.records import FileEntry, UploadResult

# Two stages joined by futures: decoders (CPU: validating decode, thumbnail, hash;
# Pillow releases the GIL) and writers (waiting on the server). One pool doing both
# made the threads fall into step: all decoding while the server idled, then all
# writing while the cores idled (measured: 1.71 s for 20 12 MP files; two stages keep
# both busy). Files in flight stay few: each is held whole.
DECODERS = max(2, min(4, os.cpu_count() or 2))
WRITERS = 2
AHEAD = DECODERS + WRITERS + 2

PrepareFile = Callable[[FileEntry], PreparedUpload]
StoreFile = Callable[[PreparedUpload], UploadResult]
_Pending = deque[tuple[FileEntry, Future[UploadResult] | None]]


def run_uploads(
    entries: Iterable[FileEntry], prepare: PrepareFile, store: StoreFile
) -> Iterator[UploadResult]:
    """Yield each file's result in input order, as soon as it is stored.

    Every entry is reported exactly once: a bad file (or one ``prepare`` or ``store``
    rejects with an ``ImageRepoError``) is an ``error`` result and the rest go on.
    A ``DatabaseUnavailableError`` is raised (after yielding what was done) so the
    caller stops the batch. Closing the generator early stores nothing more.
    """
    batch = _Batch(prepare, store)
    pending: _Pending = deque()
    reported: set[str] = set()
    source = iter(entries)
    with (
        ThreadPoolExecutor(DECODERS, thread_name_prefix="upload-decode") as decoders,
        ThreadPoolExecutor(WRITERS, thread_name_prefix="upload-write") as writers,
    ):
        try:
            while True:
                while len(pending) < AHEAD and (entry := next(source, None)) is not None:
                    pending.append((entry, batch.start(entry, decoders, writers)))
                if not pending:
                    return
                entry, job = pending.popleft()
                yield _label_in_input_order(_result_of(entry, job), pending, reported)
                batch.forget_done()
        finally:
            batch.close()


class _Batch:
    """The futures of one batch, and what its writers share: whether the caller has
    stopped reading, and whether one of them has found the database gone."""

    def __init__(self, prepare: PrepareFile, store: StoreFile) -> None:
        self._prepare = prepare
        self._store = store
        self._started: list[Future[PreparedUpload] | Future[UploadResult]] = []
        self._lost: list[DatabaseUnavailableError] = []
        self._closed = threading.Event()

    def start(
        self, entry: FileEntry, decoders: ThreadPoolExecutor, writers: ThreadPoolExecutor
    ) -> Future[UploadResult] | None:
        """Queue a file on both stages; ``None`` for one already known to be bad."""
        if entry.error:
            return None
        prepared = decoders.submit(self._prepare, entry)
        job = writers.submit(self._store_when_ready, prepared)
        self._started += (prepared, job)
        return job

    def forget_done(self) -> None:
        self._started = [future for future in self._started if not future.done()]

    def close(self) -> None:
        self._closed.set()
        for future in self._started:
            future.cancel()

    def _store_when_ready(self, prepared: Future[PreparedUpload]) -> UploadResult:
        upload = prepared.result()  # a bad file's error is this file's result
        if self._closed.is_set():  # the caller stopped reading: store nothing more
            raise CancelledError
        # Once one file has found the database gone, the files queued behind it give up
        # at once: each would otherwise wait out a server-selection timeout before the
        # batch could stop (workers pick up queued files before they can be cancelled).
        if self._lost:
            raise DatabaseUnavailableError(str(self._lost[0]))
        try:
            return self._store(upload)
        except DatabaseUnavailableError as error:
            self._lost.append(error)
            raise


def _result_of(entry: FileEntry, job: Future[UploadResult] | None) -> UploadResult:
    if job is None:
        return UploadResult(entry.path, "error", error=entry.error, size=entry.size)
    try:
        return job.result()
    except DatabaseUnavailableError:
        raise
    except ImageRepoError as error:
        return UploadResult(entry.path, "error", error=str(error), size=entry.size)


def _label_in_input_order(
    result: UploadResult,
    later: Iterable[tuple[FileEntry, Future[UploadResult] | None]],
    reported: set[str],
) -> UploadResult:
    """Identical files in one batch are stored concurrently, so a later copy can win
    the race and be the one that created the image. Report the first copy in input
    order as created and the rest as duplicates, as a sequential upload would."""
    if result.image is None:
        return result
    image_id = result.image.id
    if image_id in reported:
        return replace(result, status="duplicate")
    reported.add(image_id)
    if result.status != "duplicate":
        return result
    for entry, job in later:
        # Identical content has an identical size: only such a file can have won.
        if job is None or entry.size != result.size:
            continue
        try:
            other = job.result()
        except ImageRepoError:
            continue  # reported when its turn comes
        if other.status == "created" and other.image is not None and other.image.id == image_id:
            return replace(result, status="created")
    return result
