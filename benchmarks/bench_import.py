"""Upload and download throughput for a folder of 12-megapixel JPEGs, as ratios to
plain ``gridfs.GridFSBucket`` on the same server, measured in the same run.

The app does more than the baseline (hashing, a validating decode, EXIF, thumbnail,
metadata document, journaled claims); the ratio shows what that costs once the
pipeline overlaps it with the writes. Both sides use journaled writes, which the app
requires. The app keeps a few files in flight at once, so a second baseline does
plain GridFS uploads from two threads too. Each round writes into fresh databases,
because the embedded server slows down as its store grows.

A last measure uploads a few of the photos into the large cached search library
(``--into-library``, built once like ``bench_search`` builds it), where what a
write costs beside the library's size shows; what it added is removed afterwards.

Small files are bound by round trips, not bytes: ``--small-count`` distinct 96×64
PNGs (cached) go through ``upload -r`` as a CLI process, against the floor of
storing the same bytes as GridFS documents with journaled inserts of 100 files
each, on the same server in the same run.

    python -m benchmarks.bench_import [--count 60] [--rounds 2] [--into-library 100000]
        [--small-count 1000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bson import ObjectId
from gridfs import GridFSBucket
from pymongo import MongoClient

from benchmarks.bench_search import ensure_library
from benchmarks.goals import report_goal
from benchmarks.photos import CACHE, make_photo_folder, make_small_pngs
from benchmarks.timing import user_environment
from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository, find_upload_files
from imagerepo_tui.store.embedded import client_uri
from imagerepo_tui.store.originals import GRIDFS_CHUNK_BYTES as CHUNK


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def raw_upload(client: MongoClient, db_name: str, photos: list[Path], threads: int) -> list:
    bucket = GridFSBucket(client[db_name])

    def one(path: Path) -> object:
        with path.open("rb") as handle:
            return bucket.upload_from_stream(path.name, handle)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, photos))


def raw_inserts(client: MongoClient, db_name: str, photos: list[Path]) -> None:
    """The same GridFS documents written with plain inserts: no per-file check of
    whether the bucket is empty, which GridFSBucket makes and the app does not. The
    floor under any GridFS upload to this server."""
    db = client[db_name]
    for path in photos:
        data = path.read_bytes()
        file_id = ObjectId()
        db["fs.chunks"].insert_many(
            {"files_id": file_id, "n": n, "data": data[offset : offset + CHUNK]}
            for n, offset in enumerate(range(0, len(data), CHUNK))
        )
        db["fs.files"].insert_one(
            {"_id": file_id, "length": len(data), "chunkSize": CHUNK, "filename": path.name}
        )


def batched_inserts(client: MongoClient, db_name: str, paths: list[Path], per: int) -> None:
    """The GridFS documents of small files, ``per`` files to each insert of chunks and
    each insert of files documents: the floor under storing many small files."""
    db = client[db_name]
    for start in range(0, len(paths), per):
        chunks, files = [], []
        for path in paths[start : start + per]:
            data = path.read_bytes()
            file_id = ObjectId()
            chunks += [
                {"files_id": file_id, "n": n, "data": data[offset : offset + CHUNK]}
                for n, offset in enumerate(range(0, len(data), CHUNK))
            ]
            files.append(
                {"_id": file_id, "length": len(data), "chunkSize": CHUNK, "filename": path.name}
            )
        db["fs.chunks"].insert_many(chunks)
        db["fs.files"].insert_many(files)


def with_image_documents(client: MongoClient, source: str, target: str, per: int) -> float:
    """Seconds to insert the image documents the app wrote into ``source`` again, ``per``
    to an insert, into ``target`` with the same indexes: what the server spends on
    the documents alone (the app has 25 indexes on them; GridFS has 2)."""
    docs = list(client[source]["images"].find())
    images = client[target]["images"]
    for name, info in client[source]["images"].index_information().items():
        if name != "_id_":
            images.create_index(list(info["key"]), unique=bool(info.get("unique")), name=name)
    started = time.perf_counter()
    for start in range(0, len(docs), per):
        images.insert_many(docs[start : start + per])
    return time.perf_counter() - started


def small_files(client: MongoClient, library: Path, count: int, rounds: int) -> dict[str, float]:
    """Best of ``rounds``: seconds for the batched-insert floor and for the CLI's
    ``upload -r`` of ``count`` small PNGs, each into a fresh database, and for the
    image documents alone; and their bytes."""
    paths = make_small_pngs(CACHE / "small96x64", count)[:count]
    best = {"floor": float("inf"), "cli": float("inf"), "documents": float("inf")}
    with tempfile.TemporaryDirectory(prefix="bench-small-") as tmp:
        folder = Path(tmp) / "small"
        folder.mkdir()
        for path in paths:  # exactly --small-count files (the cache may hold more)
            (folder / path.name).write_bytes(path.read_bytes())
        copied = sorted(folder.iterdir())
        # Untimed: the first start of a child compiles the bytecode (``user_environment``).
        warm = Path(tmp) / "warm"
        warm.mkdir()
        (warm / copied[0].name).write_bytes(copied[0].read_bytes())
        cli_upload(str(client_uri(library, "small_warm")), warm)
        client.drop_database("small_warm")
        for number in range(rounds):
            names = [f"small_{kind}_{number}" for kind in ("floor", "cli", "docs")]
            cli_uri = str(client_uri(library, names[1]))
            times = {
                "floor": timed(lambda db=names[0]: batched_inserts(client, db, copied, 100)),
                "cli": timed(lambda uri=cli_uri: cli_upload(uri, folder)),
            }
            stored = client[names[1]]["images"].count_documents({})
            assert stored == count, f"the CLI stored {stored} of {count} files"
            times["documents"] = with_image_documents(client, names[1], names[2], 100)
            best = {key: min(best[key], times[key]) for key in best}
            for name in names:
                client.drop_database(name)
    return best | {"bytes": sum(path.stat().st_size for path in paths)}


def raw_download(client: MongoClient, db_name: str, ids: list, folder: Path) -> None:
    bucket = GridFSBucket(client[db_name])
    folder.mkdir(parents=True)
    for index, file_id in enumerate(ids):
        (folder / f"{index}.jpg").write_bytes(bucket.open_download_stream(file_id).read())


def app_upload(uri: str, folder: Path) -> list[str]:
    repo = ImageRepository.open(Settings(db_uri=uri))
    try:
        results = list(repo.upload_files(find_upload_files([folder], recursive=True)))
    finally:
        repo.close()
    assert all(r.status == "created" for r in results), [r.error for r in results]
    return [r.image.id for r in results if r.image]


def app_download(uri: str, ids: list[str], folder: Path) -> None:
    folder.mkdir(parents=True)
    repo = ImageRepository.open(Settings(db_uri=uri))
    try:
        for image_id in ids:
            repo.export(image_id, folder)
    finally:
        repo.close()


def cli_upload(uri: str, folder: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "imagerepo_tui", "--db", uri, "upload", "-r", str(folder), "--json"],
        check=True,
        stdout=subprocess.DEVNULL,
        env=user_environment(),
    )


def run_round(
    client: MongoClient, library: Path, photos: list[Path], folder: Path, out: Path, number: int
) -> dict[str, float]:
    names = {kind: f"{kind}_{number}" for kind in ("raw", "raw2", "inserts", "app", "cli")}
    app_uri, cli_uri = (
        str(client_uri(library, names["app"])),
        str(client_uri(library, names["cli"])),
    )
    raw_ids: list = []
    app_ids: list[str] = []
    times = {
        "raw up": timed(lambda: raw_ids.extend(raw_upload(client, names["raw"], photos, 1))),
        "raw up 2 threads": timed(lambda: raw_upload(client, names["raw2"], photos, 2)),
        "raw inserts": timed(lambda: raw_inserts(client, names["inserts"], photos)),
        "app up": timed(lambda: app_ids.extend(app_upload(app_uri, folder))),
        "cli up": timed(lambda: cli_upload(cli_uri, folder)),
        "raw down": timed(lambda: raw_download(client, names["raw"], raw_ids, out / "raw")),
        "app down": timed(lambda: app_download(app_uri, app_ids, out / "app")),
    }
    for name in names.values():
        client.drop_database(name)
    return times


def into_library(size: int, photos: list[Path], folder: Path) -> dict[str, float]:
    """Upload ``photos`` (all in ``folder``) into the cached ``size``-image library,
    plainly and through the app, then take both out again."""
    uri, repo = ensure_library(size, None)
    repo.close()  # app_upload opens its own: one mongoengine connection per process
    client: MongoClient = MongoClient(uri, journal=True)
    db = client.get_default_database()
    raw_ids: list = []
    app_ids: list[str] = []
    try:
        times = {
            "raw into": timed(lambda: raw_ids.extend(raw_upload(client, db.name, photos, 1))),
            "app into": timed(lambda: app_ids.extend(app_upload(uri, folder))),
        }
    finally:
        bucket = GridFSBucket(db)
        for file_id in raw_ids:
            bucket.delete(file_id)
        repo = ImageRepository.open(Settings(db_uri=uri))
        for image_id in app_ids:
            repo.delete(image_id)
            repo.purge(image_id)
        repo.close()
        client.close()
    return times


def print_row(label: str, seconds: float, files: int, megabytes: float, baseline: float) -> None:
    print(
        f"{label:<38}{seconds:>9.2f}{files / seconds:>9.1f}"
        f"{megabytes / seconds:>8.1f}{baseline / seconds:>8.2f}"
    )


def print_small(count: int, rounds: int, small: dict[str, float]) -> None:
    megabytes = small["bytes"] / 1e6
    floor, app = small["floor"], small["cli"]
    print(
        f"{count:,} PNGs of 96×64, {megabytes:.1f} MB, best of {rounds} rounds, "
        "embedded SecantusDB, journaled writes\n"
    )
    print(f"{'measure':<38}{'seconds':>9}{'files/s':>9}{'MB/s':>8}{'ratio':>8}")
    print_row("batched inserts, 100 files each (floor)", floor, count, megabytes, floor)
    print_row("app upload (CLI process, -r)", app, count, megabytes, floor)
    print_row("image documents alone, 100 each", small["documents"], count, megabytes, floor)
    print(
        "\n(image documents alone: the documents the app wrote, inserted again 100 to an\n"
        " insert into a collection with the same 25 indexes: a server cost the floor does\n"
        " not pay and the app cannot avoid; MB/s there counts the files' bytes)\n"
    )
    report_goal(
        f"import of {count:,} small PNGs, share of batched inserts",
        floor / app,
        0.1,
        at_least=True,
        note=f"floor {floor:.2f} s, CLI {app:.2f} s, documents {small['documents']:.2f} s",
    )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--into-library",
        type=int,
        default=100_000,
        help="size of the library the last measure uploads into (0 skips it)",
    )
    parser.add_argument("--into-count", type=int, default=5, help="photos it uploads")
    parser.add_argument(
        "--small-count",
        type=int,
        default=1000,
        help="small PNGs imported against batched inserts (0 skips it)",
    )
    args = parser.parse_args()
    cached = make_photo_folder(CACHE / "photos12mp", args.count)[: args.count]
    megabytes = sum(p.stat().st_size for p in cached) / 1e6
    rounds: list[dict[str, float]] = []
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        work = Path(tmp)
        folder = work / "photos"
        folder.mkdir()
        for path in cached:  # exactly --count real files (the cache may hold more)
            (folder / path.name).write_bytes(path.read_bytes())
        photos = sorted(folder.iterdir())
        starter = ImageRepository.open(Settings(data_dir=work / "lib", embedded_idle_seconds=5))
        client: MongoClient = MongoClient(str(client_uri(work / "lib")), journal=True)
        for number in range(args.rounds if args.count else 0):
            rounds.append(
                run_round(client, work / "lib", photos, folder, work / f"out{number}", number)
            )
        if rounds:
            best = {key: min(r[key] for r in rounds) for key in rounds[0]}
        if args.small_count:
            small = small_files(client, work / "lib", args.small_count, args.rounds)
        client.close()
        starter.close()
        if args.into_library and args.count:
            few = folder.parent / "few"
            few.mkdir()
            for path in photos[: args.into_count]:
                (few / path.name).write_bytes(path.read_bytes())
            best |= into_library(args.into_library, sorted(few.iterdir()), few)
    if args.small_count:
        print_small(args.small_count, args.rounds, small)
    if not rounds:
        return
    print(
        f"{len(photos)} JPEGs of 12 MP, {megabytes:.1f} MB, best of {args.rounds} rounds, "
        "embedded SecantusDB, journaled writes\n"
    )
    print(f"{'measure':<38}{'seconds':>9}{'files/s':>9}{'MB/s':>8}{'ratio':>8}")
    for label, key, baseline in (
        ("raw GridFSBucket upload (baseline)", "raw up", "raw up"),
        ("raw GridFSBucket upload, 2 threads", "raw up 2 threads", "raw up"),
        ("raw inserts of the same chunks", "raw inserts", "raw up"),
        ("app upload (repository)", "app up", "raw up"),
        ("app upload (CLI process, -r)", "cli up", "raw up"),
        ("raw GridFSBucket download (baseline)", "raw down", "raw down"),
        ("app download (export to files)", "app down", "raw down"),
    ):
        print_row(label, best[key], len(photos), megabytes, best[baseline])
    if "app into" in best:
        few = cached[: args.into_count]
        few_mb = sum(p.stat().st_size for p in few) / 1e6
        print(f"\ninto the {args.into_library:,}-image library, {len(few)} of the photos, once:")
        print_row(
            "raw GridFSBucket upload (baseline)",
            best["raw into"],
            len(few),
            few_mb,
            best["raw into"],
        )
        print_row("app upload (repository)", best["app into"], len(few), few_mb, best["raw into"])
    print(
        "\nratio = baseline seconds / measured seconds (1.0 = as fast as plain GridFS, "
        "higher is faster)"
    )


if __name__ == "__main__":
    main()
