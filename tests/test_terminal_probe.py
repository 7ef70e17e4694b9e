"""textual-image's graphics probe, against a scripted terminal on a pseudo-terminal:
with an explicit ``--graphics`` nothing is asked; with ``auto`` the terminal is asked,
and left as it was found (title saved and restored, late answers not left as input).

The scripted terminal answers like a slow one: nothing the probe asks is answered in
time, and the answers come (in order, as a terminal sends them) only when the next
question that must be answered arrives. No timing decides the outcome.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import struct
import subprocess
import sys
import termios
from collections.abc import Callable
from pathlib import Path

import pytest

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("POSIX terminals only", allow_module_level=True)

_CHILD = """
import json, os, sys, tty
from imagerepo_tui.tui.optional_imports import load_image_widgets
load_image_widgets(sys.argv[1])
import textual_image.widget as widget
import textual_image.renderable as renderable
tty.setcbreak(0)
os.write(1, b"READY\\n")
stray = b""
while not stray.endswith(b"END\\n"):
    stray += os.read(0, 1)
with open(sys.argv[2], "w") as out:
    json.dump({
        "stray": stray[:-4].decode("latin-1"),
        "image": widget.Image.__name__,
        "renderable": renderable.Image.__module__.rsplit(".", 1)[1],
    }, out)
"""

DEVICE_ATTRIBUTES = b"\x1b[c"
KITTY_QUERY_START, STRING_END = b"\x1b_G", b"\x1b\\"
DEVICE_STATUS = b"\x1b[5n"
SAVE_TITLE, RESTORE_TITLE = b"\x1b[22;0t", b"\x1b[23;0t"


class SlowTerminal:
    """Reads what the program writes; answers late but in order."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.written = b""  # everything the program wrote, in order
        self._scanned = 0
        self._late: list[bytes] = []

    def feed(self, data: bytes) -> None:
        self.written += data
        while self._scanned < len(self.written):
            if not self._answer_at(self.written[self._scanned :]):
                return  # an incomplete sequence: wait for more

    def _answer_at(self, rest: bytes) -> bool:
        """Answer the sequence ``rest`` starts with; False while it is incomplete."""
        if rest.startswith(DEVICE_ATTRIBUTES):
            self._late.append(b"\x1b[?62;22c")  # a VT220-class terminal, no Sixel
            self._scanned += len(DEVICE_ATTRIBUTES)
        elif rest.startswith(KITTY_QUERY_START):
            end = rest.find(STRING_END)
            if end < 0:
                return False
            self._late.append(b"\x1b_Gi=1;OK\x1b\\")
            self._scanned += end + len(STRING_END)
        elif rest.startswith(DEVICE_STATUS):
            self._send_late(b"\x1b[0n")
            self._scanned += len(DEVICE_STATUS)
        elif rest.startswith(b"READY"):
            self._send_late(b"END\n")  # the program reads its input up to here
            self._scanned += len(b"READY")
        elif rest.startswith(b"\x1b") and len(rest) < 3:
            return False
        else:
            self._scanned += 1
        return True

    def _send_late(self, answer: bytes) -> None:
        os.write(self.master, b"".join(self._late) + answer)
        self._late.clear()


class PromptTerminal(SlowTerminal):
    """Answers at once what it answers: the device attributes always, the Kitty
    graphics query only with ``kitty`` (tmux never answers it)."""

    def __init__(self, master: int, kitty: bool) -> None:
        super().__init__(master)
        self.kitty = kitty

    def _answer_at(self, rest: bytes) -> bool:
        if rest.startswith(DEVICE_ATTRIBUTES):
            self._send_late(b"\x1b[?62;22c")
            self._scanned += len(DEVICE_ATTRIBUTES)
            return True
        if rest.startswith(KITTY_QUERY_START):
            end = rest.find(STRING_END)
            if end < 0:
                return False
            if self.kitty:
                self._send_late(b"\x1b_Gi=1;OK\x1b\\")
            self._scanned += end + len(STRING_END)
            return True
        return super()._answer_at(rest)


def _probe(
    graphics: str, tmp_path: Path, terminal_class: Callable[[int], SlowTerminal] = SlowTerminal
) -> tuple[bytes, dict[str, str]]:
    master, slave = os.openpty()
    # A window size with pixels: the cell size comes from the ioctl, not a query.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 1200, 800))
    result = tmp_path / "result.json"
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "COLUMNS", "LINES")}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, graphics, str(result)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm-256color"},
        start_new_session=True,
    )
    os.close(slave)
    terminal = terminal_class(master)
    try:
        while child.poll() is None or select.select([master], [], [], 0)[0]:
            if select.select([master], [], [], 0.05)[0]:
                try:
                    terminal.feed(os.read(master, 4096))
                except OSError:  # the child closed the terminal
                    break
    finally:
        child.wait(timeout=60)
        os.close(master)
    assert child.returncode == 0, terminal.written.decode("latin-1")
    return terminal.written, json.loads(result.read_text())


@pytest.mark.parametrize("graphics", ["halfcell", "none", "kitty", "sixel"])
def test_explicit_graphics_asks_the_terminal_nothing(graphics: str, tmp_path: Path) -> None:
    written, report = _probe(graphics, tmp_path)
    before_ready = written.split(b"READY")[0]
    assert b"\x1b" not in before_ready, before_ready
    assert report["stray"] == ""


def test_auto_asks_then_leaves_the_terminal_as_found(tmp_path: Path) -> None:
    written, report = _probe("auto", tmp_path)
    before_ready = written.split(b"READY")[0]
    # It did ask (the answers were late, so the probe found nothing: half cells).
    assert DEVICE_ATTRIBUTES in before_ready and KITTY_QUERY_START in before_ready
    assert report["image"] == "AutoImage"
    # The title is saved before the first question and restored after the last...
    first_query = min(before_ready.find(DEVICE_ATTRIBUTES), before_ready.find(KITTY_QUERY_START))
    assert before_ready.startswith(SAVE_TITLE) and before_ready.index(SAVE_TITLE) < first_query
    assert before_ready.endswith(RESTORE_TITLE)
    # ...and the answers that came too late for the probe were read off the input,
    # not left for the app to take as keys.
    assert DEVICE_STATUS in before_ready
    assert report["stray"] == ""


@pytest.mark.parametrize("kitty", [False, True])
def test_a_question_left_unanswered_is_known_without_waiting(kitty: bool, tmp_path: Path) -> None:
    """The Kitty query is followed by the device-attributes one: a terminal that answers
    that one first has not answered the Kitty query (no 0.1 s wait for it, and no
    answer left to drain); one that answers the Kitty query first gets Kitty graphics,
    and the second device-attributes answer is read off the input, not left as keys."""
    written, report = _probe("auto", tmp_path, lambda master: PromptTerminal(master, kitty=kitty))
    before_ready = written.split(b"READY")[0]
    after_kitty = before_ready.split(KITTY_QUERY_START, 1)[1]
    assert after_kitty.split(STRING_END, 1)[1].startswith(DEVICE_ATTRIBUTES)
    assert report["renderable"] == ("tgp" if kitty else "halfcell")
    assert report["stray"] == ""
    # Every answer read by then (the sentinel's last): nothing is left to drain.
    # Answered first, the Kitty query leaves the sentinel's answer to read off.
    assert (DEVICE_STATUS in before_ready) == kitty
