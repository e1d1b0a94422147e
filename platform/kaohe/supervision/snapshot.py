"""Dashboard snapshots: each assessment unit's raw figures for a (year,
period) kept in ``supervision_unit_stat``, so a province of a million people
reads a few thousand small rows instead of scanning every result.

Written by the ``supervision.refresh_stats`` job (a province or any subtree;
`kaohe supervision refresh`, or the page's refresh button on large
subtrees); read by ``dashboard.build`` for subtrees above
``KAOHE_DASHBOARD_LIVE_MAX_UNITS`` units while younger than
``KAOHE_DASHBOARD_SNAPSHOT_SECONDS`` (default 900).  Set-based: one
collection pass, then a bulk delete and a bulk insert."""
from __future__ import annotations

import datetime as dt
import time

from flask import current_app
from sqlalchemy import delete, insert, select

from ..core.clock import local_today
from ..core.db import utcnow
from ..extensions import db
from ..tenancy.models import OrgNode
from .board import Dashboard, assemble, clear_cache
from .facts import collect, default_period, in_subtree, period_keys, settings_for, units_and_children
from .models import BoardStat, UnitStat

DATE_FIELDS = {"routine": ("starts_on", "ends_on", "publicity_from", "publicity_until"),
               "annual": ("publicity_start", "publicity_end"), "appeals": ("next_deadline",)}


def max_age() -> float:
    return current_app.config["KAOHE_DASHBOARD_SNAPSHOT_SECONDS"]


def _encode(raw: dict) -> dict:
    out = dict(raw)
    for part in ("routine", "annual", "appeals"):
        d = out.get(part)
        if d:
            d = dict(d)
            for k, v in list(d.items()):
                if isinstance(v, (dt.date, dt.datetime)):
                    d[k] = v.isoformat()
            if "key" in d:
                d["key"] = list(d["key"])
            out[part] = d
    for f in out.get("flags") or []:
        f["params"] = {k: (v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v)
                       for k, v in f.get("params", {}).items()}
    return out


def _decode(data: dict) -> dict:
    for part, fields in DATE_FIELDS.items():
        d = data.get(part)
        if d:
            for k in fields:
                if d.get(k):
                    d[k] = dt.date.fromisoformat(d[k][:10])
            if part == "routine" and d.get("computed_at"):
                d["computed_at"] = dt.datetime.fromisoformat(d["computed_at"])
    return data


def load(node: OrgNode, year: int, period_key: str | None, counter: list):
    """(raw figures by unit, as-of timestamp) or None when there is no fresh snapshot."""
    # Table columns, not ORM attributes: tens of thousands of rows skip the ORM
    # row machinery.  The scope is in the WHERE clause (root and subtree), and
    # RLS holds on PostgreSQL.
    t = UnitStat.__table__
    rows = db.session.execute(
        select(t.c.org_id, t.c.data, t.c.computed_at)
        .where(t.c.root_id == node.root_id, t.c.year == year, t.c.period_key == (period_key or ""),
               in_subtree(t.c.org_id, node))).all()
    counter[0] += 1
    if not rows:
        return None
    oldest = _fresh(min(r.computed_at for r in rows))
    if oldest is None:
        return None
    return {r.org_id: _decode(r.data) for r in rows}, oldest.timestamp()


def _fresh(computed_at: dt.datetime) -> dt.datetime | None:
    """``computed_at`` as an aware time (SQLite hands back naive UTC) when it
    is younger than max_age(), else None."""
    if computed_at.tzinfo is None:
        computed_at = computed_at.replace(tzinfo=dt.timezone.utc)
    return computed_at if (utcnow() - computed_at).total_seconds() <= max_age() else None


