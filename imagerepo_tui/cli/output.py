"""How the CLI talks: results on stdout, messages and progress on stderr, and
nothing a file or a user supplied is ever interpreted as markup or terminal control."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from imagerepo_tui.ratings import FAVORITE_MARK, stars
from imagerepo_tui.records import CollectionInfo, ImageInfo
from imagerepo_tui.textsafe import visible, visible_lines
from imagerepo_tui.units import human_size

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
PROGRESS_AFTER_S = 0.5


def _console(stream: TextIO) -> Console:
    # markup/emoji/highlight off: nothing a file or user supplied is ever interpreted.
    return Console(file=stream, markup=False, emoji=False, highlight=False, soft_wrap=True)


class Output:
    """Where a command's results, messages and progress go."""

    def __init__(self, as_json: bool = False) -> None:
        self.as_json = as_json
        self.out = _console(sys.stdout)
        self.err = _console(sys.stderr)
        self.failures = 0
        self._progress: Progress | None = None

    def line(self, text: str | Text) -> None:
        """A result line on stdout (above the progress bar when both are a terminal)."""
        if self._progress is not None and self.out.is_terminal:
            self._progress.console.print(text)
        else:
            self.out.print(text)

    # Messages quote paths, names and server text, each escaped where it is quoted;
    # escaping them again here is the last guard (visible() leaves escapes as they are).
    def error(self, message: str) -> None:
        self.failures += 1
        self.err.print(Text.assemble(("error: ", "bold red"), visible_lines(message)))

    def note(self, message: str) -> None:
        self.err.print(Text(visible_lines(message), style="dim"))

    def json(self, value: Any) -> None:
        # ASCII-only JSON: no raw control or bidi characters reach a terminal.
        sys.stdout.write(json.dumps(value, indent=2) + "\n")

    def json_stream(self, items: Iterable[dict[str, Any]]) -> None:
        """A JSON array written item by item: memory stays flat however long the list."""
        separator = "[\n  "
        for item in items:
            sys.stdout.write(separator + json.dumps(item))
            separator = ",\n  "
        sys.stdout.write("[]\n" if separator.startswith("[") else "\n]\n")

    @contextmanager
    def progress(
        self, description: str, total: float, *, in_bytes: bool = True
    ) -> Iterator[Callable[[float], None]]:
        """Yields ``advance(amount)``; a bar appears on stderr only on a terminal, not
        in --json mode, and only once the work has taken longer than a moment."""
        started = time.monotonic()
        task: TaskID | None = None
        enabled = self.err.is_terminal and not self.as_json
        amounts = (DownloadColumn(), TransferSpeedColumn()) if in_bytes else (MofNCompleteColumn(),)
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            *amounts,
            TimeRemainingColumn(),
            console=self.err,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        done = 0.0

        def advance(amount: float) -> None:
            nonlocal task, done
            done += amount
            if not enabled:
                return
            if task is None and time.monotonic() - started > PROGRESS_AFTER_S:
                progress.start()
                self._progress = progress
                # Whole units: rich types ``completed`` as int (a fraction of one unit is
                # invisible on a bar anyway).
                task = progress.add_task(description, total=total, completed=int(done - amount))
            if task is not None:
                progress.advance(task, amount)

        try:
            yield advance
        finally:
            if self._progress is not None:
                progress.stop()
                self._progress = None


# -- formatting ----------------------------------------------------------------------


def path_text(path: Path | str) -> str:
    return visible(str(path))


OWNER_WIDTH = 12


# How a record the app did not write correctly is marked (``ImageInfo.damaged``).
DAMAGED = "DAMAGED"


def damage_text(problems: Iterable[str]) -> str:
    return "; ".join(visible(problem) for problem in problems)


