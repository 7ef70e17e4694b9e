"""`python -m imagerepo_tui`: the same entry point as the imagerepo-tui command."""

from imagerepo_tui.cli import run

run()
