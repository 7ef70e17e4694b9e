"""How the TUI feels, measured in one run and printed as a table.

- start-up, as a user sees it (``benchmarks.tmux_start``): the real
  ``imagerepo-tui --data-dir DIR`` launched in a 120×40 tmux pane, timed to the first
  non-blank screen and to the first rows of a 200-image library on screen, each as
  a ratio to a minimal Textual app's first screen in the same pane, launches
  interleaved; the embedded server already running (warm), and not (cold); and the
  first rows of the --count library;
- key-to-repaint latency while scrolling that library (j and PgDn): from the key
  press to the first frame showing the moved cursor on a loaded row, and how many
  keys first showed the cursor on a row still loading (the page came late);
- one gallery page (200 rows) through the repository vs the best hand-written
  pymongo query for the same rows, newest page and a deep one;
- preview latency of 12-megapixel JPEGs, first view and from the cache;
- peak RSS of the app process while browsing;
- the same browsing in the grid view (``v``): the first grid painted with every
  tile's picture, and key→repaint for l, j and PgDn counted to the first frame in
  which the moved cursor's row is loaded AND every tile on screen has its picture;
  with the list's figures beside them from the same run.

Browsing frames are counted when Textual hands a composed update to its driver
(``App._display``); headless, so no terminal write is timed. Children are fresh
processes so imports, caches and memory are those of a real start. The libraries
are made once by ``benchmarks.library`` and kept under benchmarks/.data, like
``bench_search``'s.

    python -m benchmarks.bench_tui [--count 10000] [--runs 7] [--start-only | --browse-only]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pymongo import DESCENDING, MongoClient

from benchmarks.bench_search import AUDIENCES, VISIBLE, ensure_library
from benchmarks.goals import report_goal
from benchmarks.photos import CACHE, make_photo_folder
from benchmarks.timing import median_seconds, user_environment
from benchmarks.tmux_start import SIZE, TmuxServer, library_rows, minimal_command
from imagerepo_tui.config import Settings
from imagerepo_tui.records import PAGE_SIZE
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.store.embedded import read_state, supervisor_alive

PAGE_ROWS = PAGE_SIZE  # what the gallery asks for
START_LIBRARY = 200  # the small library of the start-up goal
PREVIEW_PHOTOS = 3


# -- children: each runs in its own process and writes JSON to the path it is given --


def hook_display(app_class: type, on_frame: Callable[[Any], None]) -> None:
    """Call ``on_frame(app)`` after every frame the app composes for its driver."""
    original = app_class._display

    def _display(self: Any, screen: Any, renderable: Any) -> None:
        original(self, screen, renderable)
        if renderable is not None:
            on_frame(self)

    app_class._display = _display


async def _wait(predicate: Callable[[], object], timeout: float = 30) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there")
        await asyncio.sleep(0.001)


def _tiles_drawn(gallery: Any) -> bool:
    """Every tile on screen has its picture (always true in the list view)."""
    grid = gallery.grid
    if not grid.on:
        return True
    for item in grid.items(int(gallery.scroll_y), gallery.size.height):
        info = gallery.rows.get(item) if item < gallery.rows.total else None
        if item < gallery.rows.total and (info is None or grid.cache.get(grid._key(info)) is None):
            return False
    return True


def _child_browse(
    data_dir: str,
    out: Path,
    presses: dict[str, int],
    grid: bool = False,
    graphics: str = "halfcell",
) -> None:
    """Scroll the library with j and PgDn (in the grid also l); per key, the time to the
    first frame that shows the cursor moved onto a loaded row (in the grid: with every
    tile on screen drawn). Then the peak RSS of this process."""
    from imagerepo_tui.tui.app import ImageRepoApp, make_app
    from imagerepo_tui.tui.widgets.gallery import Gallery

    # The view is remembered: keep the benchmark's choice out of the user's state file.
    os.environ["IMAGEREPO_STATE"] = str(out.parent / "state.json")
    frames: list[tuple[float, int, bool, bool]] = []

    def on_frame(app: Any) -> None:
        galleries = app.screen.query(Gallery)
        if galleries:
            gallery = galleries.first()
            loaded = gallery.rows.get(gallery.cursor) is not None and _tiles_drawn(gallery)
            frames.append((time.perf_counter(), gallery.cursor, loaded, gallery.grid.on))

    hook_display(ImageRepoApp, on_frame)

    async def body() -> dict[str, Any]:
        app = make_app(Settings.from_env(data_dir=data_dir), graphics=graphics)
        results: dict[str, Any] = {}
        async with app.run_test(size=SIZE) as pilot:
            gallery = app.screen.query_one(Gallery)
            await _wait(lambda: gallery.loaded_once and gallery.rows.get(0) is not None)
            if grid:
                seen = len(frames)
                started = time.perf_counter()
                await pilot.press("v")
                # A frame of the grid (not one of the list painted before v acted)
                # with every tile's picture.
                await _wait(lambda: any(f[2] and f[3] for f in frames[seen:]), 60)
                painted = next(f for f in frames[seen:] if f[2] and f[3])
                results["first_grid"] = painted[0] - started
            first_page = time.perf_counter()
            # The count follows the first page (it reads every image): how long the
            # status line waits for it, and End, which needs it, after it.
            await _wait(lambda: app.image_count == gallery.rows.total, 300)
            results["count_after_first_page"] = time.perf_counter() - first_page
            seen = len(frames)
            started = time.perf_counter()
            await pilot.press("end")
            last = gallery.rows.total - 1

            def at_end(seen: int = seen) -> object:
                return next((f for f in frames[seen:] if f[1] == last and f[2]), None)

            await _wait(at_end, 300)
            results["end"] = at_end()[0] - started  # type: ignore[index]
            await pilot.press("home")
            await _wait(lambda: gallery.cursor == 0 and gallery.rows.get(0) is not None)
            for key, count in presses.items():
                latencies, blank = [], 0
                for _ in range(count):
                    before, seen = gallery.cursor, len(frames)
                    started = time.perf_counter()
                    await pilot.press(key)

                    def shown(before: int = before, seen: int = seen) -> object:
                        return next((f for f in frames[seen:] if f[1] != before and f[2]), None)

                    await _wait(shown, 300)  # at 100,000 images a key has waited 50 s
                    frame = shown()
                    assert frame is not None
                    latencies.append(frame[0] - started)
                    # Painted the moved cursor on a row still loading: the page came late.
                    earlier = (f for f in frames[seen:] if f[0] < frame[0])
                    blank += any(f[1] != before and not f[2] for f in earlier)
                    await asyncio.sleep(0.03)  # about a held key's repeat rate
                results[key] = latencies
                results[f"{key}_blank"] = blank
            results["rows_scrolled"] = gallery.cursor
            # What a full repaint of the last screen writes to the terminal (with
            # Sixel tiles, their pixels): headless, the writing itself is not timed.
            update = app.screen._compositor.render_update(full=True)
            results["screen_bytes"] = len(update.render_segments(app.console)) if update else 0
        results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return results

    out.write_text(json.dumps(asyncio.run(body())))


def _child_preview(data_dir: str, out: Path) -> None:
    """12 MP previews: key press to the frame showing the full preview, for images
    never shown (first view) and shown before (cache)."""
    from imagerepo_tui.tui.app import ImageRepoApp, make_app
    from imagerepo_tui.tui.screens.browse import BrowseScreen
    from imagerepo_tui.tui.widgets.gallery import Gallery
    from imagerepo_tui.tui.widgets.preview import PreviewPane

    frames: list[tuple[float, Any]] = []

    def on_frame(app: Any) -> None:
        if isinstance(app.screen, BrowseScreen):
            frames.append((time.perf_counter(), app.screen.query_one(PreviewPane).shown))

    hook_display(ImageRepoApp, on_frame)

    async def body() -> dict[str, Any]:
        app = make_app(Settings.from_env(data_dir=data_dir), graphics="halfcell")
        results: dict[str, list[float]] = {"first": [], "first_thumbnail": [], "cached": []}
        async with app.run_test(size=SIZE) as pilot:
            gallery = app.screen.query_one(Gallery)
            await _wait(lambda: gallery.rows.total >= PREVIEW_PHOTOS and gallery.rows.complete)
            pane = app.screen.query_one(PreviewPane)
            await _wait(lambda: pane.shown is not None and pane.shown[1] == "full", 60)

            async def view(key: str, kind: str) -> None:
                seen = len(frames)
                started = time.perf_counter()
                await pilot.press(key)
                wanted = gallery.current.id  # type: ignore[union-attr]

                def at(stage: str) -> Any:
                    return next((f for f in frames[seen:] if f[1] == (wanted, stage)), None)

                await _wait(lambda: at("full"), 60)
                results[kind].append(at("full")[0] - started)
                thumbnail = at("thumbnail")
                if kind == "first" and thumbnail is not None:
                    results["first_thumbnail"].append(thumbnail[0] - started)
                await asyncio.sleep(0.2)

            for _ in range(PREVIEW_PHOTOS - 1):
                await view("j", "first")
            for _ in range(PREVIEW_PHOTOS - 1):
                await view("k", "cached")
        return {**results, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

    out.write_text(json.dumps(asyncio.run(body())))


# -- the parent ------------------------------------------------------------------------


def _spawn(*args: str, timeout: float = 120) -> tuple[float, dict[str, Any]]:
    """Run a child; returns (wall seconds from spawn to its reported moment, its JSON)."""
    with tempfile.TemporaryDirectory() as temporary:
        out = Path(temporary) / "out.json"
        env = user_environment(IMAGEREPO_EMBEDDED_IDLE_SECONDS="30")
        started = time.time()
        subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_tui", "--child", *args, "--out", str(out)],
            check=True,
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        data = json.loads(out.read_text())
        return data.get("painted", started) - started, data


def _stop_embedded_server(data_dir: Path) -> None:
    """Stop the library's embedded server as its idle timeout would, so that the next
    start is a cold one: the first start of a day, or after the server went idle."""
    state = read_state(data_dir)
    if state is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(state["supervisor_pid"]), signal.SIGTERM)  # type: ignore[call-overload]
    deadline = time.monotonic() + 120
    while supervisor_alive(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)


def _start_rows(library: str, runs: int) -> list[tuple[str, str, str, str]]:
    """Start-up in tmux, launches interleaved (minimal app, the app on the small
    library, the app on ``library``) so that load on the machine hits all alike; then
    cold starts of the small library. Reports the two start goals."""
    small = CACHE / f"library{START_LIBRARY}"
    app = shutil.which("imagerepo-tui", path=str(Path(sys.executable).parent))
    assert app is not None, "imagerepo-tui is not installed in this environment"
    minimal = minimal_command(sys.executable)
    figures: dict[str, list[float]] = {"minimal": [], "frame": [], "rows": [], "big": []}
    cold: list[float] = []

    def launch(data_dir: Path | str) -> Any:
        return tmux.time_start([app, "--data-dir", str(data_dir)], library_rows)

    with TmuxServer(IMAGEREPO_EMBEDDED_IDLE_SECONDS="30") as tmux:
        # Untimed: compiles the bytecode and fills the file cache, as a user's first start.
        tmux.time_start(minimal)
        launch(small)
        launch(library)
        for _ in range(runs):
            figures["minimal"].append(_seen(tmux.time_start(minimal).first_frame))
            shown = launch(small)
            figures["frame"].append(_seen(shown.first_frame))
            figures["rows"].append(_seen(shown.content))
            figures["big"].append(_seen(launch(library).content))
        for _ in range(max(1, min(runs, 3) - 1)):
            _stop_embedded_server(small)
            cold.append(_seen(launch(small).content))
    base = statistics.median(figures["minimal"])

    def paired(key: str) -> float:
        """The median of each round's ratio to the minimal app launched just before it:
        load that comes and goes (the machine is shared) weighs on both alike."""
        return statistics.median(
            value / minimal for value, minimal in zip(figures[key], figures["minimal"], strict=True)
        )

    note = f"n={runs}, median of paired ratios"
    report_goal("start in tmux: first frame / minimal app", paired("frame"), 1.5, note=note)
    report_goal(
        "start in tmux: rows visible / minimal app's first frame", paired("rows"), 3, note=note
    )

    def row(label: str, values: list[float], note: str = "") -> tuple[str, str, str, str]:
        median = statistics.median(values)
        spread = f"{min(values) * 1e3:.0f}–{max(values) * 1e3:.0f}"
        return (f"{label} (n={len(values)})", f"{median * 1e3:.0f} ms", f"{median / base:.2f}",
                f"{note}{'; ' if note else ''}range {spread} ms")  # fmt: skip

    return [
        row("tmux start: minimal Textual app, first screen", figures["minimal"], "baseline"),
        row(
            "tmux start: imagerepo-tui, first screen",
            figures["frame"],
            f"goal ≤ 1.5, paired {paired('frame'):.2f}",
        ),
        row(
            f"tmux start: rows of {START_LIBRARY} visible",
            figures["rows"],
            f"goal ≤ 3, paired {paired('rows'):.2f}",
        ),
        row(f"tmux start: rows of {Path(library).name[7:]} visible", figures["big"]),
        row("the same, server not running", cold, "the embedded server starts first"),
    ]


def _seen(seconds: float | None) -> float:
    if seconds is None:
        raise RuntimeError("the start was not seen on the screen in time")
    return seconds


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _raw_page(images: Any, counters: Any, before_seq: int | None) -> list[dict[str, Any]]:
    """The same page by hand: for each audience the user sees (one equality each: the
    embedded server scans for $in), bounded, growing ``seq`` windows below the newest
    (an open ``sort().limit()`` reads every document there), merged."""
    if before_seq is None:
        before_seq = int(counters.find_one({"_id": "image_seq"})["value"]) + 1
    found: list[dict[str, Any]] = []
    for audience in AUDIENCES:
        mine: list[dict[str, Any]] = []
        high, window = before_seq, PAGE_ROWS * 2
        while high > 0 and len(mine) < PAGE_ROWS:
            low = max(0, high - window)
            query = {"trashed": False, "audience": audience, "seq": {"$gte": low, "$lt": high}}
            cursor = images.find(query, {"thumbnail": 0}).sort("seq", DESCENDING)
            mine.extend(cursor.limit(PAGE_ROWS - len(mine)))
            high, window = low, window * 4
        found.extend(mine)
    return sorted(found, key=lambda doc: -doc["seq"])[:PAGE_ROWS]


def _page_rows(repo: ImageRepository, uri: str) -> list[tuple[str, float, float]]:
    client: MongoClient = MongoClient(uri)
    db = client.get_default_database()
    images, counters = db["images"], db["counters"]
    rows = []
    deep_cursor, deep_seq = None, None
    for _ in range(25):  # row 5,000
        page = repo.list_page(before=deep_cursor, limit=PAGE_ROWS)
        deep_cursor, deep_seq = page.next_before, page.items[-1].seq
    for label, cursor, seq in (("newest", None, None), ("row 5,000", deep_cursor, deep_seq)):
        app_s, page = median_seconds(
            lambda c=cursor: repo.list_page(before=c, limit=PAGE_ROWS), repeat=7
        )
        sort_s, sorted_docs = median_seconds(
            lambda s=seq: list(
                images.find({**VISIBLE, **({"seq": {"$lt": s}} if s else {})}, {"thumbnail": 0})
                .sort("seq", DESCENDING)
                .limit(PAGE_ROWS)
            ),
            repeat=3,
        )
        raw_s, docs = median_seconds(lambda s=seq: _raw_page(images, counters, s), repeat=7)
        ids = [image.id for image in page.items]
        assert [str(d["_id"]) for d in docs] == ids, f"{label}: raw page differs"
        assert [str(d["_id"]) for d in sorted_docs] == ids, f"{label}: sorted page differs"
        rows.append((label, app_s, min(raw_s, sort_s)))
    client.close()
    return rows


def _preview_library() -> str:
    data_dir = CACHE / "preview12mp"
    repo = ImageRepository.open(Settings(data_dir=data_dir, embedded_idle_seconds=30))
    try:
        if repo.count() < PREVIEW_PHOTOS:
            for path in make_photo_folder(CACHE / "photos12mp", PREVIEW_PHOTOS):
                repo.upload(path)
    finally:
        repo.close()
    return str(data_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7, help="spawns per start-up figure")
    parser.add_argument(
        "--start-only",
        action="store_true",
        help="only the start-up figures in tmux (no scrolling, pages or previews)",
    )
    parser.add_argument(
        "--browse-only",
        action="store_true",
        help="only scroll the library, in the list and in the grid (no start-up or previews)",
    )
    parser.add_argument(
        "--sixel-grid",
        action="store_true",
        help="with --browse-only: also scroll the grid with Sixel tiles (--graphics sixel)",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, *rest = args.child
        if mode == "browse":
            _child_browse(rest[0], args.out, {"j": 150, "pagedown": 40})
        elif mode == "grid":
            _child_browse(rest[0], args.out, {"l": 60, "j": 60, "pagedown": 40}, grid=True)
        elif mode == "grid-sixel":
            presses = {"l": 60, "j": 60, "pagedown": 40}
            _child_browse(rest[0], args.out, presses, grid=True, graphics="sixel")
        elif mode == "preview":
            _child_preview(rest[0], args.out)
        return

    _, small = ensure_library(START_LIBRARY, None)
    small.close()
    uri, filled = ensure_library(args.count, None)
    # Filling opens and closes a repository of its own, which closes the shared client
    # under ``filled``: open the library again.
    with contextlib.suppress(Exception):
        filled.close()
    library = str(CACHE / f"library{args.count}")
    if args.start_only:
        filled.close()
        _print_table(_start_rows(library, args.runs))
        return
    preview_library = _preview_library()  # one open repository per process at a time
    repo = ImageRepository.open(Settings(data_dir=Path(library), embedded_idle_seconds=30))
    print(
        f"{repo.count():,} images, embedded SecantusDB (server running unless said); "
        f"{SIZE[0]}×{SIZE[1]}; medians of {args.runs} spawns\n",
        flush=True,
    )

    if args.browse_only:
        repo.close()
        _browse_table(library, sixel=args.sixel_grid)
        return
    table = _start_rows(library, args.runs)
    pages = _page_rows(repo, uri)
    _, browse = _spawn("browse", library, timeout=600)
    _, preview = _spawn("preview", preview_library, timeout=600)
    repo.close()
    for key in ("j", "pagedown"):
        values = browse[key]
        table.append(
            (
                f"key→repaint {key} (n={len(values)})",
                f"{statistics.median(values) * 1e3:.1f} ms median",
                "",
                f"p95 {_p95(values) * 1e3:.1f} ms; {browse.get(f'{key}_blank', 0)} showed "
                "a row still loading",
            )
        )
    for label, app_s, raw_s in pages:
        table.append(
            (
                f"page of {PAGE_ROWS}, {label}: repo vs raw",
                f"{app_s * 1e3:.1f} / {raw_s * 1e3:.1f} ms",
                f"{app_s / raw_s:.2f}",
                "≤ 2",
            )
        )
    for kind, label in (
        ("first_thumbnail", "12 MP preview, first view: thumbnail"),
        ("first", "12 MP preview, first view: full"),
        ("cached", "12 MP preview, cached"),
    ):
        if preview[kind]:
            table.append(
                (
                    f"{label} (n={len(preview[kind])})",
                    f"{statistics.median(preview[kind]) * 1e3:.0f} ms median",
                    "",
                    "incl. 100 ms debounce",
                )
            )
    table.append(
        (
            "exact count shown, after the first page",
            f"{browse['count_after_first_page'] * 1e3:.0f} ms",
            "",
            "counting reads every image",
        )
    )
    table.append(("jump to the end (End), first time", f"{browse['end'] * 1e3:.0f} ms", "", ""))
    table.append(
        (
            f"peak RSS scrolling {browse['rows_scrolled']:,} rows",
            f"{browse['peak_rss_mb']:.0f} MB",
            "",
            "",
        )
    )
    table.append(("peak RSS with 12 MP previews", f"{preview['peak_rss_mb']:.0f} MB", "", ""))

    _print_table(table)
    print(
        "\nratio: start-up against the minimal app's first screen; "
        "pages against the fastest hand-written pymongo query for the same rows"
    )


def _print_table(table: list[tuple[str, str, str, str]]) -> None:
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    header = ("measure", "value", "ratio", "goal / note")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    for row in (header, *table):
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}")


def _browse_table(library: str, sixel: bool = False) -> None:
    """Scrolling in the list and in the grid, one child each, from the same run (and
    with ``sixel``, the grid with Sixel tiles: a third child, a third column)."""
    runs = [("list", _spawn("browse", library, timeout=900)[1])]
    runs.append(("grid", _spawn("grid", library, timeout=900)[1]))
    if sixel:
        runs.append(("grid, Sixel", _spawn("grid-sixel", library, timeout=900)[1]))
    grid = runs[1][1]
    print(f"{'measure':<34}" + "".join(f"  {name:>26}" for name, _ in runs))

    def figures(values: list[float] | None) -> str:
        if not values:
            return "—"
        return f"{statistics.median(values) * 1e3:.1f} / p95 {_p95(values) * 1e3:.1f} ms"

    painted = [f"{d['first_grid'] * 1e3:.0f} ms" if "first_grid" in d else "" for _, d in runs]
    print(f"{'first grid painted, every tile':<34}" + "".join(f"  {p:>26}" for p in painted))
    for key in ("l", "j", "pagedown"):
        label = f"key→repaint {key} (median / p95)"
        print(f"{label:<34}" + "".join(f"  {figures(data.get(key)):>26}" for _, data in runs))
    for name, data in runs:
        late = ", ".join(f"{k} {data.get(f'{k}_blank', 0)}" for k in ("l", "j", "pagedown"))
        print(f"  {name}: keys whose first moved frame was not yet complete: {late}")
    rss = [f"{data['peak_rss_mb']:.0f} MB" for _, data in runs]
    print(f"{'peak RSS':<34}" + "".join(f"  {r:>26}" for r in rss))
    sent = [f"{data.get('screen_bytes', 0) / 1024:.0f} KB" for _, data in runs]
    print(f"{'full repaint of the last screen':<34}" + "".join(f"  {b:>26}" for b in sent))
    print("grid goal: PgDn p95 ≤ 300 ms with every tile drawn; peak RSS < 250 MB")
    if grid.get("pagedown"):
        report_goal("grid PgDn p95 / 300 ms", _p95(grid["pagedown"]) / 0.3, 1.0)
    report_goal("grid peak RSS / 250 MB", grid["peak_rss_mb"] / 250, 1.0)
    if sixel:
        sixels = runs[2][1]
        if sixels.get("pagedown"):
            p95 = _p95(sixels["pagedown"])
            report_goal("Sixel grid PgDn p95 / 300 ms", p95 / 0.3, 1.0, note="headless")
        report_goal("Sixel grid peak RSS / 250 MB", sixels["peak_rss_mb"] / 250, 1.0)


if __name__ == "__main__":
    main()
