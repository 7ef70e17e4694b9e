"""The package type-checks: mypy, configured in pyproject.toml, finds nothing.

CI runs plain ``pytest``, so this is what makes it run the type checker too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(600)  # a cold run checks every module and its imports' stubs
def test_mypy_finds_no_errors() -> None:
    # No skip when mypy is missing: it is in the test extras, and a skip would pass CI.
    # From the project root so mypy reads [tool.mypy] in pyproject.toml.
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "imagerepo_tui"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"mypy found errors:\n{done.stdout}{done.stderr}"
