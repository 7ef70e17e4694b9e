"""``copy --from URI --bucket NAME``: import another application's GridFS bucket.

Thin: the work is in ``imagerepo_tui.safekeeping.bucket_import``; this prints a line
per image as ``upload`` does, one error line per refused file, and a summary.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable
from typing import Any

from rich.text import Text

from imagerepo_tui.cli.output import Output
from imagerepo_tui.cli.parser import UsageError
from imagerepo_tui.errors import ImageRepoError
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.safekeeping.bucket_import import (
    DEFAULT_SOURCE_DATABASE,
    BucketImport,
    ImportResult,
    bucket_name_problem,
)
from imagerepo_tui.textsafe import visible

MAX_NOTES = 200
OTHER_NOTES = "other notes (see --json for each file's)"


def _line(result: ImportResult) -> Text:
    assert result.upload.image is not None
    line = Text.assemble((result.upload.image.id, "cyan"), "  ", visible(result.filename))
    if result.upload.status == "duplicate":
        line.append("  (duplicate)", style="yellow")
    return line


def _record(result: ImportResult) -> dict[str, Any]:
    upload = result.upload
    return {
        "source_id": result.source_id,
        "filename": result.filename,
        "status": upload.status,
        "id": upload.image.id if upload.image else None,
        "error": upload.error,
        "notes": list(result.notes),
    }


def _report(result: ImportResult, out: Output) -> None:
    if result.upload.status == "error":
        where = f"{visible(result.filename)} (id {visible(result.source_id)})"
        out.error(f"{where}: {result.upload.error}")
    elif not out.as_json:
        out.line(_line(result))


def _count_notes(notes: Counter[str], new: Iterable[str]) -> None:
    """Notes name fields, so a bucket has few distinct ones; a bucket whose every
    file has fields of its own is not let grow the tally without bound."""
    for note in new:
        notes[note if note in notes or len(notes) < MAX_NOTES else OTHER_NOTES] += 1


def _start_note(run: BucketImport, bucket: str, out: Output) -> None:
    where = f"GridFS bucket {visible(bucket)!r} of {run.description}"
    if run.default_database:
        where += f" (the URI names no database: MongoDB's default {DEFAULT_SOURCE_DATABASE!r})"
    out.note(f"importing {where}")


def cmd_copy_bucket(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    problem = bucket_name_problem(args.bucket)
    if problem:
        raise UsageError(problem)
    counts: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    records: list[dict[str, Any]] = []
    stopped: ImageRepoError | None = None
    with BucketImport(repo, args.source, args.bucket) as run:
        _start_note(run, args.bucket, out)
        with out.progress("importing", run.estimated_count(), in_bytes=False) as advance:
            try:
                for result in run.results():
                    counts[result.upload.status] += 1
                    _count_notes(notes, result.notes)
                    records.append(_record(result))
                    _report(result, out)
                    advance(1)
            except ImageRepoError as error:  # either database gone, or the list unreadable
                stopped = error
    if stopped is not None:
        out.error(f"{stopped}; stopped after {len(records)} file(s)")
    for note, times in sorted(notes.items()):
        out.note(f"{times} file(s): {note}")
    if out.as_json:
        out.json(records)
    out.note(
        f"{counts['created']} imported, {counts['duplicate']} duplicate(s) already here, "
        f"{counts['error']} refused"
    )
