"""``backup``, ``restore --backup`` and ``copy --to/--from``: the CLI side of the one
transfer core (``imagerepo_tui.safekeeping.transfer``): progress on a terminal, one
summary line (or JSON) at the end."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from imagerepo_tui.cli.output import Output, path_text
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.safekeeping.backup_reader import BackupReader
from imagerepo_tui.safekeeping.jobs import LibraryBackup
from imagerepo_tui.safekeeping.transfer import Sink, Source, Summary, transfer
from imagerepo_tui.store.library_writer import LibraryWriter
from imagerepo_tui.store.transfer import Library, LibraryReader
from imagerepo_tui.textsafe import visible
from imagerepo_tui.units import human_size


def _run(source: Source, sink: Sink, out: Output, what: str) -> Summary:
    return _with_progress(
        out,
        what,
        source.totals(),
        lambda advance: transfer(source, sink, advance=advance, report=out.error, note=out.note),
    )


def _with_progress(
    out: Output,
    what: str,
    totals: tuple[int, int],
    work: Callable[[Callable[[float], None]], Summary],
) -> Summary:
    """A bar in bytes when the originals' sizes are known, else in images."""
    images, size = totals
    total, in_bytes = (size, True) if size else (images, False)
    with out.progress(what, total, in_bytes=in_bytes) as advance:

        def step(amount: float) -> None:
            advance(amount if in_bytes else 1)

        return work(step)


def _outcome(summary: Summary) -> str:
    parts = [f"{summary.written} written", f"{summary.skipped} already there"]
    parts += [f"{summary.repaired} repaired"] if summary.repaired else []
    parts += [f"{summary.duplicates} duplicates kept"] if summary.duplicates else []
    parts += [f"{summary.failed} failed"]
    rate = f", {summary.rate:.1f} MB/s" if summary.bytes_written else ""
    return (
        f"{summary.images} images ({summary.trashed} in the trash): {', '.join(parts)}; "
        f"{human_size(summary.bytes_written)} written in {summary.seconds:.1f} s{rate}"
    )


def _finish(out: Output, summary: Summary, line: str, extra: dict[str, object]) -> None:
    if out.as_json:
        out.json({**summary.as_dict(), **extra})
    else:
        out.line(visible(line))


def run_backup(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    folder = Path(args.folder).expanduser()
    backup = LibraryBackup(repo, folder)
    summary = _with_progress(
        out,
        "backing up",
        backup.totals(),
        lambda advance: backup.run(advance=advance, report=out.error, note=out.note),
    )
    line = f"backed up to {path_text(folder)}: " + _outcome(summary)
    _finish(out, summary, line, {"folder": str(folder), "manifest": "manifest.json"})


def run_restore(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    library = Library.of(repo.whole_library("restore a backup"))
    folder = Path(args.backup).expanduser()
    summary = _run(BackupReader(folder), LibraryWriter(library), out, "restoring")
    line = f"restored from {path_text(folder)}: " + _outcome(summary)
    _finish(out, summary, line, {"folder": str(folder)})


@contextlib.contextmanager
def _other_library(uri: str) -> Iterator[Library]:
    library = Library.connect(uri)
    try:
        yield library
    finally:
        library.close()


def run_copy(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    here = Library.of(repo.whole_library("copy the whole library"))
    with _other_library(args.to or args.source) as there:
        if args.to:
            summary = _run(LibraryReader(here), LibraryWriter(there), out, "copying")
            line = f"copied to {there.description}: "
        else:
            summary = _run(LibraryReader(there), LibraryWriter(here), out, "copying")
            line = f"copied from {there.description}: "
    _finish(out, summary, line + _outcome(summary), {"other": there.description})
