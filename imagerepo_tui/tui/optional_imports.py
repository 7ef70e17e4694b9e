"""Keeping an optional dependency of a library out of the app's start-up."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def hidden_module(name: str) -> Iterator[None]:
    """Imports inside see ``name`` as not installed, as a library with an optional
    dependency (``try: import name except ImportError``) is made to expect. Does
    nothing if the module is already loaded; afterwards it can be imported again."""
    if name in sys.modules:
        yield
        return
    sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail
    try:
        yield
    finally:
        if sys.modules.get(name, 0) is None:
            del sys.modules[name]
