"""Keeping an optional dependency of a library out of the app's start-up, and
textual-image's terminal probe under control."""

from __future__ import annotations

import logging
import os
import re
import select
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

try:
    import termios
    import tty

    HAVE_TERMIOS = True
except ImportError:  # Windows
    HAVE_TERMIOS = False


@contextmanager
def hidden_module(name: str) -> Iterator[None]:
    """Imports inside see ``name`` as not installed, as a library with an optional
    dependency (``try: import name except ImportError``) is made to expect. Does
    nothing if the module is already loaded; afterwards it can be imported again."""
    if name in sys.modules:
        yield
        return
    # None makes `import name` fail (documented for sys.modules; typeshed allows only
    # modules there).
    sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.modules.get(name, 0) is None:
            del sys.modules[name]


# -- textual-image and the terminal ------------------------------------------------------

# xterm's title stack (XTWINOPS 22/23): saved before the probe, restored after it.
# tmux (and GNU screen) take the Kitty query, an APC string, for a window title.
_SAVE_TITLE, _RESTORE_TITLE = "\x1b[22;0t", "\x1b[23;0t"
# Device status report: every VT100-like terminal answers "ESC [ 0 n", after its answers
# to earlier queries. textual-image never asks it, so its answer is ours alone (a late
# answer to the probe's own device-attributes query cannot be mistaken for it).
_DEVICE_STATUS = "\x1b[5n"
_DEVICE_STATUS_ANSWER = re.compile(rb"\x1b\[0n")
_DRAIN_TIMEOUT_S = 0.5
# Primary device attributes: every VT100-like terminal answers it, after its answers to
# the questions asked before it (textual-image's Sixel probe asks it too).
_DEVICE_ATTRIBUTES = "\x1b[c"
_DEVICE_ATTRIBUTES_ANSWER = rb"\x1b\[\?[\d;]*c"


def load_image_widgets(graphics: str) -> None:
    """Import textual-image before the app does, asking the terminal only what
    ``graphics`` leaves open.

    On import it asks the terminal about Sixel and Kitty graphics (and the cell size
    when the window size ioctl gives no pixels). With an explicit ``--graphics`` that
    is not needed: nothing is asked, and the cell size comes from the ioctl or a
    default. With ``auto`` the terminal is asked, then left as found: titles restored
    and late answers read off the input rather than typed into the app.
    """
    if "textual_image.widget" in sys.modules:
        return
    # Its logger warns (with a traceback) when a query fails; no handler would mean
    # Python's last-resort one, printing on the terminal before the app starts.
    logging.getLogger("textual_image").addHandler(logging.NullHandler())
    probe = graphics == "auto" and _interactive()
    terminal = _terminal_left_as_found() if probe else _no_terminal_queries()
    with hidden_module("numpy"), terminal:  # numpy: see widgets/preview.py
        import textual_image.widget  # noqa: F401


