"""Command palette: every bound action of the current screen, its panes and the app."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from textual.actions import ActionError, parse
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode


def _applies(node: DOMNode, action: str) -> bool:
    """Whether ``node`` offers the action now (the trash view turns some off)."""
    try:
        namespace, name, params = parse(action)
    except ActionError:
        return True
    return bool(namespace) or node.check_action(name, params) is not False


def _commands(screen: DOMNode) -> Iterator[tuple[str, str, DOMNode, Binding]]:
    """(name, help, node, binding) for each described binding, nearest node first."""
    nodes: list[DOMNode] = [*screen.query("*"), screen, screen.app]
    seen: set[str] = set()
    for node in nodes:
        for binding in getattr(type(node), "BINDINGS", ()):
            if not isinstance(binding, Binding) or not binding.description:
                continue
            if binding.action in ("command_palette",) or binding.action in seen:
                continue
            if not _applies(node, binding.action):
                continue
            seen.add(binding.action)
            keys = node.app.get_key_display(binding)
            yield binding.description, f"{keys}  ({binding.id or binding.action})", node, binding


class ActionsProvider(Provider):
    """Offers the actions the keys do, so nothing needs remembering."""

    async def discover(self) -> Hits:
        for name, help_text, node, binding in _commands(self.screen):
            yield DiscoveryHit(name, partial(self._run, node, binding.action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, node, binding in _commands(self.screen):
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(name),
                    partial(self._run, node, binding.action),
                    help=help_text,
                )

    async def _run(self, node: DOMNode, action: str) -> None:
        # The app's runner, with the node as the namespace: what a widget's own does.
        await node.app.run_action(action, node)
