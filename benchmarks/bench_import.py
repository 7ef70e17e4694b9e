"""Upload and download throughput for a folder of 12-megapixel JPEGs, as ratios to
plain ``gridfs.GridFSBucket`` on the same server, measured in the same run.

The app does more than the baseline (hashing, a validating decode, EXIF, thumbnail,
metadata document, journaled claims); the ratio shows what that costs once the
pipeline overlaps it with the writes. Both sides use journaled writes, which the app
requires. The app keeps a few files in flight at once, so a second baseline does
plain GridFS uploads from two threads too. Each round writes into fresh databases,
because the embedded server slows down as its store grows.

    python -m benchmarks.bench_import [--count 20] [--rounds 2]
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

from gridfs import GridFSBucket
from pymongo import MongoClient

from benchmarks.photos import CACHE, make_photo_folder
from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository, find_upload_files
from imagerepo_tui.store.embedded import read_state


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
    )


def run_round(
    client: MongoClient, base: str, photos: list[Path], folder: Path, out: Path, number: int
) -> dict[str, float]:
    names = {kind: f"{kind}_{number}" for kind in ("raw", "raw2", "app", "cli")}
    raw_ids: list = []
    app_ids: list[str] = []
    times = {
        "raw up": timed(lambda: raw_ids.extend(raw_upload(client, names["raw"], photos, 1))),
        "raw up 2 threads": timed(lambda: raw_upload(client, names["raw2"], photos, 2)),
        "app up": timed(lambda: app_ids.extend(app_upload(base + names["app"], folder))),
        "cli up": timed(lambda: cli_upload(base + names["cli"], folder)),
        "raw down": timed(lambda: raw_download(client, names["raw"], raw_ids, out / "raw")),
        "app down": timed(lambda: app_download(base + names["app"], app_ids, out / "app")),
    }
    for name in names.values():
        client.drop_database(name)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    cached = make_photo_folder(CACHE / "photos12mp", args.count)[: args.count]
    megabytes = sum(p.stat().st_size for p in cached) / 1e6
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        work = Path(tmp)
        folder = work / "photos"
        folder.mkdir()
        for path in cached:  # exactly --count real files (the cache may hold more)
            (folder / path.name).write_bytes(path.read_bytes())
        photos = sorted(folder.iterdir())
        starter = ImageRepository.open(Settings(data_dir=work / "lib", embedded_idle_seconds=5))
        base = str(read_state(work / "lib")["uri"])
        client: MongoClient = MongoClient(base, journal=True, directConnection=True)
        for number in range(args.rounds):
            rounds.append(run_round(client, base, photos, folder, work / f"out{number}", number))
        client.close()
        starter.close()
    best = {key: min(r[key] for r in rounds) for key in rounds[0]}
    print(
        f"{len(photos)} JPEGs of 12 MP, {megabytes:.1f} MB, best of {args.rounds} rounds, "
        "embedded SecantusDB, journaled writes\n"
    )
    print(f"{'measure':<38}{'seconds':>9}{'files/s':>9}{'MB/s':>8}{'ratio':>8}")
    for label, key, baseline in (
        ("raw GridFSBucket upload (baseline)", "raw up", "raw up"),
        ("raw GridFSBucket upload, 2 threads", "raw up 2 threads", "raw up"),
        ("app upload (repository)", "app up", "raw up"),
        ("app upload (CLI process, -r)", "cli up", "raw up"),
        ("raw GridFSBucket download (baseline)", "raw down", "raw down"),
        ("app download (export to files)", "app down", "raw down"),
    ):
        seconds = best[key]
        print(
            f"{label:<38}{seconds:>9.2f}{len(photos) / seconds:>9.1f}"
            f"{megabytes / seconds:>8.1f}{best[baseline] / seconds:>8.2f}"
        )
    print(
        "\nratio = baseline seconds / measured seconds (1.0 = as fast as plain GridFS, "
        "higher is faster)"
    )


if __name__ == "__main__":
    main()
