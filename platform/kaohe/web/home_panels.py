"""Home-page panels contributed by slices (to-do lists, shortcuts)."""
from __future__ import annotations

from typing import Callable

PANELS: list[Callable[[], dict | None]] = []


def add_panel(fn: Callable[[], dict | None]) -> Callable:
    if fn not in PANELS:
        PANELS.append(fn)
    return fn


def panels() -> list[dict]:
    out = []
    for fn in PANELS:
        panel = fn()
        if panel:
            out.append(panel)
    return out
