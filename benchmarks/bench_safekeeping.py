"""Backup, restore, copy and check throughput, as ratios to plain ``gridfs.GridFSBucket``
reads and writes of the same originals on the same servers, measured in the same run.

Two libraries are measured: one made by uploading the folder of 12 MP photos
(``bench_import``'s cache, ``--count``), and the cached search library of
``--library-count`` images (``benchmarks.library``: tiny originals beside full image
documents with thumbnails, so there the per-image cost shows, not the bytes).

From each library (the source server): a backup into a fresh folder, a second backup
into the same folder (nothing changed: incremental), and a check. Into a second
embedded SecantusDB server (a fresh data directory, started as the app starts its
own): a restore of that backup into a fresh database, and a copy into another.
Baselines: every original downloaded with ``GridFSBucket`` from the source (read); the
same bytes written into a fresh database of the second server as the GridFS documents
``GridFSBucket`` writes, chunks then the files document, one file after another
(write); and, for the photos, ``GridFSBucket.upload_from_stream`` itself (bucket).
Before each file that asks ``fs.files`` and ``fs.chunks`` for any one document, which
the embedded server answers by reading the whole collection: its uploads slow down as
the bucket fills (6,432 tiny files took 20 minutes on this machine), so at thousands
of images it measures that question, not writing. The plain inserts are the write
baseline for both libraries; the bucket row shows how they compare on the photos.

The commands' core runs in this process, put together as ``cli/transfers.py`` and
``cli/check_output.py`` do, without the progress bar: the work, not the CLI's start
(about 0.3 s; ``bench_import`` measures that for uploads).

    python -m benchmarks.bench_safekeeping [--count 60] [--rounds 2] [--library-count 100000]
"""

from __future__ import annotations

import argparse
import io
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bson import ObjectId
from gridfs import GridFSBucket
from pymongo import MongoClient

from benchmarks.bench_import import app_upload
from benchmarks.bench_search import ensure_library
from benchmarks.library import CHUNK, ensure_current
from benchmarks.photos import CACHE, make_photo_folder
from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.safekeeping.backup import BackupWriter
from imagerepo_tui.safekeeping.backup_reader import BackupReader
from imagerepo_tui.safekeeping.check import LibraryCheck
from imagerepo_tui.safekeeping.check_results import Problem
from imagerepo_tui.safekeeping.transfer import Sink, Source, Summary, transfer
from imagerepo_tui.store import Store
from imagerepo_tui.store.embedded import client_uri, running_server, stop_server
from imagerepo_tui.store.library_writer import LibraryWriter
from imagerepo_tui.store.transfer import Library, LibraryReader, record_last_backup

# Long enough that the second server outlives a long measure of the source alone; it
# is stopped explicitly at the end anyway.
IDLE_SECONDS = 900


@dataclass
class Original:
    filename: str
    data: bytes


@dataclass
class Measures:
    """One library's figures: seconds per measure, and what was moved."""

    images: int
    megabytes: float
    seconds: dict[str, float] = field(default_factory=dict)


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


# -- baselines: plain GridFS -----------------------------------------------------------------


def plain_read(uri: str) -> list[Original]:
    """Every stored file of the library, as a plain GridFS script reads them: list the
    bucket, read each."""
    client: MongoClient = MongoClient(uri, journal=True)
    try:
        bucket = GridFSBucket(client.get_default_database())
        return [Original(out.filename, out.read()) for out in bucket.find({})]
    finally:
        client.close()


def plain_write(uri: str, originals: list[Original]) -> None:
    """The documents ``GridFSBucket`` writes for the same bytes, file after file: its
    chunks, then the files document that makes it whole. Journaled, like the app."""
    client: MongoClient = MongoClient(uri, journal=True)
    try:
        db = client.get_default_database()
        for original in originals:
            file_id, data = ObjectId(), original.data
            db["fs.chunks"].insert_many(
                {"files_id": file_id, "n": n, "data": data[offset : offset + CHUNK]}
                for n, offset in enumerate(range(0, len(data), CHUNK))
            )
            db["fs.files"].insert_one(
                {
                    "_id": file_id,
                    "length": len(data),
                    "chunkSize": CHUNK,
                    "uploadDate": datetime.now(UTC),
                    "filename": original.filename,
                }
            )
    finally:
        client.close()


def bucket_write(uri: str, originals: list[Original]) -> None:
    """The same bytes, one ``upload_from_stream`` each."""
    client: MongoClient = MongoClient(uri, journal=True)
    try:
        bucket = GridFSBucket(client.get_default_database())
        for original in originals:
            bucket.upload_from_stream(original.filename, io.BytesIO(original.data))
    finally:
        client.close()


# -- the app: the commands' core, in process -------------------------------------------------


@contextmanager
def kept_running(uri: str) -> Iterator[None]:
    """A connection held open: an embedded server stops once idle (the cached library's
    after 30 s), and a restore reads nothing from the library it was backed up from."""
    client: MongoClient = MongoClient(uri)
    client.admin.command("ping")
    try:
        yield
    finally:
        client.close()


