"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any


def median_seconds(work: Callable[[], Any], repeat: int = 5) -> tuple[float, Any]:
    """Run ``work`` ``repeat`` times: the median seconds, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def user_environment(**extra: str) -> dict[str, str]:
    """The environment for a timed child process, as a user's shell would give it.

    Without PYTHONDONTWRITEBYTECODE (set in some sandboxes and CI images): with it,
    an editable install compiles every one of the app's modules from source at each
    start, about 35 ms of CPU that no user pays after their first run, while the
    packages it is compared with (Textual, pymongo) were compiled by pip. The first,
    untimed run of a child writes the bytecode, as a user's first start does.
    """
    environment = {**os.environ, **extra}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment
