"""The one entry point: no subcommand opens the TUI, a subcommand is the scripting CLI.

Exit status: 0 all went well, 1 some item failed (the rest were still done),
2 usage error. Output meant for scripts goes to stdout; messages, errors and
progress go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from imagerepo_tui import __version__
from imagerepo_tui.config import Settings
from imagerepo_tui.errors import DatabaseUnavailableError, ImageRepoError
from imagerepo_tui.repository import (
    ImageInfo,
    ImageQuery,
    ImageRepository,
    NewMetadata,
    UploadResult,
    find_upload_files,
)
from imagerepo_tui.textsafe import visible

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
PROGRESS_AFTER_S = 0.5


class UsageError(Exception):
    """A mistake in how the command was called: exit status 2."""


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

    def error(self, message: str) -> None:
        self.failures += 1
        self.err.print(Text.assemble(("error: ", "bold red"), message))

    def note(self, message: str) -> None:
        self.err.print(Text(message, style="dim"))

    def json(self, value: Any) -> None:
        # ASCII-only JSON: no raw control or bidi characters reach a terminal.
        sys.stdout.write(json.dumps(value, indent=2) + "\n")

    @contextmanager
    def progress(self, description: str, total: float) -> Iterator[Callable[[float], None]]:
        """Yields ``advance(amount)``; a bar appears on stderr only on a terminal, not
        in --json mode, and only once the work has taken longer than a moment."""
        started = time.monotonic()
        task: TaskID | None = None
        enabled = self.err.is_terminal and not self.as_json
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
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
                task = progress.add_task(description, total=total, completed=done - amount)
            if task is not None:
                progress.advance(task, amount)

        try:
            yield advance
        finally:
            if self._progress is not None:
                progress.stop()
                self._progress = None


# -- formatting ----------------------------------------------------------------------


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def path_text(path: Path | str) -> str:
    return visible(str(path))


def listing_line(image: ImageInfo) -> Text:
    line = Text(no_wrap=True)
    line.append(image.id, style="cyan")
    line.append(f"  {image.width:>5}x{image.height:<5}", style="green")
    line.append(f" {human_size(image.size):>8}")
    line.append(f"  {image.created_at:%Y-%m-%d %H:%M}", style="dim")
    line.append(f"  {visible(image.filename)}", style="bold")
    if image.title:
        line.append(f"  {visible(image.title)}")
    if image.tags:
        line.append("  " + " ".join(f"#{visible(tag)}" for tag in image.tags), style="magenta")
    return line


def info_table(image: ImageInfo) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, str]] = [
        ("id", image.id),
        ("filename", visible(image.filename)),
        ("title", visible(image.title)),
        ("description", visible(image.description)),
        ("tags", ", ".join(visible(tag) for tag in image.tags)),
        ("format", f"{image.format} ({image.mime})"),
        (
            "dimensions",
            f"{image.width} x {image.height}"
            + (f", {image.frames} frames" if image.frames > 1 else ""),
        ),
        ("size", f"{human_size(image.size)} ({image.size} bytes)"),
        ("sha256", image.sha256),
        ("created", image.created_at.isoformat(timespec="seconds")),
        ("updated", image.updated_at.isoformat(timespec="seconds")),
    ]
    rows += [(f"exif {key}", visible(str(value))) for key, value in sorted(image.exif.items())]
    for key, value in rows:
        table.add_row(Text(key), Text(value))
    return table


# -- commands --------------------------------------------------------------------------


def _upload_line(result: UploadResult) -> Text:
    assert result.image is not None
    line = Text.assemble((result.image.id, "cyan"), "  ", path_text(result.path))
    if result.status == "duplicate":
        line.append("  (duplicate)", style="yellow")
    return line


def cmd_upload(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    entries = list(find_upload_files(args.paths, args.recursive))
    metadata = NewMetadata(
        title=args.title or "", description=args.description or "", tags=args.tag or ()
    )
    results: list[dict[str, Any]] = []
    counts = {"created": 0, "duplicate": 0, "error": 0}
    stopped: DatabaseUnavailableError | None = None
    with out.progress("uploading", sum(entry.size for entry in entries)) as advance:
        try:
            for result in repo.upload_files(entries, metadata):
                counts[result.status] += 1
                advance(result.size)
                results.append(
                    {
                        "path": str(result.path),
                        "status": result.status,
                        "id": result.image.id if result.image else None,
                        "error": result.error,
                    }
                )
                if result.status == "error":
                    out.error(f"{path_text(result.path)}: {result.error}")
                elif not out.as_json:
                    out.line(_upload_line(result))
        except DatabaseUnavailableError as error:
            stopped = error
    if stopped is not None:
        left = len(entries) - len(results)
        out.error(f"{stopped}; stopped with {left} file(s) not uploaded")
    if out.as_json:
        out.json(results)
    elif len(entries) > 1 or counts["error"]:
        out.note(
            f"{counts['created']} uploaded, {counts['duplicate']} duplicate(s), "
            f"{counts['error']} failed"
        )


def cmd_ls(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    query = ImageQuery(tag=args.tag, name=args.name)
    images = repo.iter_images(query, limit=args.limit)
    if out.as_json:
        _stream_json_list(image.to_json() for image in images)
        return
    for image in images:
        out.line(listing_line(image))


def _stream_json_list(items: Iterable[dict[str, Any]]) -> None:
    """A JSON array written item by item: memory stays flat however long the list."""
    separator = "[\n  "
    for item in items:
        sys.stdout.write(separator + json.dumps(item))
        separator = ",\n  "
    sys.stdout.write("[]\n" if separator.startswith("[") else "\n]\n")


def cmd_info(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    image = repo.info(args.id)
    if out.as_json:
        out.json(image.to_json())
    else:
        out.out.print(info_table(image))


def _each_id(ids: Sequence[str], out: Output, action: Callable[[str], None]) -> None:
    """Run ``action`` per id; an item's failure is reported and the rest go on."""
    for image_id in ids:
        try:
            action(image_id)
        except DatabaseUnavailableError:
            raise
        except ImageRepoError as error:
            out.error(f"{visible(image_id)}: {error}")


