"""The package's shape: short modules that say what they are for, and no import circle."""

from __future__ import annotations

import ast
from pathlib import Path

import imagerepo_tui

PACKAGE = Path(imagerepo_tui.__file__).parent
MAX_LINES = 500


def _modules(package: Path) -> dict[str, Path]:
    """Dotted module name → source file, packages named by their ``__init__``."""
    modules = {}
    for source in package.rglob("*.py"):
        parts = list(source.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = source
    return modules


def _import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Which of the package's modules each one imports, anywhere in it: lazy imports
    inside functions and ``TYPE_CHECKING`` blocks count too."""

    def known(name: str) -> str:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        return name if name in modules else ""

    graph: dict[str, set[str]] = {}
    for name, source in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Import):
                targets.update(known(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets.update(known(f"{node.module}.{alias.name}") for alias in node.names)
        graph[name] = targets - {"", name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that reach each other (strongly connected, more than one)."""
    order: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = lowest[module] = len(order)
        stack.append(module)
        for target in graph.get(module, ()):
            if target not in order:
                visit(target)
                lowest[module] = min(lowest[module], lowest[target])
            elif target in stack:
                lowest[module] = min(lowest[module], order[target])
        if lowest[module] == order[module]:
            group = stack[stack.index(module) :]
            del stack[stack.index(module) :]
            if len(group) > 1:
                circles.append(sorted(group))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return circles


def test_no_import_circle() -> None:
    graph = _import_graph(_modules(PACKAGE))
    assert len(graph) > 50 and sum(map(len, graph.values())) > 100  # the scan saw it
    assert _circles(graph) == []


def test_the_circle_finder_finds_one_through_type_checking(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "screens").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "screens" / "__init__.py").write_text("")
    (package / "app.py").write_text("from pkg.screens.browse import Browse\n")
    (package / "screens" / "browse.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.app import App\n"
    )
    (package / "other.py").write_text("def f():\n    import pkg.app\n")
    assert _circles(_import_graph(_modules(package))) == [["pkg.app", "pkg.screens.browse"]]


def test_every_module_is_short_and_opens_with_what_it_is_for() -> None:
    too_long = {}
    unexplained = []
    for source in sorted(PACKAGE.rglob("*.py")):
        relative = str(source.relative_to(PACKAGE))
        text = source.read_text()
        if text.count("\n") > MAX_LINES:
            too_long[relative] = text.count("\n")
        docstring = ast.get_docstring(ast.parse(text))
        if not text.startswith('"""') or not docstring or len(docstring.split("\n")[0]) < 10:
            unexplained.append(relative)
    assert too_long == {}
    assert unexplained == []
