"""Keep decoder noise off the terminal: C libraries writing to file descriptor 2 (libtiff
prints its errors straight there) and Pillow's Python warnings become text the caller
folds into one message per file.

Why this shape:

* The app's own terminal output must not share fd 2 with C libraries. Textual draws the
  whole TUI through ``sys.__stderr__`` (its Linux driver writes frames there), and the
  CLI prints messages and a progress bar through ``sys.stderr`` from several threads.
  ``private_stderr()`` gives both a duplicate of the terminal's descriptor, so fd 2 can
  then be pointed elsewhere without blanking the screen or swallowing messages.
* Which file a libtiff message belongs to is only knowable at the moment it is printed,
  and decoding runs in several threads at once. ``capture_fd2()`` points fd 2 at a
  private temporary file for the duration of one decode and reads back what landed
  there. The windows are serialised by a lock; they are taken only for formats whose
  decoders print (TIFF), so other formats still decode in parallel. A file rather than
  a pipe: nothing has to drain it while libtiff writes, so a burst of messages can
  never block a decoder.
* For the TUI's whole life ``divert_fd2()`` points fd 2 at a log file, so whatever a C
  library prints outside a window (or a decoder we did not think of) lands there, not
  over the screen.
* Python warnings are routed per thread: ``warnings.catch_warnings`` swaps global state
  and is not safe with decoder threads, so a ``showwarning`` hook hands a warning to the
  collector of the thread that raised it, and to the previous hook otherwise. Only the
  message text is kept: never Pillow's file name and line (a site-packages path).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, TextIO

# What one decode may print that is worth reading back; the rest is dropped.
_MAX_CAPTURED_BYTES = 16 * 1024

# Held while fd 2 is being repointed: one capture window at a time, and the TUI's
# diversion never interleaves with one.
_fd2_lock = threading.RLock()
_window_file: IO[bytes] | None = None
_terminal_stderr: TextIO | None = None  # set once private_stderr() has moved Python's stderr
_original_stderr: TextIO | None = None  # kept referenced: it is the object on fd 2

_thread_state = threading.local()
_previous_showwarning: Any = None
_hook_lock = threading.Lock()


# -- C libraries: file descriptor 2 -----------------------------------------------------


def _window_sink() -> IO[bytes]:
    global _window_file
    if _window_file is None:
        # Open for the process's life, reused by every window.
        _window_file = tempfile.TemporaryFile()  # noqa: SIM115
    return _window_file


def _read_back(sink: IO[bytes]) -> list[str]:
    sink.seek(0)
    data = sink.read(_MAX_CAPTURED_BYTES)
    sink.seek(0)
    sink.truncate()
    text = data.decode("utf-8", "replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _dup_fd2() -> int | None:
    try:
        return os.dup(2)
    except OSError:
        return None


@contextlib.contextmanager
def capture_fd2(into: list[str]) -> Iterator[None]:
    """Append to ``into`` the lines C code writes to fd 2 inside the block.

    Serialised: other threads wait for their own window. Python's ``sys.stderr`` still
    reaches the terminal meanwhile once ``private_stderr()`` has run (the CLI and TUI
    do); without it (a library user, the tests) another thread's stderr output during a
    window is read back as if the decoder had printed it.
    """
    with _fd2_lock:
        sink = _window_sink()
        with contextlib.suppress(Exception):
            sys.stderr.flush()  # what Python already wrote belongs before the window
        saved = _dup_fd2()
        if saved is None:  # no fd 2 at all: nothing can reach a terminal through it
            yield
            return
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            into.extend(_read_back(sink))


def private_stderr() -> bool:
    """Move Python's ``sys.stderr`` and ``sys.__stderr__`` to a duplicate of fd 2.

    For a whole process (the installed command): afterwards fd 2 can be captured or
    diverted while the app's own output, Textual's included (it reads
    ``sys.__stderr__`` when the app is built), still reaches the terminal. Idempotent;
    returns whether Python's stderr is now separate from fd 2.
    """
    global _terminal_stderr, _original_stderr
    if _terminal_stderr is not None:
        return True
    original = sys.__stderr__
    if original is None:
        return False
    try:
        original.flush()
        duplicate = os.dup(original.fileno())
    except (OSError, ValueError):
        return False
    # Line-buffered text, as Python's own stderr is.
    stream = os.fdopen(duplicate, "w", 1, encoding=original.encoding, errors=original.errors)
    _original_stderr, _terminal_stderr = original, stream
    if sys.stderr is original:  # not when something (pytest, say) redirected it
        sys.stderr = stream
    sys.__stderr__ = stream  # type: ignore[misc]  # typeshed's Final; it is assignable
    return True


@contextlib.contextmanager
def divert_fd2(log: Path) -> Iterator[None]:
    """Point fd 2 at ``log`` (truncated; ``/dev/null`` if it cannot be opened) inside
    the block. Does nothing unless ``private_stderr()`` could separate Python's stderr:
    diverting the descriptor the app draws on would blank it."""
    if not private_stderr():
        yield
        return
    with _fd2_lock:
        target = _open_log(log)
        saved = os.dup(2)
        os.dup2(target, 2)
        os.close(target)
    try:
        yield
    finally:
        with _fd2_lock:
            os.dup2(saved, 2)
            os.close(saved)


def _open_log(log: Path) -> int:
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        return os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError:
        return os.open(os.devnull, os.O_WRONLY)


# -- Python warnings --------------------------------------------------------------------


def _showwarning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    collector: list[str] | None = getattr(_thread_state, "warnings", None)
    if collector is None:
        _previous_showwarning(message, category, filename, lineno, file, line)
    else:
        collector.append(str(message))


def _install_hook() -> None:
    global _previous_showwarning
    with _hook_lock:
        if warnings.showwarning is not _showwarning:
            _previous_showwarning = warnings.showwarning
            warnings.showwarning = _showwarning


@contextlib.contextmanager
def collect_warnings(into: list[str]) -> Iterator[None]:
    """Append to ``into`` the text of each warning this thread shows inside the block,
    instead of printing it. Filters still decide what is shown (an ignored warning
    stays ignored; ``warnings.catch_warnings`` elsewhere overrides the hook meanwhile)."""
    _install_hook()
    outer = getattr(_thread_state, "warnings", None)
    _thread_state.warnings = into
    try:
        yield
    finally:
        _thread_state.warnings = outer
