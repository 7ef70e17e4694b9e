"""The upload pipeline: decoder threads prepare files while writer threads store them,
small files in groups.

It knows nothing of the library: ``ImageRepository.upload_files`` hands it a
``prepare`` callable (read, validate, decode, hash: CPU work) and a ``store``
callable (write a group of prepared files to the database: waiting on the server),
and reads the results back in input order.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from imagerepo_tui.errors import DatabaseUnavailableError, ImageRepoError
from imagerepo_tui.files import PreparedUpload
from imagerepo_tui.records import FileEntry, UploadResult

# Two stages joined by futures: decoders (CPU: validating decode, thumbnail, hash;
# Pillow releases the GIL) and writers (waiting on the server). One pool doing both
# made the threads fall into step: all decoding while the server idled, then all
# writing while the cores idled (measured: 1.71 s for 20 12 MP files; two stages keep
# both busy).
DECODERS = max(2, min(4, os.cpu_count() or 2))
WRITERS = 2
# Files in flight: at least AHEAD whatever their size (each is held whole, and a few
# large photos keep both stages busy), more while they are small, so that a writer
# finds a group ready: up to MAX_AHEAD files or AHEAD_BYTES of them.
AHEAD = DECODERS + WRITERS + 2
MAX_AHEAD = 400
AHEAD_BYTES = 64 * 1024 * 1024
# A writer stores the files that are ready as one group (``store`` is called with
# several), never waiting for more to come: up to GROUP_FILES files or GROUP_BYTES.
# A small file alone is round trips, not bytes; a file of SMALL_FILE or more goes
# alone, as gains from grouping it are nil and a group must not hold many MB.
GROUP_FILES = 100
GROUP_BYTES = 4 * 1024 * 1024
SMALL_FILE = 1024 * 1024

PrepareFile = Callable[[FileEntry], PreparedUpload]
# Stores a group of files; one result per file, in order: an ``UploadResult`` or the
# ``ImageRepoError`` that file failed with (the others stored all the same). Raises
# for a failure of the whole group: ``DatabaseUnavailableError`` stops the batch.
StoreGroup = Callable[[Sequence[PreparedUpload]], list[UploadResult | ImageRepoError]]
_Pending = deque[tuple[FileEntry, Future[UploadResult] | None]]


def run_uploads(
    entries: Iterable[FileEntry], prepare: PrepareFile, store: StoreGroup
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
    held = 0  # bytes of the files in ``pending``
    with (
        ThreadPoolExecutor(DECODERS, thread_name_prefix="upload-decode") as decoders,
        ThreadPoolExecutor(WRITERS, thread_name_prefix="upload-write") as writers,
    ):
        for _ in range(WRITERS):
            writers.submit(batch.write)
        try:
            while True:
                while _room(len(pending), held) and (entry := next(source, None)) is not None:
                    pending.append((entry, batch.start(entry, decoders)))
                    held += entry.size
                if not pending:
                    return
                entry, job = pending.popleft()
                held -= entry.size
                yield _label_in_input_order(_result_of(entry, job), pending, reported)
                batch.forget_done()
        finally:
            batch.close()


def _room(files: int, held: int) -> bool:
    return files < AHEAD or (files < MAX_AHEAD and held < AHEAD_BYTES)


class _Job:
    """One file on its way: its preparation, then its result."""

    def __init__(self, prepared: Future[PreparedUpload]) -> None:
        self.prepared = prepared
        self.result: Future[UploadResult] = Future()

    def size(self) -> int:
        return len(self.prepared.result().data)


class _Batch:
    """The files of one batch in flight, the files prepared and waiting for a writer,
    and what the writers share: whether the caller has stopped reading, and whether
    one of them has found the database gone."""

    def __init__(self, prepare: PrepareFile, store: StoreGroup) -> None:
        self._prepare = prepare
        self._store = store
        self._started: list[_Job] = []
        self._ready: deque[_Job] = deque()
        self._changed = threading.Condition()
        self._lost: list[DatabaseUnavailableError] = []
        self._closed = False

    def start(self, entry: FileEntry, decoders: ThreadPoolExecutor) -> Future[UploadResult] | None:
        """Queue a file for decoding, then writing; ``None`` for one known to be bad."""
        if entry.error:
            return None
        job = _Job(decoders.submit(self._prepare, entry))
        job.prepared.add_done_callback(lambda _: self._queue(job))
        self._started.append(job)
        return job.result

    def forget_done(self) -> None:
        self._started = [job for job in self._started if not job.result.done()]

    def close(self) -> None:
        """Stop: nothing not yet being written will be, and the writers return."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        for job in self._started:
            job.prepared.cancel()
            job.result.cancel()

    def _queue(self, job: _Job) -> None:
        with self._changed:
            self._ready.append(job)
            self._changed.notify()

    def write(self) -> None:
        """A writer thread: store groups of prepared files until the batch closes."""
        while (group := self._next_group()) is not None:
            self._write_group(group)

    def _next_group(self) -> list[_Job] | None:
        """The files ready now, as one group (see GROUP_FILES); a file whose
        preparation failed is settled on the way. None once the batch is closed."""
        with self._changed:
            while True:
                while not self._ready and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return None
                group = self._take_ready()
                if group:
                    return group

    def _take_ready(self) -> list[_Job]:
        group: list[_Job] = []
        size = 0
        while self._ready and len(group) < GROUP_FILES and size < GROUP_BYTES:
            job = self._ready[0]
            if not _prepared_well(job):
                self._ready.popleft()
                continue
            if job.size() >= SMALL_FILE:
                if not group:  # stored alone
                    group.append(self._ready.popleft())
                break  # else by the next writer, alone
            self._ready.popleft()
            group.append(job)
            size += job.size()
        return group

    def _write_group(self, group: list[_Job]) -> None:
        # A file whose result nobody waits for any more (the caller closed) is not
        # stored; one being stored when it closed may still land.
        group = [job for job in group if job.result.set_running_or_notify_cancel()]
        if not group:
            return
        # Once one group has found the database gone, the files queued behind it give
        # up at once: each would otherwise wait out a server-selection timeout.
        if self._lost:
            _fail(group, DatabaseUnavailableError(str(self._lost[0])))
            return
        try:
            results = self._store([job.prepared.result() for job in group])
        except DatabaseUnavailableError as error:
            self._lost.append(error)
            _fail(group, error)
            return
        except BaseException as error:  # every file's result is settled, whatever
            _fail(group, error)
            return
        for job, result in zip(group, results, strict=True):
            if isinstance(result, UploadResult):
                job.result.set_result(result)
            else:
                job.result.set_exception(result)


def _prepared_well(job: _Job) -> bool:
    """True for a file ready to store; a failed preparation is that file's result."""
    if job.prepared.cancelled():
        job.result.cancel()
        return False
    error = job.prepared.exception()
    if error is None:
        return True
    if job.result.set_running_or_notify_cancel():
        job.result.set_exception(error)
    return False


def _fail(group: list[_Job], error: BaseException) -> None:
    for job in group:
        job.result.set_exception(error)


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
