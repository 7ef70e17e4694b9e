"""A database that cannot be used is one clear line and exit status 1, promptly."""

from __future__ import annotations

import time

import pytest

from tests.support import assert_no_traceback, run_cli


def _one_error_line(done) -> str:
    assert_no_traceback(done.stdout, done.stderr)
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ")
    return line


def test_unreachable_database() -> None:
    started = time.monotonic()
    done = run_cli("--db", "mongodb://alice:s3cret@127.0.0.1:1/x", "ls", timeout=30)
    assert time.monotonic() - started < 10
    line = _one_error_line(done)
    # Named without its password.
    assert "cannot reach MongoDB at mongodb://alice:***@127.0.0.1:1/x" in line
    assert "s3cret" not in done.stderr


@pytest.mark.parametrize("uri", ["notmongo://x", "mongodb://", "mongodb://host:notaport/x"])
@pytest.mark.parametrize("command", [["ls"], ["info", "abcdef"], ["upload", "/nonexistent"]])
def test_invalid_database_uri(uri: str, command: list[str]) -> None:
    started = time.monotonic()
    done = run_cli("--db", uri, *command, timeout=30)
    assert time.monotonic() - started < 10
    assert "invalid database URI" in _one_error_line(done)


def test_invalid_uri_from_the_environment() -> None:
    done = run_cli("ls", env={"IMAGEREPO_DB": "notmongo://x"}, timeout=30)
    assert "invalid database URI 'notmongo://x'" in _one_error_line(done)
