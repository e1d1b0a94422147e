"""The routine slice's feed to the annual assessment: which periods count,
their scored results, and the to-dos other slices raise and close."""
import datetime as dt

from sqlalchemy import insert, select

from kaohe.extensions import db

YEAR = 2026


def _periods(world):
    """Periods of T1 and T2 in every state, a period of another year, and
    results with and without a score; returns ({name: period id}, person ids)."""
    from kaohe.people.models import Person
    from kaohe.routine.models import Period, Result

    now = dt.datetime.now(dt.timezone.utc)
    t1, t2 = world.ids["P1-T1"], world.ids["P1-T2"]
    root = world.ids["P1-P"]
    ids = {}
    for name, org, year, seq, state in (("t1q1", t1, YEAR, 1, "final"), ("t1q2", t1, YEAR, 2, "publicised"),
                                        ("t1q3", t1, YEAR, 3, "computed"), ("t1q4", t1, YEAR, 4, "draft"),
                                        ("t1old", t1, YEAR - 1, 1, "final"), ("t2q1", t2, YEAR, 1, "final")):
        ids[name] = db.session.execute(insert(Period).values(
            root_id=root, org_id=org, year=year, cycle="quarter", seq=seq, starts_on=dt.date(year, 1, 1),
            ends_on=dt.date(year, 3, 31), state=state, created_at=now, version=1).returning(Period.id)).scalar_one()
    people = list(db.session.execute(select(Person.id, Person.org_id).where(Person.unit_id == t1)
                                     .order_by(Person.id)).all())
    rows = []
    for name in ("t1q1", "t1q2", "t1q3", "t1old"):
        for i, (pid, org) in enumerate(people):
            rows.append({"root_id": root, "org_id": org, "period_id": ids[name], "person_id": pid,
                         "score": None if i == 0 else 80.0 + i, "grade": None if i == 0 else "jiaohao",
                         "breakdown": {}, "flags": [], "computed_at": now})
    db.session.execute(insert(Result), rows)
    return ids, [p for p, _o in people]


def test_counting_periods_and_their_scored_results(app, world):
    from kaohe.routine.feed import counting_periods, scored_results
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system("test"))
        ids, people = _periods(world)
        conn = db.session.connection()
        periods = counting_periods(conn, world.ids["P1-P"], YEAR)
        # publicised and final only, of that year, per unit in id order
        assert periods == {world.ids["P1-T1"]: [(ids["t1q1"], 1), (ids["t1q2"], 2)],
                           world.ids["P1-T2"]: [(ids["t2q1"], 1)]}
        rows = scored_results(conn, world.ids["P1-P"], [ids["t1q2"], ids["t1q1"]])
        want = {(pid, period, 80.0 + i, "jiaohao") for period in (ids["t1q1"], ids["t1q2"])
                for i, pid in enumerate(people) if i > 0}                  # no unscored result, no other period
        assert {tuple(r) for r in rows} == want and len(rows) == len(want)
        assert [r[1] for r in rows] == sorted(r[1] for r in rows)          # by period id
        assert scored_results(conn, world.ids["P1-P"], []) == []
        assert counting_periods(conn, world.ids["P1-P"], YEAR + 1) == {}


def test_tasks_added_in_bulk_and_closed_by_their_source(app, world):
    from kaohe.people.models import Person
    from kaohe.routine.feed import add_tasks, close_tasks_of
    from kaohe.routine.models import Task
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system("test"))
        t1 = world.ids["P1-T1"]
        p1, p2 = db.session.execute(select(Person.id).where(Person.unit_id == t1).order_by(Person.id)
                                    .limit(2)).scalars()
        base = {"root_id": world.ids["P1-P"], "org_id": t1, "kind": "annual.criticism_talk", "title": "talk",
                "assignee_person_id": p2, "due_on": dt.date(YEAR, 12, 1), "source_type": "annual_talk"}
        add_tasks(db.session.connection(), [{**base, "person_id": p1, "source_id": 7},
                                            {**base, "person_id": p2, "source_id": 8}])
        add_tasks(db.session.connection(), [])
        close_tasks_of(db.session, world.ids["P1-P"], "annual_talk", 7, closed_type="annual_talk", closed_id=7)
        db.session.commit()
        got = db.session.execute(select(Task.source_id, Task.status, Task.closed_type, Task.closed_id,
                                        Task.closed_at.is_not(None)).order_by(Task.source_id)).all()
        assert [tuple(r) for r in got] == [(7, "done", "annual_talk", 7, True), (8, "open", None, None, False)]
