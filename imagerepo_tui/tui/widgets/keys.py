"""The footer of keys, rebuilt once for a burst of binding changes."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    """Textual's footer, except that it rebuilds its keys once for the changes heard
    before a rebuild runs. Textual's rebuilds every key each time it hears that the
    bindings changed, and a screen opening tells it four times (mounted, resumed,
    focused, refocused): four rebuilds at 20-30 ms each, on the way to the app's first
    frames and first rows. A rebuild reads the bindings when it runs, so the keys
    shown are the same."""

    _rebuild_due = False

    def bindings_changed(self, screen: Screen[object]) -> None:
        if self._rebuild_due:
            return  # the rebuild already asked for will see this change too
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._rebuild_due = True
            self.call_after_refresh(self._rebuild)
        else:
            super().bindings_changed(screen)

    async def _rebuild(self) -> None:
        self._rebuild_due = False
        self._bindings_ready = True
        await self.recompose()
