"""``check``, ``backup``, ``restore`` and ``copy``: keeping the library's photos safe.

Thin: the work is in ``imagerepo_tui.safekeeping``; this prints its progress and
results. Each command is written by its own module there.
"""

from __future__ import annotations

import argparse

from imagerepo_tui.cli.output import Output
from imagerepo_tui.cli.parser import UsageError
from imagerepo_tui.repository import ImageRepository


def cmd_check(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    from imagerepo_tui.cli.check_output import run_check

    run_check(repo, args, out)


def cmd_backup(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    from imagerepo_tui.cli.transfers import run_backup

    run_backup(repo, args, out)


def cmd_restore_backup(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    from imagerepo_tui.cli.transfers import run_restore

    run_restore(repo, args, out)


def cmd_copy(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    if args.bucket:
        from imagerepo_tui.cli.bucket_import import cmd_copy_bucket

        if not args.source:
            raise UsageError("--bucket NAME imports from another database: use it with --from URI")
        return cmd_copy_bucket(repo, args, out)
    from imagerepo_tui.cli.transfers import run_copy

    run_copy(repo, args, out)
