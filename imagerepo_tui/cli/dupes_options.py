"""The ``dupes`` subcommand's options and help (near-duplicates)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from imagerepo_tui.similarity import DEFAULT_THRESHOLD, EXACT_THRESHOLD, MAX_THRESHOLD

DUPES_DESCRIPTION = (
    "dupes [QUERY] lists groups of visually similar images among those you may see (or "
    "the matches of QUERY): resized, re-encoded or converted copies of one picture. Each "
    "image has a 64-bit perceptual hash; two images group when their hashes differ in at "
    "most --threshold bits. Images stored before hashes existed are hashed first, once, "
    "from their thumbnails (or by dupes --index); a stopped run continues where it left "
    "off. dupes merge KEEP_ID OTHER_ID... keeps one image of a group: the others go to "
    "the trash (restore brings them back), and their tags, collections and custom fields "
    "(--meta) are added to the kept image; where the kept image already has a custom "
    "field of the same name, its own value wins. Only your own images can be merged."
)


def add_dupes_parser(
    command: Callable[[str, str], argparse.ArgumentParser], query_help: str
) -> None:
    """The ``dupes`` subcommand, made by ``command(name, help)``."""
    dupes = command("dupes", "find near-duplicate images, and keep one of each group")
    dupes.description = DUPES_DESCRIPTION
    dupes.add_argument(
        "words",
        nargs="*",
        metavar="QUERY",
        help=f"only these images ({query_help}); or: merge KEEP_ID OTHER_ID...",
    )
    dupes.add_argument(
        "--threshold",
        type=int,
        default=DEFAULT_THRESHOLD,
        metavar="N",
        help=f"how many of the 64 bits may differ, 0 to {MAX_THRESHOLD} (default "
        f"{DEFAULT_THRESHOLD}: resized and re-encoded copies measure 0-2, unrelated photos "
        f"20 or more); up to {EXACT_THRESHOLD} found by exact band lookups, above by more",
    )
    dupes.add_argument(
        "--index",
        action="store_true",
        help="only hash the images that have no hash yet (what the first dupes does)",
    )
    dupes.add_argument(
        "--json",
        action="store_true",
        help="machine-readable JSON on stdout: a list of groups, each a list of images "
        "shaped as in ls --json (merge: the kept image)",
    )
