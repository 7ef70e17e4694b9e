from imagerepo_tui.cli import run

run()
