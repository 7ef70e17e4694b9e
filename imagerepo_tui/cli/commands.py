"""The image commands: upload, ls, info, download, update, edit, delete."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from rich.text import Text

from imagerepo_tui.cli.output import Output, info_table, listing_line, path_text
from imagerepo_tui.cli.parser import UsageError
from imagerepo_tui.errors import DatabaseUnavailableError, ImageRepoError, NotFoundError
from imagerepo_tui.query import QueryError
from imagerepo_tui.repository import (
    Adjustment,
    ExportNames,
    ImageRepository,
    NewMetadata,
    UploadResult,
    check_meta,
    find_upload_files,
    parse_meta,
)
from imagerepo_tui.textsafe import visible


def query_text(args: argparse.Namespace) -> str | None:
    words = getattr(args, "query_words", None)
    text = " ".join(words) if words else getattr(args, "query", None)
    return text or None


def checked_query(repo: ImageRepository, text: str) -> Any:
    """Parse now, so a bad query is a usage error that shows where it went wrong."""
    try:
        return repo.parse_query(text)
    except QueryError as error:
        raise query_usage_error(error, text) from None


def query_usage_error(error: QueryError, text: str) -> UsageError:
    """A bad query as a usage error: the text, and a caret under the mistake."""
    pointer = " " * (error.column - 1) + "^"
    return UsageError(f"invalid query: {error}\n  {visible(text)}\n  {pointer}")


def targets(repo: ImageRepository, args: argparse.Namespace) -> tuple[Iterable[str], int]:
    """The ids a command acts on: those given, or every match of ``--query`` (streamed,
    never all loaded), with how many there are for the progress bar."""
    ids: list[str] = list(getattr(args, "ids", None) or [])
    text = getattr(args, "query", None)
    if ids and not text:
        return ids, len(ids)
    if ids or not text:
        raise UsageError("give image ids, or --query QUERY for every match (not both)")
    query = checked_query(repo, text)
    return repo.iter_ids(query, trash=getattr(args, "in_trash", False)), repo.count(
        query, trash=getattr(args, "in_trash", False)
    )


def each_id(
    ids: Iterable[str],
    out: Output,
    action: Callable[[str], None],
    advance: Callable[[float], None] = lambda _: None,
) -> None:
    """Run ``action`` per id; an item's failure is reported and the rest go on."""
    for image_id in ids:
        try:
            action(image_id)
        except DatabaseUnavailableError:
            raise
        except ImageRepoError as error:
            out.error(f"{visible(image_id)}: {error}")
        advance(1)