def cmd_download(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    folder = Path(args.output)
    if not folder.is_dir():
        raise UsageError(f"{path_text(folder)} is not a folder")
    written: list[dict[str, Any]] = []

    with out.progress("downloading", len(args.ids)) as advance:

        def download(image_id: str) -> None:
            target = repo.export(image_id, folder, force=args.force)
            advance(1)
            written.append({"id": image_id, "path": str(target)})
            if not out.as_json:
                out.line(Text.assemble((visible(image_id), "cyan"), "  ", path_text(target)))

        _each_id(args.ids, out, download)
    if out.as_json:
        out.json(written)


def cmd_update(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    image = repo.replace_content(args.id, args.path)
    if out.as_json:
        out.json(image.to_json())
    else:
        out.line(Text.assemble((image.id, "cyan"), "  ", path_text(args.path), "  (replaced)"))


def cmd_edit(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    image = repo.edit(
        args.id,
        title=args.title,
        description=args.description,
        add_tags=args.tag or (),
        remove_tags=args.untag or (),
    )
    if out.as_json:
        out.json(image.to_json())
    else:
        out.out.print(info_table(image))


def _confirm(question: str) -> bool:
    sys.stderr.write(question + " [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def cmd_delete(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("not on a terminal, so nothing was deleted: add --yes to confirm")
        names = []
        for image_id in args.ids:
            try:
                names.append(visible(repo.info(image_id).filename))
            except ImageRepoError as error:
                raise UsageError(str(error)) from None
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        if not _confirm(f"Delete {len(names)} image(s): {shown}?"):
            out.note("nothing deleted")
            return

    def delete(image_id: str) -> None:
        image = repo.delete(image_id)
        out.line(Text.assemble((image.id, "cyan"), "  ", visible(image.filename), "  (deleted)"))

    _each_id(args.ids, out, delete)


# -- parser ----------------------------------------------------------------------------

COMMANDS: dict[str, Callable[[ImageRepository, argparse.Namespace, Output], None]] = {
    "upload": cmd_upload,
    "ls": cmd_ls,
    "info": cmd_info,
    "download": cmd_download,
    "update": cmd_update,
    "edit": cmd_edit,
    "delete": cmd_delete,
}


def _global_options(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    # Accepted before or after the subcommand; the subcommand's copy must not
    # overwrite a value given before it, hence SUPPRESS there.
    default = None if top_level else argparse.SUPPRESS
    parser.add_argument(
        "--db",
        metavar="URI",
        default=default,
        help="MongoDB URI to use (env IMAGEREPO_DB); default: the embedded database",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=default,
        help="where the embedded database keeps its files (env IMAGEREPO_DATA_DIR)",
    )


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagerepo-tui",
        description="A terminal image library kept in MongoDB. Without a command, opens "
        "the interactive app; with one, runs it as a script-friendly CLI.",
        epilog="IDs are 24 hex characters; a unique prefix of 6 or more also works. "
        "Exit status: 0 ok, 1 some item failed, 2 usage error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _global_options(parser, top_level=True)
    parser.add_argument(
        "--graphics",
        choices=["auto", "kitty", "sixel", "halfcell", "none"],
        default="auto",
        help="how the app draws images (default: detect)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _global_options(sub, top_level=False)
        return sub

    upload = command("upload", "store image files (originals kept byte for byte)")
    upload.add_argument("paths", nargs="+", metavar="PATH", help="files, or folders with -r")
    upload.add_argument("-r", "--recursive", action="store_true", help="upload folders' contents")
    upload.add_argument("--title", help="title for every uploaded image")
    upload.add_argument("--description", help="description for every uploaded image")
    upload.add_argument("--tag", action="append", metavar="TAG", help="add a tag (repeatable)")
    _json_option(upload)

    ls = command("ls", "list images, newest first (metadata only)")
    ls.add_argument("--tag", help="only images with this tag (case-insensitive)")
    ls.add_argument("--name", metavar="SUBSTRING", help="filename contains (case-insensitive)")
    ls.add_argument("--limit", type=int, metavar="N", help="at most N images")
    _json_option(ls)

    info = command("info", "show an image's metadata")
    info.add_argument("id", metavar="ID")
    _json_option(info)

    download = command("download", "write originals under their original filenames")
    download.add_argument("ids", nargs="+", metavar="ID")
    download.add_argument(
        "-o",
        "--output",
        default=".",
        metavar="DIR",
        help="folder to write into (default: current folder)",
    )
    download.add_argument("--force", action="store_true", help="overwrite existing files")
    _json_option(download)

    update = command("update", "replace an image's content; id, title and tags stay")
    update.add_argument("id", metavar="ID")
    update.add_argument("path", metavar="PATH")
    _json_option(update)

    edit = command("edit", "change an image's title, description or tags")
    edit.add_argument("id", metavar="ID")
    edit.add_argument("--title")
    edit.add_argument("--description")
    edit.add_argument("--tag", action="append", metavar="TAG", help="add a tag (repeatable)")
    edit.add_argument("--untag", action="append", metavar="TAG", help="remove a tag (repeatable)")
    _json_option(edit)

    delete = command("delete", "delete images and their stored bytes")
    delete.add_argument("ids", nargs="+", metavar="ID")
    delete.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return Settings.from_env(db_uri=args.db, data_dir=args.data_dir)
    except ValueError as error:
        raise UsageError(str(error)) from None


def run_command(args: argparse.Namespace) -> int:
    out = Output(as_json=getattr(args, "json", False))
    try:
        repo = ImageRepository.open(_settings(args))
    except UsageError as error:
        out.error(str(error))
        return EXIT_USAGE
    except ImageRepoError as error:
        out.error(str(error))
        return EXIT_FAILED
    try:
        COMMANDS[args.command](repo, args, out)
    except UsageError as error:
        out.error(str(error))
        return EXIT_USAGE
    except ImageRepoError as error:
        out.error(str(error))
        return EXIT_FAILED
    finally:
        repo.close()
    return EXIT_FAILED if out.failures else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            from imagerepo_tui.tui.app import run_app  # Textual loads only for the TUI

            return run_app(_settings(args), graphics=args.graphics)
        return run_command(args)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `imagerepo-tui ls | head`: the reader left; that is not an error.
        sys.stderr.close()
        return EXIT_OK
