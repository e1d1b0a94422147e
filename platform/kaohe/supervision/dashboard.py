"""The supervision dashboard: per child unit of a node, for one routine
period and one year, how far each unit got and what looks odd.

Every figure is one grouped query over the node's subtree (the number of
queries per page does not depend on the number of units or people), keyed by
assessment unit; ``calc`` rolls the per-unit rows up to the node's children
in Python.  Results are cached per (node, year, period) for a short time
(``KAOHE_DASHBOARD_CACHE_SECONDS``, default 30): the page says how old the
figures are.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import and_, case, distinct, func, select, true

from ..core.clock import local_today
from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from . import calc

try:  # the routine and annual slices are built in parallel; figures appear as their tables do
    from ..routine import models as rm
except ImportError:  # pragma: no cover
    rm = None
try:
    from ..annual import models as am
except ImportError:  # pragma: no cover
    am = None


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


# -- the subtree ---------------------------------------------------------------


def _in_subtree(col, node: OrgNode):
    """``col`` (an org id) inside node's subtree (always true for a province)."""
    if node.parent_id is None:
        return true()  # the whole province: the root_id filter does it
    return col.in_(select(OrgNode.id).where(OrgNode.root_id == node.root_id, OrgNode.path.like(node.path + "%")))


def default_period(keys: list[tuple[str, dt.date]], today: dt.date) -> str | None:
    """The period a page shows when none is asked: the latest one that has
    started (keys run newest first), else the earliest one."""
    started = [k for k, start in keys if start <= today]
    return started[0] if started else (keys[-1][0] if keys else None)


def unit_total(node: OrgNode, counter: list | None = None) -> int:
    """Assessment units in node's subtree (node included)."""
    if counter is not None:
        counter[0] += 1
    o = OrgNode.__table__
    return db.session.execute(select(func.count()).select_from(o).where(
        o.c.root_id == node.root_id, o.c.path.like(node.path + "%"), o.c.is_assessment_unit.is_(True))).scalar_one()


def _add_reminders(board: "Dashboard", node: OrgNode, reminders: dict[int, dict]) -> None:
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


def _units_and_children(node: OrgNode, counter: list) -> tuple[list[OrgNode], dict[int, int], dict[int, UnitRow]]:
    """The node's children (rows of the table) and, for every assessment unit
    below, which child it rolls up to."""
    o = OrgNode.__table__  # table columns: a province's units skip the ORM row machinery
    rows = db.session.execute(
        select(o.c.id, o.c.parent_id, o.c.path, o.c.code, o.c.name, o.c.name_en, o.c.kind, o.c.is_assessment_unit,
               o.c.depth)
        .where(o.c.root_id == node.root_id, o.c.path.like(node.path + "%"),
               (o.c.is_assessment_unit.is_(True)) | (o.c.parent_id == node.id))
    ).all()
    counter[0] += 1
    children = sorted([r for r in rows if r.parent_id == node.id and r.kind != "department"],
                      key=lambda r: r.code)
    units = {r.id: UnitRow(r.id, r.path, r.code, r.name, r.name_en, r.parent_id) for r in rows if r.is_assessment_unit}
    child_of: dict[int, int] = {}
    prefix_len = len(node.path)
    child_ids = {c.id for c in children}
    for u in units.values():
        if u.id == node.id:
            child_of[u.id] = node.id
            continue
        rest = u.path[prefix_len:].split("/", 1)[0]
        if rest and int(rest) in child_ids:
            child_of[u.id] = int(rest)
    return children, child_of, units


# -- per-unit figures (one query each) --------------------------------------------


def _people(node, counter) -> dict[int, int]:
    stmt = (select(Person.unit_id, func.count()).where(Person.root_id == node.root_id, Person.active.is_(True),
                                                      _in_subtree(Person.unit_id, node))
            .group_by(Person.unit_id))
    counter[0] += 1
    return dict(db.session.execute(stmt).all())


