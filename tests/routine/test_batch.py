"""The period computation is set-based: the same number of queries for 10
people as for 100."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import event, insert, select

from kaohe.extensions import db

from .conftest import LIBRARY, SCHEME


def _unit_with(n: int, world, code: str):
    from kaohe.people.models import LeaderCharge, Person
    from kaohe.routine import indicators, periods, schemes
    from kaohe.routine.models import Rating
    from kaohe.tenancy import service as org_service

    parent = world.p1.nodes["K1"]
    unit = org_service.create_child(parent, kind="township", code=code, name=code, is_assessment_unit=True)
    depts = [org_service.create_child(unit, kind="department", code=f"{code}-D{i}", name=f"D{i}") for i in range(3)]
    head = Person(root_id=unit.root_id, org_id=unit.id, unit_id=unit.id, staff_no="h", name="h", position_role="head")
    db.session.add(head)
    db.session.flush()
    dh = []
    for i, d in enumerate(depts):
        p = Person(root_id=unit.root_id, org_id=d.id, unit_id=unit.id, staff_no=f"dh{i}", name=f"dh{i}",
                   position_role="dept_head", supervisor_id=head.id)
        db.session.add(p)
        dh.append(p)
        db.session.flush()
        db.session.add(LeaderCharge(root_id=unit.root_id, org_id=unit.id, leader_id=head.id, department_id=d.id))
    staff = []
    for i in range(n - 4):
        d = i % 3
        staff.append(Person(root_id=unit.root_id, org_id=depts[d].id, unit_id=unit.id, staff_no=f"s{i}",
                            name=f"s{i}", position_role="staff", supervisor_id=dh[d].id))
    db.session.add_all(staff)
    db.session.flush()
    for ind in LIBRARY:
        indicators.save_indicator(unit, dict(ind))
    schemes.save_scheme(unit, dict(SCHEME))
    period = periods.create_period(unit, 2026, 1, "quarter")
    periods.transition(period, "open")
    periods.transition(period, "rating")
    rows = []
    for i, p in enumerate(staff):
        rows.append({"root_id": unit.root_id, "org_id": p.org_id, "period_id": period.id, "ratee_id": p.id,
                     "rater_id": dh[i % 3].id, "rater_kind": "supervisor",
                     "scores": {"ethics": "you", "work": 40 + i % 20}, "comment_visible": True,
                     "submitted_at": dt.datetime.now(dt.timezone.utc), "version": 1})
    db.session.execute(insert(Rating), rows)
    db.session.flush()
    return period


def _queries_for_compute(period) -> tuple[int, dict]:
    from kaohe.routine import compute

    statements: list[str] = []
    db.session.execute(select(1))   # the transaction (and its scope settings) has begun

    def count(conn, cursor, statement, params, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        summary = compute.compute_period(period)
        db.session.flush()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements), summary


def test_compute_uses_a_bounded_number_of_queries(app, world):
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system("t"))
        small = _unit_with(10, world, "QA10")
        big = _unit_with(100, world, "QA100")
        db.session.commit()
        apply_scope(Scope.system("t"))
        n_small, s_small = _queries_for_compute(small)
        n_big, s_big = _queries_for_compute(big)
        assert s_small["people"] == 10 and s_big["people"] == 100
        assert n_small == n_big, (n_small, n_big)
        assert n_big < 40
        db.session.rollback()
