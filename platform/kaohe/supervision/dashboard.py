"""The supervision dashboard: per child unit of a node, for one routine
period and one year, how far each unit got and what looks odd.

Every figure is one grouped query over the node's subtree (``facts``: the
number of queries per page does not depend on the number of units or
people), keyed by assessment unit; ``board.assemble`` rolls the per-unit rows
up to the node's children in Python.  Large subtrees read the ``snapshot``
the refresh job stored.  Results are cached per (node, year, period) for a
short time (``KAOHE_DASHBOARD_CACHE_SECONDS``, default 30): the page says how
old the figures are.
"""
from __future__ import annotations

import datetime as dt
import time

from flask import current_app

from ..core.clock import local_today
from ..tenancy.models import OrgNode
from . import snapshot
from .board import Dashboard, add_reminders, assemble, cache_get, cache_put, cache_seconds
from .facts import (collect, default_period, period_keys, reminder_counts, settings_for, unit_total,
                    units_and_children)


def cached(node: OrgNode, year: int | None = None) -> Dashboard | None:
    """The cached dashboard of ``node`` for this year's default period, if
    one is fresh (never builds)."""
    today = local_today()
    return cache_get((node.root_id, node.id, int(year or today.year), None, today), cache_seconds())


def build(node: OrgNode, *, year: int | None = None, period_key: str | None = None,
          today: dt.date | None = None, use_cache: bool = True, use_snapshot: bool | None = None) -> Dashboard:
    today = today or local_today()
    year = int(year or today.year)
    cache_key = (node.root_id, node.id, year, period_key, today)
    ttl = cache_seconds()
    if use_cache and ttl > 0:
        hit = cache_get(cache_key, ttl)
        if hit is not None:
            return hit
    counter = [0]
    limit = current_app.config["KAOHE_DASHBOARD_LIVE_MAX_UNITS"]
    if use_snapshot is None:
        use_snapshot = unit_total(node, counter) > limit
    if use_snapshot:
        # The refresh job stored this node's whole board: one row, plus the
        # live reminders (a million people: one row instead of 26,670).
        board = snapshot.load_board(node, year, period_key, today, counter)
        if board is not None:
            add_reminders(board, node, reminder_counts(node, counter))
            board.queries = counter[0]
            board.extra["source"] = "snapshot"
            if use_cache and ttl > 0:
                cache_put(cache_key, board)
            return board
    children, child_of, units = units_and_children(node, counter)
    keys = period_keys(node, year, counter)
    key_names = [k for k, _start in keys]
    if period_key not in key_names:
        period_key = default_period(keys, today)
    settings = settings_for(node, year)
    source, as_of = "live", time.time()
    raw = None
    if use_snapshot:
        got = snapshot.load(node, year, period_key, counter)
        if got is not None:
            raw, as_of = got
            source = "snapshot"
    if raw is None:
        raw = collect(node, year, period_key, today, counter, settings)
    reminders = reminder_counts(node, counter)
    board = assemble(node, children, child_of, units, raw, reminders, settings, today, year, period_key,
                     key_names, counter)
    board.computed_at = as_of
    board.extra["source"] = source
    if use_cache and ttl > 0:
        cache_put(cache_key, board)
    return board