def period_keys(node: OrgNode, year: int, counter) -> list[tuple[str, dt.date]]:
    """Distinct period keys (cycle-seq) of the year in the subtree, newest first."""
    if rm is None:
        return []
    P = rm.Period
    rows = db.session.execute(
        select(P.cycle, P.seq, func.min(P.starts_on)).where(P.root_id == node.root_id, P.year == year,
                                                            _in_subtree(P.org_id, node))
        .group_by(P.cycle, P.seq)).all()
    counter[0] += 1
    return sorted(((f"{c}-{s}", start) for c, s, start in rows), key=lambda x: x[1], reverse=True)


def _routine(node, year, key, today, counter) -> dict[int, dict]:
    """Per unit: the period of ``key`` with its state and completion counts."""
    if rm is None or not key:
        return {}
    cycle, seq = key.rsplit("-", 1)
    P = rm.Period
    periods = db.session.execute(
        select(P.id, P.org_id, P.state, P.starts_on, P.ends_on, P.computed_at, P.publicity_from, P.publicity_until,
               P.finalised_at)
        .where(P.root_id == node.root_id, P.year == year, P.cycle == cycle, P.seq == int(seq),
               _in_subtree(P.org_id, node))).all()
    counter[0] += 1
    if not periods:
        return {}
    pids = select(P.id).where(P.root_id == node.root_id, P.year == year, P.cycle == cycle, P.seq == int(seq),
                              _in_subtree(P.org_id, node))
    out: dict[int, dict] = {}
    by_period: dict[int, dict] = {}
    for p in periods:
        d = {"period_id": p.id, "key": (cycle, int(seq)), "state": p.state, "starts_on": p.starts_on, "ends_on": p.ends_on,
             "computed": p.computed_at is not None, "computed_at": p.computed_at,
             "publicity_from": p.publicity_from, "publicity_until": p.publicity_until,
             "final": p.state == "final", "participants": 0, "work_records": 0, "rated": 0,
             "grades": {}, "results": 0, "score_min": None, "score_max": None, "score_avg": None, "high": 0}
        out[p.org_id] = d
        by_period[p.id] = d
    Pa, W, R, Res = rm.Participant, rm.WorkRecord, rm.Rating, rm.Result
    for pid, n in db.session.execute(select(Pa.period_id, func.count()).where(Pa.root_id == node.root_id,
                                                                             Pa.period_id.in_(pids))
                                     .group_by(Pa.period_id)):
        by_period[pid]["participants"] = n
    for pid, n in db.session.execute(select(W.period_id, func.count(distinct(W.person_id)))
                                     .where(W.root_id == node.root_id, W.period_id.in_(pids)).group_by(W.period_id)):
        by_period[pid]["work_records"] = n
    for pid, n in db.session.execute(select(R.period_id, func.count(distinct(R.ratee_id)))
                                     .where(R.root_id == node.root_id, R.rater_kind == "supervisor",
                                            R.period_id.in_(pids)).group_by(R.period_id)):
        by_period[pid]["rated"] = n
    high = float(_policy_value(node, year, "routine.high_score", 95))
    for pid, grade, n, lo, hi, avg, n_high in db.session.execute(
            select(Res.period_id, Res.grade, func.count(), func.min(Res.score), func.max(Res.score),
                   func.avg(Res.score), func.sum(case((Res.score >= high, 1), else_=0)))
            .where(Res.root_id == node.root_id, Res.period_id.in_(pids)).group_by(Res.period_id, Res.grade)):
        d = by_period[pid]
        d["grades"][grade or "none"] = n
        d["results"] += n
        d["high"] += int(n_high or 0)
        if lo is not None:
            d["score_min"] = lo if d["score_min"] is None else min(d["score_min"], lo)
            d["score_max"] = hi if d["score_max"] is None else max(d["score_max"], hi)
            d["_sum"] = d.get("_sum", 0.0) + float(avg) * n
            d["_n"] = d.get("_n", 0) + n
    counter[0] += 4
    for d in by_period.values():
        if d.get("_n"):
            d["score_avg"] = d.pop("_sum") / d.pop("_n")
    return out