@contextmanager
def library_at(uri: str) -> Iterator[Library]:
    library = Library.connect(uri)
    try:
        yield library
    finally:
        library.close()


class Pace:
    """When each image of a transfer was done: whether its rate holds up as the
    destination fills shows in the first and last tenth."""

    def __init__(self) -> None:
        self.marks: list[float] = []

    def advance(self, amount: float) -> None:
        del amount
        self.marks.append(time.perf_counter())

    def describe(self) -> str:
        tenth = len(self.marks) // 10
        if tenth < 10:
            return ""
        first = tenth / (self.marks[tenth] - self.marks[0])
        last = tenth / (self.marks[-1] - self.marks[-1 - tenth])
        return f" (images/s: first tenth {first:.0f}, last tenth {last:.0f})"


PACE = Pace()


def run_transfer(source: Source, sink: Sink) -> Summary:
    """``transfer`` as the CLI runs it: the totals for its progress bar first."""
    source.totals()
    failures: list[str] = []
    PACE.marks.clear()
    summary = transfer(source, sink, advance=PACE.advance, report=failures.append)
    if failures:
        raise RuntimeError(f"{len(failures)} images failed, first: {failures[0]}")
    return summary


def backup(uri: str, folder: Path) -> Summary:
    with library_at(uri) as library:
        writer = BackupWriter(folder, library.description)
        try:
            summary = run_transfer(LibraryReader(library), writer)
        finally:
            writer.close()
        record_last_backup(library, str(folder.resolve()), datetime.now(UTC))
    return summary


def restore(folder: Path, uri: str) -> Summary:
    with library_at(uri) as library:
        return run_transfer(BackupReader(folder), LibraryWriter(library))


def copy(source_uri: str, target_uri: str) -> Summary:
    with library_at(source_uri) as here, library_at(target_uri) as there:
        return run_transfer(LibraryReader(here), LibraryWriter(there))


def check(uri: str) -> int:
    """``check`` without --repair; returns how many problems it found."""
    with library_at(uri) as library:
        store = Store(library.client, library.db, library.description, embedded=False)
        checking = LibraryCheck(store)
        found = sum(isinstance(event, Problem) for event in checking.run())
    return found


# -- one library -----------------------------------------------------------------------------


