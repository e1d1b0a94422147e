"""The dashboard board: what a supervision page shows for a node (one row
per child, totals, flags, charts), how ``assemble`` rolls per-unit figures
up into it (pure, through ``calc``), live reminder counts added to a stored
board, and the short in-process cache of built boards
(``KAOHE_DASHBOARD_CACHE_SECONDS``)."""
from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..tenancy.models import OrgNode
from . import calc


@dataclass
class UnitRow:
    """One assessment unit as the dashboard sees it."""

    id: int
    path: str
    code: str
    name: str
    name_en: str | None
    parent_id: int | None


@dataclass
class Dashboard:
    node_id: int
    year: int
    period_key: str | None
    period_keys: list[str]
    today: dt.date
    children: list[dict]          # one row per child (rolled-up figures)
    totals: dict
    flags: list[dict]
    charts: dict
    computed_at: float
    queries: int = 0
    units_total: int = 0
    extra: dict = field(default_factory=dict)


_cache: dict[tuple, tuple[float, Dashboard]] = {}
_cache_lock = threading.Lock()


def cache_seconds() -> float:
    return current_app.config["KAOHE_DASHBOARD_CACHE_SECONDS"]

def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def cache_get(key: tuple, ttl: float) -> Dashboard | None:
    with _cache_lock:
        hit = _cache.get(key)
    return hit[1] if hit and time.time() - hit[0] < ttl else None

def cache_put(key: tuple, board: Dashboard) -> None:
    with _cache_lock:
        if len(_cache) > 500:
            _cache.clear()
        _cache[key] = (time.time(), board)


def add_reminders(board: "Dashboard", node: OrgNode, reminders: dict[int, dict]) -> None:
    """Add live reminder figures (per unit) to a stored board's child rows and
    totals, the way ``calc.roll_up`` sums them."""
    if not reminders:
        return
    o = OrgNode.__table__
    rows = {r.id: r for r in db.session.execute(select(o.c.id, o.c.path, o.c.is_assessment_unit).where(
        o.c.root_id == node.root_id, o.c.id.in_(list(reminders)))).all()}
    by_id = {c["id"]: c for c in board.children}
    prefix = len(node.path)
    for org_id, rem in reminders.items():
        r = rows.get(org_id)
        if r is None or not r.is_assessment_unit or not r.path.startswith(node.path):
            continue
        child = node.id if org_id == node.id else int(r.path[prefix:].split("/", 1)[0])
        for target in (board.totals, by_id.get(child)):
            if target is None:
                continue
            target["reminders_sent"] = target.get("reminders_sent", 0) + int(rem.get("sent", 0))
            target["reminders_unread"] = target.get("reminders_unread", 0) + int(rem.get("unread", 0))
            last = rem.get("last")
            if last is not None and (target.get("last_reminder") is None or last > target["last_reminder"]):
                target["last_reminder"] = last


_MONTHS_PER = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}


def period_order(key: str) -> tuple[int, int, str]:
    """Chronological order of period keys ("month-11", "quarter-2", "half_year-1"): by the month
    the period ends, then the shorter period first (11月 after 第2季度, never before it)."""
    cycle, _sep, seq = key.rpartition("-")
    months = _MONTHS_PER.get(cycle, 12)
    try:
        n = int(seq)
    except ValueError:
        return (99, 99, key)
    return (n * months, months, key)