def _annual(node, year, counter) -> dict[int, dict]:
    if am is None:
        return {}
    A, O = am.AnnualAssessment, am.AnnualOutcome
    rows = db.session.execute(
        select(A.id, A.org_id, A.status, A.quota, A.current_run_id, A.confirmed_at, A.publicity_start,
               A.publicity_end, A.filed_at, A.org_grade)
        .where(A.root_id == node.root_id, A.year == year, _in_subtree(A.org_id, node))).all()
    counter[0] += 1
    out: dict[int, dict] = {}
    by_id: dict[int, dict] = {}
    for a in rows:
        quota = sum(int((pool or {}).get("quota") or 0) for pool in (a.quota or {}).values()
                    if isinstance(pool, dict))
        d = {"assessment_id": a.id, "status": a.status, "quota": quota if a.quota else None,
             "computed": a.current_run_id is not None, "confirmed": a.confirmed_at is not None,
             "publicity_start": a.publicity_start, "publicity_end": a.publicity_end,
             "filed": a.filed_at is not None, "org_grade": a.org_grade, "grades": {}, "people": 0}
        out[a.org_id] = d
        by_id[a.id] = d
    if by_id:
        aids = select(A.id).where(A.root_id == node.root_id, A.year == year, _in_subtree(A.org_id, node))
        for aid, grade, n in db.session.execute(
                select(O.assessment_id, O.grade, func.count()).where(O.root_id == node.root_id,
                                                                     O.assessment_id.in_(aids))
                .group_by(O.assessment_id, O.grade)):
            by_id[aid]["grades"][grade or "none"] = n
            by_id[aid]["people"] += n
        counter[0] += 1
    return out


def _appeals(node, today, counter) -> dict[int, dict]:
    if am is None:
        return {}
    Ap = am.AnnualAppeal
    rows = db.session.execute(
        select(Ap.org_id, func.count(), func.min(Ap.decide_by), func.sum(case((Ap.decide_by < today, 1), else_=0)))
        .where(Ap.root_id == node.root_id, Ap.status == "pending", _in_subtree(Ap.org_id, node))
        .group_by(Ap.org_id)).all()
    counter[0] += 1
    return {org: {"open": n, "next_deadline": nd, "overdue": int(od or 0)} for org, n, nd, od in rows}


def _talks(node, today, counter) -> dict[int, dict]:
    """Talks due (annual talks not held yet, and routine talk tasks still open), by unit."""
    out: dict[int, dict] = {}
    if am is not None:
        T = am.AnnualTalk
        for unit, n, od in db.session.execute(
                select(Person.unit_id, func.count(), func.sum(case((T.due_on < today, 1), else_=0)))
                .join(Person, and_(Person.root_id == T.root_id, Person.id == T.person_id))
                .where(T.root_id == node.root_id, T.held_on.is_(None), _in_subtree(T.org_id, node))
                .group_by(Person.unit_id)):
            d = out.setdefault(unit, {"due": 0, "overdue": 0})
            d["due"] += n
            d["overdue"] += int(od or 0)
        counter[0] += 1
    if rm is not None:
        K = rm.Task
        for unit, n, od in db.session.execute(
                select(Person.unit_id, func.count(), func.sum(case((K.due_on < today, 1), else_=0)))
                .join(Person, and_(Person.root_id == K.root_id, Person.id == K.person_id))
                .where(K.root_id == node.root_id, K.status == "open", K.kind.like("%talk%"),
                       _in_subtree(K.org_id, node))
                .group_by(Person.unit_id)):
            d = out.setdefault(unit, {"due": 0, "overdue": 0})
            d["due"] += n
            d["overdue"] += int(od or 0)
        counter[0] += 1
    return out


