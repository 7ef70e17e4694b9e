"""The ``dupes`` command: groups of near-duplicate images, merging a group into one,
and hashing the images stored before hashes existed."""

from __future__ import annotations

import argparse

from rich.text import Text

from imagerepo_tui.cli.commands import checked_query, query_text
from imagerepo_tui.cli.output import Output, listing_line
from imagerepo_tui.cli.parser import UsageError
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.similarity import MAX_THRESHOLD
from imagerepo_tui.textsafe import visible


def cmd_dupes(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    words = list(args.words or [])
    if words and words[0] == "merge":
        _merge(repo, words[1:], args, out)
        return
    if not 0 <= args.threshold <= MAX_THRESHOLD:
        raise UsageError(f"--threshold is 0 to {MAX_THRESHOLD}")
    pending = repo.duplicates.unindexed()
    if pending:
        _index(repo, out, pending)
    if args.index:
        return
    args.query_words = words
    text = query_text(args)
    query = checked_query(repo, text) if text else None
    found = repo.duplicates.groups(query, args.threshold)
    for image_id, problem in found.damaged:
        out.error(f"image {image_id}: {problem} (not compared)")
    if found.unhashed:
        out.note(f"{found.unhashed} images have no hash (not decodable): not compared")
    if out.as_json:
        out.json([[image.to_json() for image in group] for group in found.groups])
        return
    for number, group in enumerate(found.groups, 1):
        out.line(Text(f"group {number}: {len(group)} images", style="bold"))
        for image in group:
            out.line(Text.assemble("  ", listing_line(image, accounts=repo.has_accounts)))
    if not found.groups:
        out.note("no near-duplicates found")


def _index(repo: ImageRepository, out: Output, pending: int) -> None:
    """Hash what has no hash yet (once: uploads hash their images), with a progress
    bar counting uploads walked; one line per image that cannot be decoded."""
    done = 0

    def skipped(image_id: str, reason: str) -> None:
        out.error(f"image {visible(image_id)}: {reason} (skipped)")

    with out.progress("hashing", pending, in_bytes=False) as advance:

        def progress(walked: int, total: int) -> None:
            nonlocal done
            advance(walked - done)
            done = walked

        hashed = repo.duplicates.index(progress, skipped, max_pixels=repo.settings.max_pixels)
    if hashed:
        out.note(f"hashed {hashed} images stored before near-duplicate search")


def _merge(repo: ImageRepository, ids: list[str], args: argparse.Namespace, out: Output) -> None:
    if len(ids) < 2:
        raise UsageError("dupes merge needs KEEP_ID and at least one OTHER_ID")
    kept = repo.duplicates.merge(ids[0], ids[1:])
    if out.as_json:
        out.json(kept.to_json())
        return
    out.line(listing_line(kept, accounts=repo.has_accounts))
    out.note(f"kept {kept.id}; moved {len(ids) - 1} to the trash")