def _minute(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "????-??-?? ??:??"


def _second(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "unknown"


def listing_line(image: ImageInfo, *, accounts: bool = False) -> Text:
    """One image per line. In a library with accounts, its owner and whether it is
    public or private come after the date; before accounts, only a public image is
    marked (an image is private unless said otherwise)."""
    line = Text(no_wrap=True)
    line.append(visible(image.id), style="cyan")
    line.append(f"  {image.width:>5}x{image.height:<5}", style="green")
    line.append(f" {human_size(image.size):>8}")
    line.append(f"  {_minute(image.created_at)}", style="dim")
    if accounts:
        owner = visible(image.owner_name) or "?"
        line.append(f"  {owner:<{OWNER_WIDTH}}", style="blue")
        line.append(f"  {visibility_marker(image.public):<7}", style=_marker_style(image.public))
    elif image.public:
        line.append(f"  {visibility_marker(True)}", style=_marker_style(True))
    if image.rating or image.favorite:
        line.append(f"  {stars(image.rating)}", style="yellow")
        line.append(FAVORITE_MARK if image.favorite else "", style="red")
    line.append(f"  {visible(image.filename)}", style="bold")
    if image.title:
        line.append(f"  {visible(image.title)}")
    if image.tags:
        line.append("  " + " ".join(f"#{visible(tag)}" for tag in image.tags), style="magenta")
    if image.damaged:
        line.append(f"  {DAMAGED}: {damage_text(image.damaged)}", style="bold red")
    return line


def visibility_marker(public: bool) -> str:
    return "public" if public else "private"


def _marker_style(public: bool) -> str:
    return "yellow" if public else "dim"


def info_table(image: ImageInfo, collection_names: Iterable[str] = ()) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    # Every value from the library passes through visible(): an EXIF key too can
    # hold an escape sequence that retitles the terminal or writes its clipboard.
    rows: list[tuple[str, str]] = [
        ("id", visible(image.id)),
        *((DAMAGED.lower(), visible(problem)) for problem in image.damaged),
        ("filename", visible(image.filename)),
        ("title", visible(image.title)),
        ("description", visible(image.description)),
        ("tags", ", ".join(visible(tag) for tag in image.tags)),
        ("format", visible(f"{image.format} ({image.mime})")),
        (
            "dimensions",
            f"{image.width} x {image.height}"
            + (f", {image.frames} frames" if image.frames > 1 else ""),
        ),
        ("size", f"{human_size(image.size)} ({image.size} bytes)"),
        ("sha256", visible(image.sha256)),
        *([("owner", visible(image.owner_name))] if image.owner_name else []),
        (
            "visibility",
            "public (every user of the library can see it)"
            if image.public
            else "private (only its owner can see it)",
        ),
        ("rating", f"{image.rating} {stars(image.rating)}" if image.rating else "unrated"),
        ("favorite", "yes" if image.favorite else "no"),
        (
            "rotation",
            f"{image.rotation}° clockwise (drawn turned; the original is unchanged)"
            if image.rotation
            else "none",
        ),
        ("created", _second(image.created_at)),
        ("updated", _second(image.updated_at)),
    ]
    names = list(collection_names)
    if names:
        rows.append(("collections", ", ".join(visible(name) for name in names)))
    if image.deleted_at:
        rows.append(("in trash since", image.deleted_at.isoformat(timespec="seconds")))
    rows += [(f"meta {visible(key)}", visible(str(value))) for key, value in _sorted(image.meta)]
    rows += [(f"exif {visible(key)}", visible(str(value))) for key, value in _sorted(image.exif)]
    for key, value in rows:
        table.add_row(Text(key), Text(value))
    return table


def _sorted(values: dict[str, Any]) -> list[tuple[str, Any]]:
    return sorted(values.items(), key=lambda item: item[0])


def collection_line(collection: CollectionInfo) -> Text:
    line = Text(no_wrap=True)
    line.append(f"{collection.count:>7}  ", style="green")
    line.append(visible(collection.name), style="bold")
    if collection.query is not None:
        line.append(f"  [smart] {visible(collection.query)}", style="magenta")
    if collection.description:
        line.append(f"  {visible(collection.description)}", style="dim")
    if collection.damaged:
        line.append(f"  {DAMAGED}: {damage_text(collection.damaged)}", style="bold red")
    return line


def trash_line(image: ImageInfo) -> Text:
    # Only one's own images are in one's trash: no owner column.
    line = listing_line(image)
    if image.deleted_at:
        line.append(f"  deleted {image.deleted_at:%Y-%m-%d %H:%M}", style="red")
    return line
