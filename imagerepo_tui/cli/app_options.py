"""The options of ``imagerepo-tui`` alone, the app's start: read without building
every command's parser (``parser.build_parser``), which took 10-20 ms of each start."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

from imagerepo_tui.cli.parser import app_options


class _NotTheAppAlone(Exception):
    """The words are more than the app's options: ``build_parser``'s to read."""


class _AppOptionsParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _NotTheAppAlone(message)


def parse_app_options(words: Sequence[str]) -> argparse.Namespace | None:
    """The options opening the app (no command), as ``build_parser`` reads them; None
    for anything else (a command, --help, --version, a mistake), which
    ``build_parser`` reads, and explains, as ever."""
    parser = _AppOptionsParser(prog="imagerepo-tui", add_help=False)
    app_options(parser)
    try:
        args, unknown = parser.parse_known_args(words)
    except _NotTheAppAlone:
        return None
    if unknown:
        return None
    args.command = None
    return args
