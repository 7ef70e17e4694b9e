"""Run every benchmark in turn: import/export throughput, search latency, changes to
one image, TUI feel, keys during an import, backup/restore/copy/check throughput.

Each runs as its own process (fresh imports, caches and memory, as the benchmarks
assume) with its output streamed as it comes; the command of each section is
printed first so any one can be rerun alone. The search and TUI libraries are
built once and cached under benchmarks/.data.

    python -m benchmarks [--quick] [--only import,search,tui,keys,safekeeping]

Sections report their goals as ratios (``benchmarks.goals``); the last table gathers
every goal of the run.

``--quick`` uses smaller sizes (5 photos, one round, 300 small PNGs; 10,000-image libraries;
3 spawns per start-up figure; a 400-image import for the keys) to check that
everything works, not for the README.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from benchmarks.goals import Goal

SECTIONS: dict[str, tuple[list[str], list[str]]] = {
    # name: (full-size arguments, --quick arguments)
    "import": (
        ["--count", "60", "--rounds", "2", "--into-library", "100000", "--small-count", "1000"],
        [
            "--count",
            "5",
            "--rounds",
            "1",
            "--into-library",
            "10000",
            "--into-count",
            "2",
            "--small-count",
            "300",
        ],
    ),
    "search": (["--count", "100000"], ["--count", "10000"]),
    "changes": (["--count", "100000"], ["--count", "10000"]),
    "tui": (["--count", "100000", "--runs", "7"], ["--count", "10000", "--runs", "3"]),
    # Small files are stored in groups: 500 took a second or two, too short to send
    # keys during; 2,000 gives the import time for a few dozen.
    "keys": (["--count", "2000"], ["--count", "400"]),
    "safekeeping": (
        ["--count", "60", "--rounds", "2", "--library-count", "100000"],
        ["--count", "5", "--rounds", "1", "--library-count", "10000"],
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, to check it works")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default: {','.join(SECTIONS)})",
    )
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")

    failed: list[str] = []
    goals: list[Goal] = []
    for name in chosen:
        full, quick = SECTIONS[name]
        command = [
            sys.executable,
            "-m",
            f"benchmarks.bench_{name}",
            *(quick if args.quick else full),
        ]
        shown = " ".join(["python", *command[1:]])
        print(f"\n=== {name}: {shown}", flush=True)
        started = time.monotonic()
        code = _run_streaming(command, goals)
        took = time.monotonic() - started
        print(f"=== {name}: {'ok' if code == 0 else f'failed (exit {code})'} in {took:.0f} s")
        if code != 0:
            failed.append(name)
    _print_goals(goals)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _run_streaming(command: list[str], goals: list[Goal]) -> int:
    """Run one section with its output passed through line by line as it comes,
    keeping the goals it reports."""
    unbuffered = {**os.environ, "PYTHONUNBUFFERED": "1"}  # a pipe would hold lines back
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, bufsize=1, env=unbuffered
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            print(line, end="", flush=True)
            goal = Goal.parse(line)
            if goal is not None:
                goals.append(goal)
    return child.returncode


def _print_goals(goals: list[Goal]) -> None:
    if not goals:
        return
    print("\n=== goals (each a ratio against a baseline measured in the same run)")
    width = max(len(goal.name) for goal in goals)
    for goal in goals:
        verdict = "met" if goal.met else "NOT met"
        print(
            f"{goal.name:<{width}}  {goal.ratio:>8.3g}  {goal.bound:<8}  {verdict:<8}  {goal.note}"
        )


if __name__ == "__main__":
    sys.exit(main())