def _reminders(node, counter) -> dict[int, dict]:
    from .models import Reminder

    rows = db.session.execute(
        select(Reminder.org_id, func.count(), func.max(Reminder.created_at),
               func.sum(case((Reminder.acknowledged_at.is_(None), 1), else_=0)))
        .where(Reminder.root_id == node.root_id, _in_subtree(Reminder.org_id, node))
        .group_by(Reminder.org_id)).all()
    counter[0] += 1
    return {org: {"sent": n, "last": last, "unread": int(unread or 0)} for org, n, last, unread in rows}


def _policy_value(node, year, key, default):
    try:
        from ..policy.resolve import effective_policy

        return effective_policy(node, year)[key]
    except Exception:  # noqa: BLE001 - the policy slice may not know the key yet
        return default


# -- the whole page --------------------------------------------------------------

RAW_DATES = {"routine": ("starts_on", "ends_on", "publicity_from", "publicity_until"),
             "annual": ("publicity_start", "publicity_end"), "appeals": ("next_deadline",)}


def collect(node: OrgNode, year: int, period_key: str | None, today: dt.date, counter: list,
            settings: dict) -> dict[int, dict]:
    """Everything about each assessment unit below ``node`` (except
    reminders), one grouped query per figure: the raw material of the page,
    and what a snapshot stores."""
    people = _people(node, counter)
    routine = _routine(node, year, period_key, today, counter)
    annual = _annual(node, year, counter)
    appeals = _appeals(node, today, counter)
    talks = _talks(node, today, counter)
    flags = _flag_queries(node, year, counter, routine, settings)
    charts = _chart_data(node, year, counter, routine)
    ids = set(people) | set(routine) | set(annual) | set(appeals) | set(talks) | set(flags) | set(charts)
    return {uid: {"people": people.get(uid, 0), "routine": routine.get(uid), "annual": annual.get(uid),
                  "appeals": appeals.get(uid), "talks": talks.get(uid), "flags": flags.get(uid, []),
                  "charts": charts.get(uid, {})} for uid in ids}


def _settings(node, year) -> dict:
    return {
        "good_cap_rate": float(_policy_value(node, year, "routine.good_cap_rate", 0.40)),
        "high_score": float(_policy_value(node, year, "routine.high_score", 95)),
        "grace_days": current_app.config["KAOHE_PERIOD_GRACE_DAYS"],
        "publicise_within_days": current_app.config["KAOHE_PUBLICISE_WITHIN_DAYS"],
    }


def cached(node: OrgNode, year: int | None = None) -> Dashboard | None:
    """The cached dashboard of ``node`` for this year's default period, if
    one is fresh (never builds)."""
    today = local_today()
    return _cache_get((node.root_id, node.id, int(year or today.year), None, today), cache_seconds())


def _cache_get(key: tuple, ttl: float) -> Dashboard | None:
    with _cache_lock:
        hit = _cache.get(key)
    return hit[1] if hit and time.time() - hit[0] < ttl else None


def _cache_put(key: tuple, board: Dashboard) -> None:
    with _cache_lock:
        if len(_cache) > 500:
            _cache.clear()
        _cache[key] = (time.time(), board)


def build(node: OrgNode, *, year: int | None = None, period_key: str | None = None,
          today: dt.date | None = None, use_cache: bool = True, use_snapshot: bool | None = None) -> Dashboard:
    today = today or local_today()
    year = int(year or today.year)
    cache_key = (node.root_id, node.id, year, period_key, today)
    ttl = cache_seconds()
    if use_cache and ttl > 0:
        hit = _cache_get(cache_key, ttl)
        if hit is not None:
            return hit
    counter = [0]
    limit = current_app.config["KAOHE_DASHBOARD_LIVE_MAX_UNITS"]
    if use_snapshot is None:
        use_snapshot = unit_total(node, counter) > limit
    if use_snapshot:
        # The refresh job stored this node's whole board: one row, plus the
        # live reminders (a million people: one row instead of 26,670).
        from . import snapshot

        board = snapshot.load_board(node, year, period_key, today, counter)
        if board is not None:
            _add_reminders(board, node, _reminders(node, counter))
            board.queries = counter[0]
            board.extra["source"] = "snapshot"
            if use_cache and ttl > 0:
                _cache_put(cache_key, board)
            return board
    children, child_of, units = _units_and_children(node, counter)
    keys = period_keys(node, year, counter)
    key_names = [k for k, _start in keys]
    if period_key not in key_names:
        period_key = default_period(keys, today)
    settings = _settings(node, year)
    source, as_of = "live", time.time()
    raw = None
    if use_snapshot:
        from . import snapshot

        got = snapshot.load(node, year, period_key, counter)
        if got is not None:
            raw, as_of = got
            source = "snapshot"
    if raw is None:
        raw = collect(node, year, period_key, today, counter, settings)
    reminders = _reminders(node, counter)
    board = assemble(node, children, child_of, units, raw, reminders, settings, today, year, period_key,
                     key_names, counter)
    board.computed_at = as_of
    board.extra["source"] = source
    if use_cache and ttl > 0:
        _cache_put(cache_key, board)
    return board


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


