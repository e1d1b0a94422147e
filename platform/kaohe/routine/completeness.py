"""What is still owed in a period: a rater's to-do list and the office's
completeness board (who has not written, not rated, not been rated)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from . import calc
from .common import today
from .models import Period, Rating, WorkRecord
from .periods import participants, relation_index
from .relations import RelationIndex


def todo_for(period: Period, rater_id: int, idx: RelationIndex | None = None) -> list[dict]:
    idx = idx or relation_index(period)
    done = {(r, k): v for r, k, v in db.session.execute(select(Rating.ratee_id, Rating.rater_kind, Rating.version)
                                                        .where(Rating.period_id == period.id,
                                                               Rating.rater_id == rater_id))}
    names = dict(db.session.execute(select(Person.id, Person.name).where(
        Person.root_id == period.root_id, Person.unit_id == period.org_id)).all())
    out = []
    for pid, kind in idx.ratees_of(rater_id):
        out.append({"person_id": pid, "name": names.get(pid, "?"), "kind": kind, "done": (pid, kind) in done,
                    "version": done.get((pid, kind))})
    order = {k: i for i, k in enumerate(calc.RATER_KINDS)}
    return sorted(out, key=lambda t: (t["done"], order[t["kind"]], t["name"]))


def completeness(period: Period) -> dict:
    """Who has not written, not rated, not been rated: a bounded number of
    queries, then the rules in Python."""
    parts = participants(period)
    idx = relation_index(period, parts)
    names = dict(db.session.execute(select(Person.id, Person.name).where(
        Person.root_id == period.root_id, Person.unit_id == period.org_id)).all())
    org_names = dict(db.session.execute(select(OrgNode.id, OrgNode.name).where(
        OrgNode.root_id == period.root_id, OrgNode.path.like(f"%/{period.org_id}/%"))).all())
    given = db.session.execute(select(Rating.rater_id, Rating.ratee_id, Rating.rater_kind)
                               .where(Rating.period_id == period.id)).all()
    given_set = {(a, b, k) for a, b, k in given}
    months = months_so_far(period)
    records = {}
    for pid, d in db.session.execute(select(WorkRecord.person_id, WorkRecord.on_date).where(
            WorkRecord.period_id == period.id, WorkRecord.kind == "monthly")):
        records.setdefault(pid, set()).add(d)
    rows = []
    for p in parts:
        todo = idx.ratees_of(p.person_id)
        owed = [(b, k) for b, k in todo if (p.person_id, b, k) not in given_set]
        expected_in = idx.raters_of(p.person_id)
        got_sup = any((a, p.person_id, "supervisor") in given_set for a, k in expected_in if k == "supervisor")
        needs_sup = any(k == "supervisor" for _, k in expected_in)
        rows.append({"person_id": p.person_id, "name": names.get(p.person_id, "?"),
                     "org": org_names.get(p.org_id, ""), "role": p.position_role,
                     "records": len(records.get(p.person_id, set()) & months), "records_due": len(months),
                     "self_done": (p.person_id, p.person_id, "self") in given_set if any(
                         k == "self" for _, k in todo) else None,
                     "to_rate": len(todo), "rated": len(todo) - len(owed),
                     "supervisor_rated": got_sup if needs_sup else None,
                     "raters_expected": len(expected_in),
                     "raters_done": sum(1 for a, k in expected_in if (a, p.person_id, k) in given_set)})
    return {"rows": rows, "totals": {
        "people": len(rows),
        "records_missing": sum(1 for r in rows if r["records"] < r["records_due"]),
        "raters_owing": sum(1 for r in rows if r["rated"] < r["to_rate"]),
        "not_rated_by_supervisor": sum(1 for r in rows if r["supervisor_rated"] is False)}}


def months_so_far(period: Period) -> set[dt.date]:
    out, d = set(), period.starts_on
    last = min(period.ends_on, today())
    while d <= last:
        out.add(d)
        d = (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out