def assemble(node, children, child_of, units, raw, reminders, settings, today, year, period_key, key_names,
             counter) -> Dashboard:
    """Pure roll-up of per-unit raw figures to the node's children."""
    empty: dict = {}
    per_unit = {}
    for uid in units:
        r = raw.get(uid) or empty
        per_unit[uid] = calc.unit_figures(
            people=r.get("people", 0), routine=r.get("routine"), annual=r.get("annual"), appeals=r.get("appeals"),
            talks=r.get("talks"), reminders=reminders.get(uid), today=today, settings=settings)
    rows = []
    targets = list(children)
    if node.is_assessment_unit and node.id in units:
        targets = [node]                  # a unit: its own row (its departments are not units)
    members: dict[int, list[int]] = {}
    for uid, cid in child_of.items():
        members.setdefault(cid, []).append(uid)
    for c in targets:
        member_units = [node.id] if c.id == node.id else members.get(c.id, [])
        fig = calc.roll_up([per_unit[u] for u in member_units])
        fig.update(id=c.id, code=c.code, name=c.name, name_en=c.name_en, kind=c.kind,
                   is_unit=bool(c.is_assessment_unit), unit_ids=member_units if c.is_assessment_unit else [])
        rows.append(fig)
    totals = calc.roll_up(list(per_unit.values()))
    calc.mark_not_opened(totals, bool(period_key))
    flags = calc.flags_for_units(per_unit, settings, today)
    for uid in units:
        for f in (raw.get(uid) or empty).get("flags", []):
            flags.append(dict(f, unit_id=uid))
    for f in flags:
        u = units.get(f["unit_id"])
        if u:
            f.update(unit_code=u.code, unit_name=u.name, unit_name_en=u.name_en,
                     child_id=child_of.get(f["unit_id"]))
    flags.sort(key=lambda f: (f.get("unit_code") or "", f["code"]))
    flag_count: dict[int, int] = {}
    for f in flags:
        key = f.get("child_id") if f.get("child_id") is not None else f["unit_id"]
        flag_count[key] = flag_count.get(key, 0) + 1
    for r in rows:
        calc.mark_not_opened(r, bool(period_key))
        r["flags"] = flag_count.get(r["id"], 0)
        r["lagging"] = calc.is_lagging(r)
    charts = _charts(rows, [(raw.get(uid) or empty).get("charts", {}) for uid in units])
    return Dashboard(node_id=node.id, year=year, period_key=period_key, period_keys=key_names, today=today,
                     children=rows, totals=totals, flags=flags, charts=charts, computed_at=time.time(),
                     queries=counter[0], units_total=len(units), extra={"settings": settings})


def _charts(rows, unit_charts: list[dict]) -> dict:
    charts: dict[str, Any] = {}
    labels = [r["name"] for r in rows]
    grades = ["hao", "jiaohao", "yiban", "jiaocha"]
    charts["routine_grades"] = {"categories": labels,
                                "series": {g: [r["routine_grades"].get(g, 0) for r in rows] for g in grades}}
    agrades = ["youxiu", "chenzhi", "jibenchenzhi", "buchenzhi"]
    charts["annual_grades"] = {"categories": labels,
                               "series": {g: [r["annual_grades"].get(g, 0) for r in rows] for g in agrades}}
    charts["completion"] = {"categories": labels, "series": {
        k: [r["completion"][k] for r in rows] for k in ("work_records", "ratings", "computed", "publicised", "final")}}
    over: dict[str, list[int]] = {}
    hist = [0] * 21
    trend: dict[str, dict] = {}
    for c in unit_charts:
        for k, v in (c.get("over_time") or {}).items():
            acc = over.setdefault(k, [0, 0, 0, 0])
            for i in range(4):
                acc[i] += v[i]
        for i, n in enumerate(c.get("hist") or []):
            hist[i] += n
        for y, g in (c.get("trend") or {}).items():
            t = trend.setdefault(y, {})
            for grade, n in g.items():
                t[grade] = t.get(grade, 0) + n
    keys = sorted(over, key=period_order)
    charts["over_time"] = {"categories": keys, "series": {
        s: [over[k][i] for k in keys] for i, s in enumerate(("units", "computed", "publicised", "final"))}}
    charts["score_histogram"] = {"categories": [f"{i * 5}" for i in range(21)], "series": {"people": hist}}
    ys = sorted(trend)
    charts["annual_trend"] = {"categories": ys, "series": {g: [trend[y].get(g, 0) for y in ys] for g in agrades}}
    return charts