# -- flags that need their own queries ----------------------------------------------


def _flag_queries(node, year, counter, routine, settings) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    if rm is None:
        return out
    P, Res, R = rm.Period, rm.Result, rm.Rating
    # Same people at 好 in every computed period of the year, at the cap.
    rows = db.session.execute(
        select(P.org_id, func.count(distinct(Res.period_id)), func.count(), func.count(distinct(Res.person_id)))
        .join(P, and_(P.root_id == Res.root_id, P.id == Res.period_id))
        .where(Res.root_id == node.root_id, P.year == year, Res.grade == "hao", _in_subtree(P.org_id, node))
        .group_by(P.org_id)).all()
    counter[0] += 1
    if rows:
        computed = db.session.execute(
            select(P.org_id, func.count())
            .where(P.root_id == node.root_id, P.year == year, P.computed_at.is_not(None),
                   P.org_id.in_([r[0] for r in rows]) if len(rows) < 500 else _in_subtree(P.org_id, node))
            .group_by(P.org_id)).all()
        n_computed = dict(computed)
        candidates = [org for org, n_periods, n_rows, n_people in rows
                      if n_computed.get(org, 0) >= 2 and n_periods == n_computed.get(org)
                      and n_rows == n_people * n_periods]
        avg_participants: dict[int, float] = {}
        if candidates:
            Pa = rm.Participant
            for org, n, np_ in db.session.execute(
                    select(P.org_id, func.count(), func.count(distinct(Pa.period_id)))
                    .join(P, and_(P.root_id == Pa.root_id, P.id == Pa.period_id))
                    .where(Pa.root_id == node.root_id, P.year == year, P.computed_at.is_not(None),
                           P.org_id.in_(candidates[:5000])).group_by(P.org_id)):
                avg_participants[org] = n / max(np_, 1)
            counter[0] += 1
        counter[0] += 1
        for org, n_periods, n_rows, n_people in rows:
            if org not in avg_participants:
                continue
            f = calc.flag_same_people_at_cap(n_computed.get(org, 0), n_periods, n_rows, n_people,
                                            avg_participants[org], settings["good_cap_rate"])
            if f:
                out.setdefault(org, []).append({"code": f["code"], "params": f["params"]})
    # Ratings entered in one burst by one account (selected period).
    if routine:
        org_of = {d["period_id"]: org for org, d in routine.items()}
        key_periods = select(P.id).where(P.root_id == node.root_id, P.id.in_(list(org_of))) \
            if len(org_of) < 1000 else None
        stmt = (select(R.period_id, R.rater_id, func.count(), func.min(R.submitted_at), func.max(R.submitted_at))
                .where(R.root_id == node.root_id)
                .group_by(R.period_id, R.rater_id).having(func.count() >= calc.BURST_MIN_RATINGS))
        if key_periods is not None:
            stmt = stmt.where(R.period_id.in_(key_periods))
        else:
            stmt = stmt.where(R.period_id.in_(select(P.id).where(P.root_id == node.root_id,
                                                                  P.id.in_(_routine_period_ids(node, routine)))))
        burst_rows = db.session.execute(stmt).all()
        counter[0] += 1
        found = []
        rater_ids = set()
        for pid, rater, n, first, last in burst_rows:
            if pid not in org_of:
                continue
            f = calc.flag_burst(n, first, last)
            if f:
                found.append((org_of[pid], rater, f))
                rater_ids.add(rater)
        names = dict(db.session.execute(select(Person.id, Person.name).where(Person.id.in_(rater_ids))).all()) \
            if rater_ids else {}
        counter[0] += 1 if rater_ids else 0
        for org, rater, f in found:
            f["params"]["rater"] = names.get(rater, str(rater))
            out.setdefault(org, []).append({"code": f["code"], "params": f["params"]})
    return out


