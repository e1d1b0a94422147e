"""Building supervision test data directly (routine periods, results, ratings)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from kaohe.audit.service import Actor, reset_actor, set_actor
from kaohe.extensions import db
from kaohe.people.models import Person
from kaohe.routine.models import Participant, Period, Rating, Result, WorkRecord
from kaohe.tenancy import service as org_service
from kaohe.tenancy.models import OrgNode
from kaohe.tenancy.scope import Scope, apply_scope

TODAY = dt.date(2026, 11, 22)
Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))


def system(app):
    ctx = app.app_context()
    ctx.push()
    apply_scope(Scope.system())
    token = set_actor(Actor(None, "test"))
    return ctx, token


def done(ctx, token, commit=True):
    if commit:
        db.session.commit()
    reset_actor(token)
    db.session.remove()
    ctx.pop()


def add_people(unit: OrgNode, n: int, prefix: str) -> list[Person]:
    people = [Person(root_id=unit.root_id, org_id=unit.id, unit_id=unit.id, staff_no=f"{prefix}{i:03d}",
                     name=f"{prefix}{i}", position_role="staff", rank_group="staff") for i in range(n)]
    db.session.add_all(people)
    db.session.flush()
    return people


def add_period(unit: OrgNode, people: list[Person], *, seq=3, state="rating", scores=None, grades=None,
               computed=False, publicity=None, rated=None, work_records=None, year=2026,
               rating_times=None, rater: Person | None = None) -> Period:
    starts = dt.date(year, 3 * (seq - 1) + 1, 1)
    ends = (dt.date(year, 3 * seq + 1, 1) if seq < 4 else dt.date(year + 1, 1, 1)) - dt.timedelta(days=1)
    p = Period(root_id=unit.root_id, org_id=unit.id, year=year, cycle="quarter", seq=seq, starts_on=starts,
               ends_on=ends, state=state,
               computed_at=dt.datetime(year, 10, 5, tzinfo=dt.timezone.utc) if computed else None,
               publicity_from=publicity[0] if publicity else None, publicity_until=publicity[1] if publicity else None)
    db.session.add(p)
    db.session.flush()
    for i, person in enumerate(people):
        db.session.add(Participant(root_id=unit.root_id, org_id=person.org_id, period_id=p.id, person_id=person.id,
                                   position_role="staff", scheme_code="general", personal=[]))
        if work_records is None or i < work_records:
            db.session.add(WorkRecord(root_id=unit.root_id, org_id=person.org_id, period_id=p.id, person_id=person.id,
                                      kind="monthly", on_date=starts, done="工作"))
        if rated is None or i < rated:
            at = rating_times[i] if rating_times else dt.datetime(year, 10, 1, 9, tzinfo=dt.timezone.utc) + dt.timedelta(hours=i)
            db.session.add(Rating(root_id=unit.root_id, org_id=person.org_id, period_id=p.id, ratee_id=person.id,
                                  rater_id=(rater or people[0]).id, rater_kind="supervisor", scores={},
                                  submitted_at=at))
        if scores is not None:
            db.session.add(Result(root_id=unit.root_id, org_id=person.org_id, period_id=p.id, person_id=person.id,
                                  score=scores[i], grade=grades[i] if grades else None, breakdown={}, flags=[]))
    db.session.flush()
    return p


def add_townships(county: OrgNode, n: int, people_per_unit: int = 4, prefix: str = "X") -> list[OrgNode]:
    units = []
    for i in range(n):
        t = org_service.create_child(county, kind="township", code=f"{prefix}{i:03d}", name=f"{prefix}镇{i}",
                                     is_assessment_unit=True)
        ppl = add_people(t, people_per_unit, f"{prefix}{i:03d}-")
        add_period(t, ppl, scores=[80 + j for j in range(len(ppl))],
                   grades=["hao"] + ["jiaohao"] * (len(ppl) - 1), computed=True, state="review")
        units.append(t)
    return units


def node(code: str) -> OrgNode:
    return db.session.execute(select(OrgNode).where(OrgNode.code == code)).scalar_one()