def refresh(node: OrgNode, year: int, period_key: str | None = None, today: dt.date | None = None,
            progress=None) -> dict:
    """Recompute and store the snapshot of every unit below ``node`` (flush only)."""
    today = today or local_today()
    counter = [0]
    t0 = time.perf_counter()
    keys = period_keys(node, year, counter)
    if period_key is None:
        period_key = default_period(keys, today)
    settings = settings_for(node, year)
    raw = collect(node, year, period_key, today, counter, settings)
    children, child_of, units = units_and_children(node, counter)
    if progress:
        progress(len(units) // 2, len(units), "collected")
    key = period_key or ""
    ids = list(units)
    for i in range(0, len(ids), 1000):
        db.session.execute(delete(UnitStat.__table__).where(
            UnitStat.__table__.c.root_id == node.root_id, UnitStat.__table__.c.year == year,
            UnitStat.__table__.c.period_key == key, UnitStat.__table__.c.org_id.in_(ids[i:i + 1000])))
    now = utcnow()
    rows = [{"root_id": node.root_id, "org_id": uid, "year": year, "period_key": key,
             "data": _encode(raw.get(uid) or {"people": 0}), "computed_at": now} for uid in ids]
    for i in range(0, len(rows), 2000):
        db.session.execute(insert(UnitStat.__table__), rows[i:i + 2000])
    # The pages of the node and of every node below it too large for a live
    # build, assembled once here from the same figures (without reminders:
    # those are live and added when a page is read).
    limit = current_app.config["KAOHE_DASHBOARD_LIVE_MAX_UNITS"]
    below: dict[int, int] = {}
    for u in units.values():
        # every node between ``node`` and the unit, the unit itself included
        # (as facts.unit_total counts a node's units)
        for part in u.path[len(node.path):].strip("/").split("/"):
            below[int(part)] = below.get(int(part), 0) + 1
    big = [n for n in db.session.execute(select(OrgNode).where(
        OrgNode.root_id == node.root_id, OrgNode.id.in_([i for i, n in below.items() if n > limit]))).scalars()]
    for target in [node, *big]:
        if target is node:
            t_children, t_child_of, t_units, t_keys, t_settings = children, child_of, units, keys, settings
        else:
            t_children, t_child_of, t_units = units_and_children(target, counter)
            t_keys, t_settings = period_keys(target, year, counter), settings_for(target, year)
        board = assemble(target, t_children, t_child_of, t_units, raw, {}, t_settings, today, year,
                              period_key, [k for k, _start in t_keys], counter)
        store_board(target, year, key, board, now)
        if key and period_key == default_period(t_keys, today):
            store_board(target, year, "", board, now)  # also what the page shows when no period is asked
    db.session.flush()
    clear_cache()
    if progress:
        progress(len(units), len(units), "stored")
    return {"units": len(units), "period": period_key, "year": year, "queries": counter[0],
            "seconds": round(time.perf_counter() - t0, 2)}


# -- the assembled board of the refreshed node -----------------------------------

def _tag(value):
    """JSON-safe copy of a board that keeps its dates and datetimes."""
    if isinstance(value, dict):
        return {k: _tag(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tag(v) for v in value]
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$d": value.isoformat()}
    return value


def _untag(value):
    if isinstance(value, dict):
        if len(value) == 1:
            if "$d" in value:
                return dt.date.fromisoformat(value["$d"])
            if "$dt" in value:
                return dt.datetime.fromisoformat(value["$dt"])
        return {k: _untag(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untag(v) for v in value]
    return value


_BOARD_FIELDS = ("node_id", "year", "period_key", "period_keys", "today", "children", "totals", "flags",
                 "charts", "units_total")


def store_board(node: OrgNode, year: int, key: str, board, now: dt.datetime) -> None:
    t = BoardStat.__table__
    db.session.execute(delete(t).where(t.c.root_id == node.root_id, t.c.org_id == node.id, t.c.year == year,
                                       t.c.period_key == key))
    data = _tag({f: getattr(board, f) for f in _BOARD_FIELDS} | {"settings": board.extra.get("settings")})
    db.session.execute(insert(t), [{"root_id": node.root_id, "org_id": node.id, "year": year, "period_key": key,
                                    "data": data, "computed_at": now}])


def load_board(node: OrgNode, year: int, period_key: str | None, today: dt.date, counter: list):
    """The stored board of ``node`` for (year, period) when it is fresh and
    from today, else None.  ``period_key`` None asks for the default view."""
    t = BoardStat.__table__
    row = db.session.execute(select(t.c.data, t.c.computed_at).where(
        t.c.root_id == node.root_id, t.c.org_id == node.id, t.c.year == year,
        t.c.period_key == (period_key or ""))).first()
    counter[0] += 1
    if row is None:
        return None
    computed = _fresh(row.computed_at)
    if computed is None:
        return None
    data = _untag(row.data)
    if data["today"] != today:   # overdue counts depend on the day
        return None
    settings = data.pop("settings") or {}
    return Dashboard(computed_at=computed.timestamp(), queries=0, extra={"settings": settings},
                     **{f: data[f] for f in _BOARD_FIELDS})
