"""The upload pipeline: decoder threads prepare files while writer threads store them,
small files in groups.

It knows nothing of the library: ``ImageRepository.upload_files`` hands it a
``prepare`` callable (read, validate, decode, hash: CPU work), a ``reserve`` callable
(upload sequence numbers) and a ``store`` callable (write a group of prepared files
to the database: waiting on the server), and reads the results back in input order.

Upload numbers (``seq``, the gallery's "newest first") follow the input order too:
groups are contiguous runs of the input, formed in order, and each group reserves
its numbers only once the groups formed before it have reserved theirs.
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
# several), never waiting for more to come: up to GROUP_FILES files or GROUP_BYTES,
# the run of prepared files that comes next in input order (a file prepared early
# waits for those before it, so that its upload number comes after theirs).
# A small file alone is round trips, not bytes; a file of SMALL_FILE or more goes
# alone, as gains from grouping it are nil and a group must not hold many MB.
GROUP_FILES = 100
GROUP_BYTES = 4 * 1024 * 1024
SMALL_FILE = 1024 * 1024

PrepareFile = Callable[[FileEntry], PreparedUpload]
# Reserves ``n`` consecutive upload sequence numbers; returns the first of them.
ReserveSeqs = Callable[[int], int]
# Stores a group of files, the group's file ``i`` numbered ``first_seq + i``; one
# result per file, in order: an ``UploadResult`` or the ``ImageRepoError`` that file
# failed with (the others stored all the same). Raises for a failure of the whole
# group: ``DatabaseUnavailableError`` stops the batch.
StoreGroup = Callable[[Sequence[PreparedUpload], int], list[UploadResult | ImageRepoError]]
_Pending = deque[tuple[FileEntry, Future[UploadResult] | None]]


def run_uploads(
    entries: Iterable[FileEntry], prepare: PrepareFile, reserve: ReserveSeqs, store: StoreGroup
) -> Iterator[UploadResult]:
    """Yield each file's result in input order, as soon as it is stored.

    Every entry is reported exactly once: a bad file (or one ``prepare`` or ``store``
    rejects with an ``ImageRepoError``) is an ``error`` result and the rest go on.
    A ``DatabaseUnavailableError`` is raised (after yielding what was done) so the
    caller stops the batch. Closing the generator early stores nothing more. The
    files stored are numbered (``reserve``) in input order; a failed file's number
    stays unused.
    """
    batch = _Batch(prepare, reserve, store)
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

    def __init__(self, position: int, prepared: Future[PreparedUpload]) -> None:
        self.position = position  # among the batch's jobs, in input order
        self.prepared = prepared
        self.result: Future[UploadResult] = Future()

    def size(self) -> int:
        return len(self.prepared.result().data)


class _Batch:
    """The files of one batch in flight, the files prepared and waiting for a writer,
    and what the writers share: whether the caller has stopped reading, whether one
    of them has found the database gone, and whose turn it is to reserve numbers."""

    def __init__(self, prepare: PrepareFile, reserve: ReserveSeqs, store: StoreGroup) -> None:
        self._prepare = prepare
        self._reserve = reserve
        self._store = store
        self._started: list[_Job] = []
        self._positions = 0  # jobs started
        # Prepared jobs by position; writers take them from ``_next`` on, in order.
        self._ready: dict[int, _Job] = {}
        self._next = 0
        # Each group's ticket, in the order groups are formed; ``_turn`` is the
        # ticket whose group reserves its numbers next.
        self._tickets = 0
        self._turn = 0
        self._changed = threading.Condition()
        self._lost: list[DatabaseUnavailableError] = []
        self._closed = False

    def start(self, entry: FileEntry, decoders: ThreadPoolExecutor) -> Future[UploadResult] | None:
        """Queue a file for decoding, then writing; ``None`` for one known to be bad."""
        if entry.error:
            return None
        job = _Job(self._positions, decoders.submit(self._prepare, entry))
        self._positions += 1
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
            self._ready[job.position] = job
            self._changed.notify_all()

    def write(self) -> None:
        """A writer thread: store groups of prepared files until the batch closes."""
        while (formed := self._next_group()) is not None:
            ticket, group = formed
            self._write_group(ticket, group)

    def _next_group(self) -> tuple[int, list[_Job]] | None:
        """The files ready now that come next in input order, as one group (see
        GROUP_FILES) with its ticket; a file whose preparation failed is settled on
        the way. None once the batch is closed."""
        with self._changed:
            while True:
                while self._next not in self._ready and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return None
                group = self._take_ready()
                if group:
                    self._tickets += 1
                    return self._tickets - 1, group

    def _take_ready(self) -> list[_Job]:
        group: list[_Job] = []
        size = 0
        while self._next in self._ready and len(group) < GROUP_FILES and size < GROUP_BYTES:
            job = self._ready[self._next]
            if not _prepared_well(job):
                del self._ready[self._next]
                self._next += 1
                continue
            if job.size() >= SMALL_FILE and group:
                break  # by the next writer, alone
            del self._ready[self._next]
            self._next += 1
            group.append(job)
            if job.size() >= SMALL_FILE:
                break  # stored alone
            size += job.size()
        return group

    def _write_group(self, ticket: int, group: list[_Job]) -> None:
        # A file whose result nobody waits for any more (the caller closed) is not
        # stored; one being stored when it closed may still land.
        group = [job for job in group if job.result.set_running_or_notify_cancel()]
        try:  # the turn is passed on even for a group left with nothing to store
            # Once one group has found the database gone, the files queued behind it
            # give up at once: each would otherwise wait out a server-selection timeout.
            if self._lost and group:
                _fail(group, DatabaseUnavailableError(str(self._lost[0])))
                group = []
            first_seq = self._reserve_in_turn(ticket, len(group))
            if not group:
                return
            results = self._store([job.prepared.result() for job in group], first_seq)
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

    def _reserve_in_turn(self, ticket: int, count: int) -> int:
        """Wait until the groups formed before this one have reserved their numbers,
        reserve ``count`` (none for a group left empty), then let the next group go:
        whatever happens, so a failed reservation holds up nobody."""
        with self._changed:
            while self._turn != ticket:
                self._changed.wait()
        try:
            return self._reserve(count) if count else 0
        finally:
            with self._changed:
                self._turn += 1
                self._changed.notify_all()


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