def confirm(question: str) -> bool:
    sys.stderr.write(question + " [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def require_confirmation(args: argparse.Namespace, question: Callable[[], str]) -> bool:
    """True to go ahead: --yes, or a yes typed on a terminal. Never guesses elsewhere."""
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError("not on a terminal, so nothing was done: add --yes to confirm")
    return confirm(question())


def describe_targets(repo: ImageRepository, args: argparse.Namespace, count: int) -> str:
    if getattr(args, "query", None):
        return f"{count} image(s) matching {visible(args.query)!r}"
    names = []
    for image_id in list(args.ids)[:5]:
        try:
            names.append(visible(repo.info(image_id).filename))
        except ImageRepoError as error:
            raise UsageError(str(error)) from None
    more = f" and {count - 5} more" if count > 5 else ""
    return f"{count} image(s): {', '.join(names)}{more}"


def metadata_pairs(assignments: Iterable[str] | None) -> dict[str, Any]:
    try:
        return dict(parse_meta(item) for item in assignments or ())
    except ImageRepoError as error:
        raise UsageError(str(error)) from None


def unmeta_keys(keys: Iterable[str] | None) -> list[str]:
    """--unmeta keys, checked before any image is touched (a bad one is a usage error)."""
    try:
        check_meta({}, keys or ())
    except ImageRepoError as error:
        raise UsageError(str(error)) from None
    return list(keys or ())


# -- upload ------------------------------------------------------------------------------


def _upload_line(result: UploadResult) -> Text:
    assert result.image is not None
    line = Text.assemble((result.image.id, "cyan"), "  ", path_text(result.path))
    if result.status == "duplicate":
        line.append("  (duplicate)", style="yellow")
    return line


def _upload_record(result: UploadResult) -> dict[str, Any]:
    return {
        "path": str(result.path),
        "status": result.status,
        "id": result.image.id if result.image else None,
        "error": result.error,
    }


def _not_smart(repo: ImageRepository, name: str) -> None:
    """One usage error up front, not the same failure for every file."""
    with contextlib.suppress(NotFoundError):  # a new name: the upload creates it
        if repo.collection(name).smart:
            raise UsageError(
                f"{visible(name)!r} is a smart collection: its query decides what it holds"
            )


def cmd_upload(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    if args.collection:
        _not_smart(repo, args.collection)
    metadata = NewMetadata(
        title=args.title or "",
        description=args.description or "",
        tags=args.tag or (),
        meta=metadata_pairs(args.meta),
        collection=args.collection,
        public=args.public,
    )
    entries = list(find_upload_files(args.paths, args.recursive))
    results: list[dict[str, Any]] = []
    counts = {"created": 0, "duplicate": 0, "error": 0}
    stopped: DatabaseUnavailableError | None = None
    with out.progress("uploading", sum(entry.size for entry in entries)) as advance:
        try:
            for result in repo.upload_files(entries, metadata):
                counts[result.status] += 1
                advance(result.size)
                results.append(_upload_record(result))
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


# -- reading -----------------------------------------------------------------------------


def _quoted(value: str) -> str:
    """A flag's value as one quoted query value: a quote or backslash in it stays text."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cmd_ls(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    # --tag and --name are shorthands for query terms: one way to filter.
    terms = [
        query_text(args) or "",
        f"tag:{_quoted(args.tag)}" if args.tag else "",
        f"name:{_quoted(args.name)}" if args.name else "",
    ]
    text = " ".join(term for term in terms if term)
    query = checked_query(repo, text) if text else None
    images = repo.iter_images(query, limit=args.limit)
    if out.as_json:
        out.json_stream(image.to_json() for image in images)
        return
    for image in images:
        out.line(listing_line(image, accounts=repo.has_accounts))


def cmd_info(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    image = repo.info(args.id)
    if out.as_json:
        out.json(image.to_json())
    else:
        out.out.print(info_table(image, repo.collection_names(image.collections)))


def cmd_download(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    folder = Path(args.output)
    if not folder.is_dir():
        raise UsageError(f"{path_text(folder)} is not a folder")
    ids, count = targets(repo, args)
    written: list[dict[str, Any]] = []
    names = ExportNames()  # one batch: same-named images get distinct files

    def download(image_id: str) -> None:
        target = repo.export(
            image_id, folder, force=args.force, names=names, rendered=args.rendered
        )
        written.append({"id": image_id, "path": str(target)})
        if not out.as_json:
            out.line(Text.assemble((visible(image_id), "cyan"), "  ", path_text(target)))

    with out.progress("downloading", count, in_bytes=False) as advance:
        each_id(ids, out, download, advance)
    if out.as_json:
        out.json(written)


# -- changing ----------------------------------------------------------------------------


def cmd_update(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    image = repo.replace_content(args.id, args.path)
    if out.as_json:
        out.json(image.to_json())
    else:
        out.line(Text.assemble((image.id, "cyan"), "  ", path_text(args.path), "  (replaced)"))


def cmd_edit(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    meta = metadata_pairs(args.meta)
    unset_meta = unmeta_keys(args.unmeta)
    ids, count = targets(repo, args)
    edited: list[dict[str, Any]] = []

    def edit(image_id: str) -> None:
        image = repo.edit(
            image_id,
            title=args.title,
            description=args.description,
            add_tags=args.tag or (),
            remove_tags=args.untag or (),
            meta=meta,
            unset_meta=unset_meta,
        )
        if args.public is not None:
            image = repo.set_public(image_id, args.public)
        if args.rating is not None or args.favorite is not None or args.rotate:
            image = repo.adjust(image_id, Adjustment(args.rating, args.favorite, args.rotate or 0))
        edited.append(image.to_json())
        if not out.as_json and count == 1:
            out.out.print(info_table(image, repo.collection_names(image.collections)))
        elif not out.as_json:
            out.line(Text.assemble((image.id, "cyan"), "  ", visible(image.filename)))

    with out.progress("editing", count, in_bytes=False) as advance:
        each_id(_materialised(ids, args), out, edit, advance)
    if out.as_json:
        out.json(edited[0] if count == 1 and not args.query else edited)


def _materialised(ids: Iterable[str], args: argparse.Namespace) -> Iterator[str]:
    """Ids of a --query, taken before changing anything: an edit can change what
    matches, and a cursor over a changing result may skip or repeat images."""
    yield from (list(ids) if getattr(args, "query", None) else ids)


def nothing_matches(args: argparse.Namespace, count: int, out: Output) -> bool:
    """A --query without matches: say so. Not an error, and nothing to confirm."""
    if getattr(args, "query", None) and count == 0:
        out.note(f"no images match {visible(args.query)!r}; nothing done")
        return True
    return False


def cmd_delete(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    ids, count = targets(repo, args)
    if nothing_matches(args, count, out):
        return
    verb = "Delete for good" if args.purge else "Move to the trash"
    if not require_confirmation(args, lambda: f"{verb} {describe_targets(repo, args, count)}?"):
        out.note("nothing deleted")
        return

    def delete(image_id: str) -> None:
        if args.purge:
            repo.delete(image_id)
            image = repo.purge(image_id)
            note = "  (deleted for good)"
        else:
            image = repo.delete(image_id)
            note = "  (moved to the trash)"
        out.line(Text.assemble((image.id, "cyan"), "  ", visible(image.filename), note))

    with out.progress("deleting", count, in_bytes=False) as advance:
        each_id(_materialised(ids, args), out, delete, advance)
