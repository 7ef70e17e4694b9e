"""The baseline of the start-up figures: a minimal Textual app (one Static "hello"),
run as its own script so that it pays for nothing but Textual's own start."""

from textual.app import App, ComposeResult
from textual.widgets import Static


class Minimal(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("hello")


if __name__ == "__main__":
    Minimal().run()
