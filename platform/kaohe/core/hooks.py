"""A tiny in-process signal registry so lower slices (tenancy) can tell higher
ones (policy, quotas) that something changed, without importing them."""
from __future__ import annotations

from collections import defaultdict
from typing import Callable

_handlers: dict[str, list[Callable]] = defaultdict(list)


def on(event: str):
    def deco(fn: Callable) -> Callable:
        if fn not in _handlers[event]:
            _handlers[event].append(fn)
        return fn
    return deco


def fire(event: str, **kw) -> None:
    for fn in list(_handlers[event]):
        fn(**kw)