@contextmanager
def _queries_with_a_sentinel() -> Iterator[SimpleNamespace]:
    """textual-image waits 0.1 s for an answer a terminal never gives (tmux never
    answers the Kitty graphics query): 0.1 s more before every start. Each of its
    questions is followed here by the device-attributes one, so an answer not given
    is known as soon as that one's answer comes first. A terminal that answers
    neither still costs the timeout. Yields ``.late``: whether an answer may still
    be coming (a timeout, or the sentinel's own answer after the question's), for
    ``_drain_answers`` to read; when every answer was read, nothing is left to drain."""
    from textual_image import _terminal

    original = _terminal.capture_terminal_response
    state = SimpleNamespace(late=False)

    @contextmanager
    def capture(
        start_marker: str, end_marker: str, timeout: float | None = None
    ) -> Iterator[SimpleNamespace]:
        if (start_marker, end_marker) == ("\x1b[?", "c") or not HAVE_TERMIOS:
            answered = False
            try:
                with original(start_marker, end_marker, timeout) as response:
                    yield response
                answered = HAVE_TERMIOS
            finally:
                state.late = state.late or not answered  # once late, always
            return
        response = SimpleNamespace(sequence="")
        stdin, stdout = sys.__stdin__, sys.__stdout__
        if stdin is None or stdout is None:
            raise _terminal.TerminalError("no terminal")
        received = b""
        try:
            with _cbreak(stdin.fileno()):
                yield response  # the caller writes its question
                stdout.write(_DEVICE_ATTRIBUTES)
                stdout.flush()
                answer = re.escape(start_marker.encode()) + rb".*?"
                answer += re.escape(end_marker.encode())
                received = _read_until(
                    stdin.fileno(),
                    re.compile(answer + b"|" + _DEVICE_ATTRIBUTES_ANSWER, re.DOTALL),
                    _DRAIN_TIMEOUT_S if timeout is None else timeout,
                )
        finally:
            # Every answer is read once the sentinel's came: it is asked last.
            settled = re.search(_DEVICE_ATTRIBUTES_ANSWER, received) is not None
            state.late = state.late or not settled
        found = re.search(answer, received, re.DOTALL)
        if found is None:
            raise _terminal.TerminalError("not answered before the device attributes")
        response.sequence = found.group().decode("utf-8", "replace")

    _terminal.capture_terminal_response = capture
    try:
        yield state
    finally:
        _terminal.capture_terminal_response = original


def _interactive() -> bool:
    streams = (sys.__stdin__, sys.__stdout__)
    return all(stream is not None and stream.isatty() for stream in streams)


@contextmanager
def _no_terminal_queries() -> Iterator[None]:
    """textual-image's query helper fails at once, before writing anything; its probe
    modules keep that failing helper (they only query on import)."""
    from textual_image import _terminal

    @contextmanager  # like the helper it stands in for; raises when called, as before
    def refuse(
        start_marker: str, end_marker: str, timeout: float | None = None
    ) -> Iterator[SimpleNamespace]:
        raise _terminal.TerminalError("not asking the terminal: --graphics was given")

    original = _terminal.capture_terminal_response
    _terminal.capture_terminal_response = refuse
    try:
        yield
    finally:
        _terminal.capture_terminal_response = original


@contextmanager
def _terminal_left_as_found() -> Iterator[None]:
    out = sys.__stdout__
    assert out is not None
    out.write(_SAVE_TITLE)
    out.flush()
    answers = SimpleNamespace(late=True)
    try:
        with _queries_with_a_sentinel() as answers:
            yield
    finally:
        if answers.late:
            _drain_answers()
        out.write(_RESTORE_TITLE)
        out.flush()


def _drain_answers() -> None:
    """Ask for the device status and read the input up to its answer: an answer to an
    earlier query that came after its probe gave up arrives before it, and is consumed
    here instead of reaching the app as keys."""
    if not HAVE_TERMIOS:  # Windows: textual-image reads no answers there either
        return
    stdin = sys.__stdin__
    stdout = sys.__stdout__
    assert stdin is not None and stdout is not None
    fd = stdin.fileno()
    with _cbreak(fd):
        stdout.write(_DEVICE_STATUS)
        stdout.flush()
        _read_until(fd, _DEVICE_STATUS_ANSWER, _DRAIN_TIMEOUT_S)


@contextmanager
def _cbreak(fd: int) -> Iterator[None]:
    """The terminal's answers readable as they come, not echoed; then as it was."""
    mode = termios.tcgetattr(fd)
    tty.setcbreak(fd, termios.TCSANOW)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, mode)


def _read_until(fd: int, answer: re.Pattern[bytes], timeout: float) -> bytes:
    """What the terminal sent, up to ``answer`` (or ``timeout``)."""
    # A byte at a time: keys typed after the answer stay for the app.
    received = b""
    deadline = time.monotonic() + timeout
    while not answer.search(received):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            break
        received += os.read(fd, 1)
    return received