class Target:
    """The second server: fresh databases on it, each dropped once measured (the
    embedded server slows as its store grows, so each write starts on an empty one)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        ImageRepository.open(
            Settings(data_dir=data_dir, embedded_idle_seconds=IDLE_SECONDS)
        ).close()
        self.client: MongoClient = MongoClient(self.uri("admin"))
        self.client.admin.command("ping")  # a pooled connection: the server is in use

    def uri(self, database: str) -> str:
        uri = client_uri(self.data_dir, database)
        assert uri is not None, "the second server is not running"
        return uri

    def drop(self, database: str) -> None:
        self.client.drop_database(database)

    def stop(self) -> None:
        self.client.close()
        stop_server(self.data_dir)


def expect(summary: Summary, images: int, outcome: str) -> None:
    done = summary.skipped if outcome == "skipped" else summary.written
    if summary.images != images or done != images:
        raise RuntimeError(f"expected {images} images {outcome}: {summary.as_dict()}")


def measure_library(uri: str, target: Target, work: Path, label: str, *, bucket: bool) -> Measures:
    """Every measure once, on the library at ``uri``; its backups go under ``work``."""
    originals: list[Original] = []
    folder = work / f"backup-{label}"
    summaries: dict[str, Summary] = {}
    problems: list[int] = []
    times: dict[str, float] = {}

    def measure(key: str, job: Callable[[], object]) -> None:
        PACE.marks.clear()
        times[key] = timed(job)
        print(f"  {label}: {key} {times[key]:.2f} s{PACE.describe()}", flush=True)

    measure("read", lambda: originals.extend(plain_read(uri)))
    measure("backup", lambda: summaries.update(backup=backup(uri, folder)))
    measure("backup again", lambda: summaries.update(again=backup(uri, folder)))
    measure("check", lambda: problems.append(check(uri)))
    writes: dict[str, Callable[[str], object]] = {
        "write": lambda db: plain_write(target.uri(db), originals),
        "restore": lambda db: summaries.update(restore=restore(folder, target.uri(db))),
        "copy": lambda db: summaries.update(copy=copy(uri, target.uri(db))),
    }
    if bucket:
        writes["bucket"] = lambda db: bucket_write(target.uri(db), originals)
    for key, write in writes.items():
        database = key.replace(" ", "_")
        measure(key, lambda write=write, database=database: write(database))
        target.drop(database)
    shutil.rmtree(folder)
    verify(summaries, problems[0], len(originals), label)
    return Measures(len(originals), sum(len(o.data) for o in originals) / 1e6, times)


def verify(summaries: dict[str, Summary], problems: int, images: int, label: str) -> None:
    """Every image went where it should: a figure for less work is no figure."""
    expect(summaries["backup"], images, "written")
    expect(summaries["again"], images, "skipped")
    expect(summaries["restore"], images, "written")
    expect(summaries["copy"], images, "written")
    if problems:
        raise RuntimeError(f"check found {problems} problems in the {label} library")


def best_of(rounds: list[Measures]) -> Measures:
    first = rounds[0]
    best = {key: min(r.seconds[key] for r in rounds) for key in first.seconds}
    return Measures(first.images, first.megabytes, best)


def photo_library(count: int, rounds: int, target: Target, work: Path) -> Measures:
    """The photos uploaded by the app into a fresh embedded library, then measured."""
    cached = make_photo_folder(CACHE / "photos12mp", count)[:count]
    folder = work / "photos"
    folder.mkdir()
    for path in cached:  # exactly --count files (the cache may hold more)
        shutil.copyfile(path, folder / path.name)
    data_dir = work / "photo-library"
    ImageRepository.open(Settings(data_dir=data_dir, embedded_idle_seconds=IDLE_SECONDS)).close()
    try:
        uri = client_uri(data_dir, "photos")
        assert uri is not None
        app_upload(uri, folder)
        with kept_running(uri):
            measures = [
                measure_library(uri, target, work, "photos", bucket=True) for _ in range(rounds)
            ]
        return best_of(measures)
    finally:
        stop_server(data_dir)


def large_library(count: int, target: Target, work: Path) -> Measures:
    """The cached library of ``count`` images (made once, kept under benchmarks/.data)."""
    data_dir = CACHE / f"library{count}"
    was_running = running_server(data_dir) is not None
    uri, repo = ensure_library(count, None)
    repo.close()  # the measures connect with plain pymongo, as the commands do
    try:
        if ensure_current(uri):
            print(f"(the cached {count:,}-image library was made again: an older generator)")
        with kept_running(uri):
            return measure_library(uri, target, work, "library", bucket=False)
    finally:
        if not was_running:
            stop_server(data_dir)


# -- output ----------------------------------------------------------------------------------

# (label, key, baselines the ratio is taken against)
ROWS: list[tuple[str, str, tuple[str, ...]]] = [
    ("plain GridFSBucket download (read)", "read", ()),
    ("plain GridFS inserts (write)", "write", ()),
    ("plain GridFSBucket upload (bucket)", "bucket", ("write",)),
    ("backup into a fresh folder", "backup", ("read",)),
    ("backup again, nothing changed", "backup again", ("read",)),
    ("check", "check", ("read",)),
    ("restore --backup into a fresh database", "restore", ("write", "bucket")),
    ("copy --to a fresh database", "copy", ("write", "read+write", "bucket")),
]
RATIOS = ("read", "write", "read+write", "bucket")


def print_table(title: str, measures: Measures) -> None:
    seconds = measures.seconds
    base = {**seconds, "read+write": seconds["read"] + seconds["write"]}
    print(f"\n{title}")
    header = f"{'measure':<40}{'seconds':>9}{'images/s':>10}{'MB/s':>8}"
    shown = [name for name in RATIOS if name in base]
    print(header + "".join(f"{'vs ' + name:>15}" for name in shown))
    for label, key, against in ROWS:
        if key not in seconds:
            continue
        took = seconds[key]
        line = (
            f"{label:<40}{took:>9.2f}{measures.images / took:>10.1f}"
            f"{measures.megabytes / took:>8.2f}"
        )
        for name in shown:
            line += f"{base[name] / took:>15.2f}" if name in against else " " * 15
        print(line.rstrip())


def run_all(args: argparse.Namespace, work: Path) -> list[tuple[str, Measures]]:
    results: list[tuple[str, Measures]] = []
    target = Target(work / "target")
    try:
        if args.count:
            photos = photo_library(args.count, args.rounds, target, work)
            title = f"{photos.images} JPEGs of 12 MP uploaded by the app, {photos.megabytes:.1f} MB"
            results.append((f"{title}, best of {args.rounds} rounds", photos))
        if args.library_count:
            large = large_library(args.library_count, target, work)
            title = f"the cached library: {large.images:,} images, tiny originals"
            results.append(
                (
                    f"{title} ({large.megabytes:.1f} MB) beside documents with thumbnails, once",
                    large,
                )
            )
    finally:
        target.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60, help="photos in the first library")
    parser.add_argument("--rounds", type=int, default=2, help="rounds on the photos (best of)")
    parser.add_argument(
        "--library-count",
        type=int,
        default=100_000,
        help="images in the cached large library, measured once (0 skips it)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-safekeeping-") as tmp:
        results = run_all(args, Path(tmp))
    print(
        "embedded SecantusDB, journaled writes; reads from the library's server, writes "
        "into a second embedded server; the commands' core in process"
    )
    for title, measures in results:
        print_table(title, measures)
    print(
        "\nMB/s and images/s: the library's originals over the measure's seconds (a backup "
        "that writes nothing still covers them all)."
        "\nratio = app throughput / baseline throughput = baseline seconds / app seconds "
        "(1.0 = as fast as plain GridFS; higher is faster). Baselines: read = GridFSBucket "
        "download of every original from the library; write = the same bytes inserted as "
        "GridFS documents into a fresh database; read+write = the two, what a plain GridFS "
        "copy costs; bucket = GridFSBucket.upload_from_stream (photos only: see the module)."
    )


if __name__ == "__main__":
    main()