def _routine_period_ids(node, routine):
    return [d["period_id"] for d in routine.values()]


# -- chart data, per unit (summed for any subtree) --------------------------------


def _chart_data(node, year, counter, routine) -> dict[int, dict]:
    out: dict[int, dict] = {}
    if rm is not None:
        P, Res = rm.Period, rm.Result
        for org, cycle, seq, state, n, n_comp in db.session.execute(
                select(P.org_id, P.cycle, P.seq, P.state, func.count(),
                       func.sum(case((P.computed_at.is_not(None), 1), else_=0)))
                .where(P.root_id == node.root_id, P.year == year, _in_subtree(P.org_id, node))
                .group_by(P.org_id, P.cycle, P.seq, P.state)):
            d = out.setdefault(org, {}).setdefault("over_time", {}).setdefault(f"{cycle}-{seq}", [0, 0, 0, 0])
            d[0] += n
            d[1] += int(n_comp or 0)
            d[2] += n if state in ("publicised", "final") else 0
            d[3] += n if state == "final" else 0
        counter[0] += 1
        if routine:
            org_of = {d["period_id"]: org for org, d in routine.items()}
            bucket = func.floor(Res.score / 5)
            stmt = (select(Res.period_id, bucket, func.count())
                    .where(Res.root_id == node.root_id, Res.score.is_not(None))
                    .group_by(Res.period_id, bucket))
            if len(org_of) < 1000:
                stmt = stmt.where(Res.period_id.in_(list(org_of)))
            else:
                cycle, seq = next(iter(routine.values()))["key"]
                stmt = stmt.where(Res.period_id.in_(select(P.id).where(
                    P.root_id == node.root_id, P.year == year, P.cycle == cycle, P.seq == seq,
                    _in_subtree(P.org_id, node))))
            for pid, b, n in db.session.execute(stmt):
                org = org_of.get(pid)
                if org is None:
                    continue
                hist = out.setdefault(org, {}).setdefault("hist", [0] * 21)
                hist[max(0, min(20, int(b)))] += n
            counter[0] += 1
    if am is not None:
        O, A = am.AnnualOutcome, am.AnnualAssessment
        for org, y, grade, n in db.session.execute(
                select(A.org_id, O.year, O.grade, func.count())
                .join(A, and_(A.root_id == O.root_id, A.id == O.assessment_id))
                .where(O.root_id == node.root_id, O.year > year - 5, O.year <= year, _in_subtree(A.org_id, node))
                .group_by(A.org_id, O.year, O.grade)):
            t = out.setdefault(org, {}).setdefault("trend", {}).setdefault(str(y), {})
            t[grade or "none"] = t.get(grade or "none", 0) + n
        counter[0] += 1
    return out


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
    if rm is not None:
        keys = sorted(over, key=lambda k: (k.split("-")[0], int(k.split("-")[1])))
        charts["over_time"] = {"categories": keys, "series": {
            s: [over[k][i] for k in keys] for i, s in enumerate(("units", "computed", "publicised", "final"))}}
        charts["score_histogram"] = {"categories": [f"{i * 5}" for i in range(21)], "series": {"people": hist}}
    if am is not None:
        ys = sorted(trend)
        charts["annual_trend"] = {"categories": ys, "series": {g: [trend[y].get(g, 0) for y in ys] for g in agrades}}
    return charts
