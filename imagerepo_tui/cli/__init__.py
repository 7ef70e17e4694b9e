"""The one entry point: no subcommand opens the TUI, a subcommand is the scripting CLI.

Exit status: 0 all went well, 1 some item failed (the rest were still done),
2 usage error. Output meant for scripts goes to stdout; messages, errors and
progress go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from imagerepo_tui.cli.app_options import parse_app_options
from imagerepo_tui.cli.parser import UsageError, build_parser
from imagerepo_tui.config import Settings
from imagerepo_tui.datadir import check_data_dir
from imagerepo_tui.errors import DataDirError, ImageRepoError
from imagerepo_tui.stderr_capture import private_stderr
from imagerepo_tui.textsafe import visible

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

if TYPE_CHECKING:
    from imagerepo_tui.cli.output import Output
    from imagerepo_tui.repository import ImageRepository

Command = Callable[["ImageRepository", argparse.Namespace, "Output"], None]


def _commands() -> dict[str, Command]:
    """Imported on use: the TUI starts through this module and should not wait for
    the database driver, which the commands (not the TUI's first frame) need."""
    from imagerepo_tui.cli.commands import (
        cmd_delete,
        cmd_download,
        cmd_edit,
        cmd_info,
        cmd_ls,
        cmd_update,
        cmd_upload,
    )
    from imagerepo_tui.cli.dupes import cmd_dupes
    from imagerepo_tui.cli.organise import cmd_collections, cmd_purge, cmd_restore, cmd_trash
    from imagerepo_tui.cli.safekeeping import cmd_backup, cmd_check, cmd_copy
    from imagerepo_tui.cli.users import cmd_user, cmd_whoami

    return {
        "upload": cmd_upload,
        "ls": cmd_ls,
        "info": cmd_info,
        "download": cmd_download,
        "update": cmd_update,
        "edit": cmd_edit,
        "delete": cmd_delete,
        "trash": cmd_trash,
        "restore": cmd_restore,
        "purge": cmd_purge,
        "collections": cmd_collections,
        "user": cmd_user,
        "whoami": cmd_whoami,
        "check": cmd_check,
        "backup": cmd_backup,
        "copy": cmd_copy,
        "dupes": cmd_dupes,
    }


__all__ = ["build_parser", "main", "run"]


def _settings(args: argparse.Namespace, *, report: bool = True) -> Settings:
    """Settings, with an embedded data directory that is ours to use: a folder that is
    not a library is refused before anything is started in it or changed. What is wrong
    with the config file is a warning on stderr (``report``; the TUI shows it itself)."""
    try:
        settings = Settings.load(
            db_uri=args.db, data_dir=args.data_dir, user=args.user, graphics=args.graphics
        )
        if report:
            for problem in settings.problems:
                sys.stderr.write(f"warning: {visible(problem)}\n")
        if not settings.db_uri:
            check_data_dir(settings.data_dir)
    except (ValueError, DataDirError) as error:
        raise UsageError(str(error)) from None
    return settings


def run_command(args: argparse.Namespace) -> int:
    # Imported per path: rich's progress bars and tables cost the TUI's first frame
    # 17 ms, and the TUI never prints through Output.
    from imagerepo_tui.cli.output import Output
    from imagerepo_tui.cli.users import Passwords, log_in
    from imagerepo_tui.errors import LoginRequiredError
    from imagerepo_tui.repository import ImageRepository

    out = Output(as_json=getattr(args, "json", False))
    if args.command == "server":
        return _run_server_command(args, out)
    # Read before the repository opens: the embedded server it may start must not
    # inherit a password in its environment.
    args.passwords = Passwords()
    try:
        settings = _settings(args)
        # `check` must see abandoned writes to report them, not have them tidied away.
        tidy = args.command != "check"
        repo = ImageRepository.open(settings, on_upgrade=out.note, tidy=tidy)
        try:
            log_in(repo, settings, args, args.passwords)
            _commands()[args.command](repo, args, out)
        finally:
            repo.close()
    except (UsageError, LoginRequiredError) as error:
        out.error(str(error))
        return EXIT_USAGE
    except ImageRepoError as error:
        out.error(str(error))
        return EXIT_FAILED
    return EXIT_FAILED if out.failures else EXIT_OK


def _run_server_command(args: argparse.Namespace, out: Output) -> int:
    from imagerepo_tui.cli.server import run_server_command

    try:
        run_server_command(_settings(args), args, out)
    except UsageError as error:
        out.error(str(error))
        return EXIT_USAGE
    except ImageRepoError as error:
        out.error(str(error))
        return EXIT_FAILED
    return EXIT_OK


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, letting ``ls`` take negated query terms (``ls sunset -tag:work``) that
    argparse would otherwise read as unknown options."""
    words = sys.argv[1:] if argv is None else list(argv)
    app_options = parse_app_options(words)
    if app_options is not None:
        return app_options
    parser = build_parser()
    args, unknown = parser.parse_known_args(words)
    negated_terms = [word for word in unknown if re.fullmatch(r"-[^-].*", word)]
    if unknown and (args.command not in ("ls", "dupes") or negated_terms != unknown):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown and args.command == "dupes":
        args.words = [*args.words, *unknown]
    elif unknown:
        args.query_words = [*args.query_words, *unknown]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    try:
        if args.command is None:
            try:
                settings = _settings(args, report=False)
            except UsageError as error:
                from imagerepo_tui.cli.output import Output

                Output().error(str(error))
                return EXIT_USAGE
            from imagerepo_tui.tui.optional_imports import load_image_widgets

            # Before the app's modules import textual-image, which would probe the
            # terminal whatever the graphics setting says.
            load_image_widgets(settings.graphics)
            from imagerepo_tui.tui.app import run_app  # Textual loads only for the TUI

            return run_app(settings, graphics=settings.graphics)
        return run_command(args)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `imagerepo-tui ls | head`: the reader left; that is not an error.
        sys.stderr.close()
        return EXIT_OK


def run() -> NoReturn:
    """The installed command: ``main``, then an exit without the interpreter's teardown.

    pymongo's exit handler joins its monitor threads, and a monitor waiting on the
    server notices the close only at its next 0.5 s poll: half a second added to
    every command and to quitting the TUI. By the time ``main`` returns, the
    repository is closed and every file it wrote is closed, so only the standard
    streams are left to flush.
    """
    # The process's own messages (and the TUI) get their own copy of the terminal, so
    # fd 2 can be captured around decoders without catching them (stderr_capture).
    private_stderr()
    code = main()
    # The reader of `ls | head` may have left, and stderr is closed after that.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):
            stream.flush()
    os._exit(code)
