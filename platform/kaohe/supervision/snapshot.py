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
from .models import UnitStat

DATE_FIELDS = {"routine": ("starts_on", "ends_on", "publicity_from", "publicity_until"),
               "annual": ("publicity_start", "publicity_end"), "appeals": ("next_deadline",)}


def max_age() -> float:
    return float(current_app.config.get("KAOHE_DASHBOARD_SNAPSHOT_SECONDS", 900))


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
    from .dashboard import _in_subtree

    # Table columns, not ORM attributes: tens of thousands of rows skip the ORM
    # row machinery.  The scope is in the WHERE clause (root and subtree), and
    # RLS holds on PostgreSQL.
    t = UnitStat.__table__
    rows = db.session.execute(
        select(t.c.org_id, t.c.data, t.c.computed_at)
        .where(t.c.root_id == node.root_id, t.c.year == year, t.c.period_key == (period_key or ""),
               _in_subtree(t.c.org_id, node))).all()
    counter[0] += 1
    if not rows:
        return None
    oldest = min(r.computed_at for r in rows)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.timezone.utc)
    age = (utcnow() - oldest).total_seconds()
    if age > max_age():
        return None
    return {r.org_id: _decode(r.data) for r in rows}, oldest.timestamp()


def refresh(node: OrgNode, year: int, period_key: str | None = None, today: dt.date | None = None,
            progress=None) -> dict:
    """Recompute and store the snapshot of every unit below ``node`` (flush only)."""
    from . import dashboard as dash

    today = today or local_today()
    counter = [0]
    t0 = time.perf_counter()
    if period_key is None:
        keys = dash.period_keys(node, year, counter)
        started = [k for k, start in keys if start <= today]
        period_key = started[0] if started else (keys[-1][0] if keys else None)
    settings = dash._settings(node, year)
    raw = dash.collect(node, year, period_key, today, counter, settings)
    _children, _child_of, units = dash._units_and_children(node, counter)
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
    db.session.flush()
    dash.clear_cache()
    if progress:
        progress(len(units), len(units), "stored")
    return {"units": len(units), "period": period_key, "year": year, "queries": counter[0],
            "seconds": round(time.perf_counter() - t0, 2)}
