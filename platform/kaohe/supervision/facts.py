"""The dashboard's figures, read from the fact tables: the subtree's units
and the node's children, then per assessment unit one grouped query per
figure (people, the routine period, the annual assessment, appeals, talks,
reminders, flags that need their own queries, chart data).  The number of
queries does not depend on the number of units or people.  ``collect`` is
the raw material of a page and what a snapshot stores."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import and_, case, distinct, func, select, true

from ..annual import models as am
from ..extensions import db
from ..people.models import Person
from ..policy.resolve import effective_policy
from ..routine import models as rm
from ..tenancy.models import OrgNode
from . import calc
from .board import UnitRow


# -- the subtree ---------------------------------------------------------------

def in_subtree(col, node: OrgNode):
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

def units_and_children(node: OrgNode, counter: list) -> tuple[list[OrgNode], dict[int, int], dict[int, UnitRow]]:
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
                                                      in_subtree(Person.unit_id, node))
            .group_by(Person.unit_id))
    counter[0] += 1
    return dict(db.session.execute(stmt).all())

def period_keys(node: OrgNode, year: int, counter) -> list[tuple[str, dt.date]]:
    """Distinct period keys (cycle-seq) of the year in the subtree, newest first."""
    P = rm.Period
    rows = db.session.execute(
        select(P.cycle, P.seq, func.min(P.starts_on)).where(P.root_id == node.root_id, P.year == year,
                                                            in_subtree(P.org_id, node))
        .group_by(P.cycle, P.seq)).all()
    counter[0] += 1
    return sorted(((f"{c}-{s}", start) for c, s, start in rows), key=lambda x: x[1], reverse=True)

def _routine(node, year, key, today, counter) -> dict[int, dict]:
    """Per unit: the period of ``key`` with its state and completion counts."""
    if not key:
        return {}
    cycle, seq = key.rsplit("-", 1)
    P = rm.Period
    periods = db.session.execute(
        select(P.id, P.org_id, P.state, P.starts_on, P.ends_on, P.computed_at, P.publicity_from, P.publicity_until,
               P.finalised_at)
        .where(P.root_id == node.root_id, P.year == year, P.cycle == cycle, P.seq == int(seq),
               in_subtree(P.org_id, node))).all()
    counter[0] += 1
    if not periods:
        return {}
    pids = select(P.id).where(P.root_id == node.root_id, P.year == year, P.cycle == cycle, P.seq == int(seq),
                              in_subtree(P.org_id, node))
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
    A, O = am.AnnualAssessment, am.AnnualOutcome
    rows = db.session.execute(
        select(A.id, A.org_id, A.status, A.quota, A.current_run_id, A.confirmed_at, A.publicity_start,
               A.publicity_end, A.filed_at, A.org_grade)
        .where(A.root_id == node.root_id, A.year == year, in_subtree(A.org_id, node))).all()
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
        aids = select(A.id).where(A.root_id == node.root_id, A.year == year, in_subtree(A.org_id, node))
        for aid, grade, n in db.session.execute(
                select(O.assessment_id, O.grade, func.count()).where(O.root_id == node.root_id,
                                                                     O.assessment_id.in_(aids))
                .group_by(O.assessment_id, O.grade)):
            by_id[aid]["grades"][grade or "none"] = n
            by_id[aid]["people"] += n
        counter[0] += 1
    return out

def _appeals(node, today, counter) -> dict[int, dict]:
    Ap = am.AnnualAppeal
    rows = db.session.execute(
        select(Ap.org_id, func.count(), func.min(Ap.decide_by), func.sum(case((Ap.decide_by < today, 1), else_=0)))
        .where(Ap.root_id == node.root_id, Ap.status == "pending", in_subtree(Ap.org_id, node))
        .group_by(Ap.org_id)).all()
    counter[0] += 1
    return {org: {"open": n, "next_deadline": nd, "overdue": int(od or 0)} for org, n, nd, od in rows}

def _talks(node, today, counter) -> dict[int, dict]:
    """Talks due (annual talks not held yet, and routine talk tasks still open), by unit."""
    out: dict[int, dict] = {}
    T = am.AnnualTalk
    for unit, n, od in db.session.execute(
            select(Person.unit_id, func.count(), func.sum(case((T.due_on < today, 1), else_=0)))
            .join(Person, and_(Person.root_id == T.root_id, Person.id == T.person_id))
            .where(T.root_id == node.root_id, T.held_on.is_(None), in_subtree(T.org_id, node))
            .group_by(Person.unit_id)):
        d = out.setdefault(unit, {"due": 0, "overdue": 0})
        d["due"] += n
        d["overdue"] += int(od or 0)
    counter[0] += 1
    K = rm.Task
    for unit, n, od in db.session.execute(
            select(Person.unit_id, func.count(), func.sum(case((K.due_on < today, 1), else_=0)))
            .join(Person, and_(Person.root_id == K.root_id, Person.id == K.person_id))
            .where(K.root_id == node.root_id, K.status == "open", K.kind.like("%talk%"),
                   in_subtree(K.org_id, node))
            .group_by(Person.unit_id)):
        d = out.setdefault(unit, {"due": 0, "overdue": 0})
        d["due"] += n
        d["overdue"] += int(od or 0)
    counter[0] += 1
    return out

def reminder_counts(node, counter) -> dict[int, dict]:
    from .models import Reminder

    rows = db.session.execute(
        select(Reminder.org_id, func.count(), func.max(Reminder.created_at),
               func.sum(case((Reminder.acknowledged_at.is_(None), 1), else_=0)))
        .where(Reminder.root_id == node.root_id, in_subtree(Reminder.org_id, node))
        .group_by(Reminder.org_id)).all()
    counter[0] += 1
    return {org: {"sent": n, "last": last, "unread": int(unread or 0)} for org, n, last, unread in rows}

def _policy_value(node, year, key, default):
    try:
        return effective_policy(node, year)[key]
    except Exception:  # noqa: BLE001 - the policy slice may not know the key yet
        return default


# -- the whole subtree -----------------------------------------------------------

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

def settings_for(node, year) -> dict:
    return {
        "good_cap_rate": float(_policy_value(node, year, "routine.good_cap_rate", 0.40)),
        "high_score": float(_policy_value(node, year, "routine.high_score", 95)),
        "grace_days": current_app.config["KAOHE_PERIOD_GRACE_DAYS"],
        "publicise_within_days": current_app.config["KAOHE_PUBLICISE_WITHIN_DAYS"],
    }


# -- flags that need their own queries ----------------------------------------------

def _flag_queries(node, year, counter, routine, settings) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    P, Res, R = rm.Period, rm.Result, rm.Rating
    # Same people at 好 in every computed period of the year, at the cap.
    rows = db.session.execute(
        select(P.org_id, func.count(distinct(Res.period_id)), func.count(), func.count(distinct(Res.person_id)))
        .join(P, and_(P.root_id == Res.root_id, P.id == Res.period_id))
        .where(Res.root_id == node.root_id, P.year == year, Res.grade == "hao", in_subtree(P.org_id, node))
        .group_by(P.org_id)).all()
    counter[0] += 1
    if rows:
        computed = db.session.execute(
            select(P.org_id, func.count())
            .where(P.root_id == node.root_id, P.year == year, P.computed_at.is_not(None),
                   P.org_id.in_([r[0] for r in rows]) if len(rows) < 500 else in_subtree(P.org_id, node))
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
    P, Res = rm.Period, rm.Result
    for org, cycle, seq, state, n, n_comp in db.session.execute(
            select(P.org_id, P.cycle, P.seq, P.state, func.count(),
                   func.sum(case((P.computed_at.is_not(None), 1), else_=0)))
            .where(P.root_id == node.root_id, P.year == year, in_subtree(P.org_id, node))
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
                in_subtree(P.org_id, node))))
        for pid, b, n in db.session.execute(stmt):
            org = org_of.get(pid)
            if org is None:
                continue
            hist = out.setdefault(org, {}).setdefault("hist", [0] * 21)
            hist[max(0, min(20, int(b)))] += n
        counter[0] += 1
    O, A = am.AnnualOutcome, am.AnnualAssessment
    for org, y, grade, n in db.session.execute(
            select(A.org_id, O.year, O.grade, func.count())
            .join(A, and_(A.root_id == O.root_id, A.id == O.assessment_id))
            .where(O.root_id == node.root_id, O.year > year - 5, O.year <= year, in_subtree(A.org_id, node))
            .group_by(A.org_id, O.year, O.grade)):
        t = out.setdefault(org, {}).setdefault("trend", {}).setdefault(str(y), {})
        t[grade or "none"] = t.get(grade or "none", 0) + n
    counter[0] += 1
    return out
