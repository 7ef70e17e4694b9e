"""How ``check`` shows itself: a line per problem as it is found, progress bars on a
terminal, a summary line; or, with --json, one JSON object at the end."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from rich.text import Text

from imagerepo_tui.cli.output import Output
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.safekeeping.check import LibraryCheck
from imagerepo_tui.safekeeping.check_results import Advance, Problem, Stage
from imagerepo_tui.textsafe import visible


def run_check(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    check = LibraryCheck(repo.whole_library("check the library"), repair=args.repair)
    found: list[dict[str, Any]] = []
    with ExitStack() as stage:
        advance: Callable[[float], None] = _nothing
        for event in check.run():
            if isinstance(event, Advance):
                advance(event.amount)
            elif isinstance(event, Stage):
                # One bar per stage: the previous one goes when the next begins.
                stage.close()
                bar = out.progress(event.name, event.total, in_bytes=event.in_bytes)
                advance = stage.enter_context(bar)
            elif out.as_json:
                found.append(event.to_json())
            else:
                out.line(problem_line(event))
    summary = check.summary
    if out.as_json:
        out.json({"problems": found, "summary": summary.to_json()})
    else:
        out.line(summary.describe())
    # Exit status 1 while anything found is still wrong; what --repair removed is not.
    out.failures += summary.unrepaired


def _nothing(amount: float) -> None:
    del amount


def problem_line(problem: Problem) -> Text:
    """``<id>  <kind>: <detail>  <filename>``, every stored text escaped."""
    line = Text(no_wrap=True)
    line.append(visible(problem.id), style="cyan")
    line.append(f"  {problem.kind}: ", style="bold red")
    line.append(visible(problem.detail))
    if problem.name:
        line.append(f"  {visible(problem.name)}", style="bold")
    if problem.repaired:
        line.append("  (removed)", style="green")
    return line
