"""Commands that organise the library: the trash and collections."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta

from rich.text import Text

from imagerepo_tui.cli.commands import (
    describe_targets,
    each_id,
    nothing_matches,
    query_usage_error,
    require_confirmation,
    targets,
)
from imagerepo_tui.cli.output import Output, collection_line, trash_line
from imagerepo_tui.cli.parser import UsageError
from imagerepo_tui.errors import SmartCollectionError
from imagerepo_tui.query import QueryError
from imagerepo_tui.repository import CollectionInfo, ImageRepository
from imagerepo_tui.textsafe import visible

_AGE = re.compile(r"(\d+)\s*([dhwm]?)")
_AGE_UNITS = {"": "days", "d": "days", "h": "hours", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``2w`` (a bare number is days)."""
    match = _AGE.fullmatch(text.strip().lower())
    if not match or match.group(2) == "m":
        raise UsageError(f"--older-than takes an age like 30d, 12h or 2w, not {visible(text)!r}")
    return timedelta(**{_AGE_UNITS[match.group(2)]: int(match.group(1))})


def cmd_trash(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    if args.action == "empty":
        _empty_trash(repo, args, out)
        return
    images = repo.iter_images(trash=True)
    if out.as_json:
        out.json_stream(image.to_json() for image in images)
        return
    shown = 0
    for image in images:
        out.line(trash_line(image))
        shown += 1
    if not shown:
        out.note("the trash is empty")


def _empty_trash(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    # "is not None": an empty --older-than "$UNSET" must be refused, not mean "all".
    age = parse_age(args.older_than) if args.older_than is not None else None
    count = repo.count(trash=True)
    scope = f" deleted more than {args.older_than} ago" if age is not None else ""
    if not count:
        out.note("the trash is empty")
        return
    if not require_confirmation(args, lambda: f"Delete for good the trashed images{scope}?"):
        out.note("nothing deleted")
        return
    purged = 0
    with out.progress("purging", count, in_bytes=False) as advance:
        for image in repo.empty_trash(age):
            purged += 1
            advance(1)
            if not out.as_json:
                out.line(
                    Text.assemble(
                        (image.id, "cyan"), "  ", visible(image.filename), "  (deleted for good)"
                    )
                )
    if out.as_json:
        out.json({"purged": purged})
    else:
        out.note(f"{purged} image(s) deleted for good")


def cmd_restore(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    if args.backup is not None:
        if args.ids or args.query:
            raise UsageError("give trashed images (ids or --query) or --backup DIR, not both")
        from imagerepo_tui.cli.safekeeping import cmd_restore_backup

        cmd_restore_backup(repo, args, out)
        return
    args.in_trash = True
    ids, count = targets(repo, args)

    def restore(image_id: str) -> None:
        image = repo.restore(image_id)
        out.line(Text.assemble((image.id, "cyan"), "  ", visible(image.filename), "  (restored)"))

    with out.progress("restoring", count, in_bytes=False) as advance:
        each_id(list(ids), out, restore, advance)


def cmd_purge(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    args.in_trash = True
    ids, count = targets(repo, args)
    if nothing_matches(args, count, out):
        return

    # Asked lazily, as delete does: with --yes an unknown id is that item's failure
    # (exit 1), not a usage error before anything is done.
    def question() -> str:
        return f"Delete for good {describe_targets(repo, args, count)} from the trash?"

    if not require_confirmation(args, question):
        out.note("nothing deleted")
        return

    def purge(image_id: str) -> None:
        image = repo.purge(image_id)
        out.line(
            Text.assemble((image.id, "cyan"), "  ", visible(image.filename), "  (deleted for good)")
        )

    with out.progress("purging", count, in_bytes=False) as advance:
        each_id(list(ids), out, purge, advance)


# -- collections -------------------------------------------------------------------------


def cmd_collections(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    action = args.action or "ls"
    if action == "ls":
        collections = repo.list_collections()
        if out.as_json:
            out.json([collection.to_json() for collection in collections])
        elif not collections:
            out.note("no collections yet: imagerepo-tui collections create NAME")
        for collection in collections if not out.as_json else ():
            out.line(collection_line(collection))
        return
    handler = {
        "create": _create,
        "rename": _rename,
        "describe": _describe,
        "delete": _delete,
        "add": _add,
        "remove": _remove,
    }[action]
    handler(repo, args, out)


def _report(out: Output, collection: CollectionInfo, note: str) -> None:
    if out.as_json:
        out.json(collection.to_json())
    else:
        out.line(Text.assemble(collection_line(collection), f"  ({note})"))


def _create(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    if args.query is not None:
        if not args.query.strip():
            raise UsageError("--query needs a search (a smart collection is its query)")
        try:
            created = repo.create_collection(args.name, args.description or "", args.query)
        except QueryError as error:
            raise query_usage_error(error, args.query) from None
        _report(out, created, "created, smart")
        return
    _report(out, repo.create_collection(args.name, args.description or ""), "created")


def _rename(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    _report(out, repo.rename_collection(args.name, args.new_name), "renamed")


def _describe(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    _report(out, repo.describe_collection(args.name, args.description), "described")


def _delete(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    collection = repo.collection(args.name)
    question = (
        f"Delete the collection {visible(collection.name)!r}? "
        f"Its {collection.count} image(s) stay in the library."
    )
    if not require_confirmation(args, lambda: question):
        out.note("nothing deleted")
        return
    _report(out, repo.delete_collection(args.name), "deleted; its images stay")


def _add(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    _change_membership(repo, args, out, adding=True)


def _remove(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    _change_membership(repo, args, out, adding=False)


def _change_membership(
    repo: ImageRepository, args: argparse.Namespace, out: Output, *, adding: bool
) -> None:
    collection = repo.collection(args.name)  # a clear error before touching any image
    try:
        collection.check_holds_by_hand()
    except SmartCollectionError as error:
        raise UsageError(str(error)) from None
    ids, count = targets(repo, args)
    changed = 0

    def apply(image_id: str) -> None:
        nonlocal changed
        if adding:
            changed += repo.add_to_collection(collection.name, [image_id])
        else:
            changed += repo.remove_from_collection(collection.name, [image_id])

    with out.progress("adding" if adding else "removing", count, in_bytes=False) as advance:
        each_id(list(ids), out, apply, advance)
    verb = "added to" if adding else "removed from"
    if out.as_json:
        out.json({"collection": collection.name, "changed": changed})
    else:
        out.note(f"{changed} image(s) {verb} {visible(collection.name)!r}")
