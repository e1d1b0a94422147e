"""Annual fixtures: the world's T1 with a year of routine results, reviews
and records, ready to compute."""
import datetime as dt

import pytest

from kaohe.extensions import db

YEAR = 2026


def seed_unit(world, scores=None, year=YEAR):
    """Routine results (4 quarters) and leader reviews for every T1 person;
    returns {key: person_id}."""
    from sqlalchemy import select

    from kaohe.annual.models import AnnualReview, RoutineImport
    from kaohe.annual import service
    from kaohe.people.models import Person
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    apply_scope(Scope.system("test"))
    t1 = db.session.get(OrgNode, world.ids["P1-T1"])
    people = {p.staff_no: p for p in db.session.execute(select(Person).where(Person.unit_id == t1.id)).scalars()}
    scores = scores or {"head": 96, "deputy": 92, "d1head": 88, "d1staff": 84, "d2head": 79, "d2staff": 66}
    a = service.get_or_open(t1, year)
    for key, s in scores.items():
        p = people[key]
        grade = "hao" if s >= 90 else "jiaohao" if s >= 80 else "yiban" if s >= 60 else "jiaocha"
        for q in range(1, 5):
            db.session.add(RoutineImport(root_id=t1.root_id, org_id=t1.id, person_id=p.id, year=year, period_no=q,
                                         score=s, grade=grade))
        db.session.add(AnnualReview(root_id=t1.root_id, org_id=t1.id, assessment_id=a.id, person_id=p.id,
                                    leader_score=s))
    db.session.commit()
    return {k: p.id for k, p in people.items()}, a.id


@pytest.fixture
def t1_seeded(app, world):
    with app.app_context():
        ids, aid = seed_unit(world)
        db.session.remove()
    return {"people": ids, "assessment_id": aid}


@pytest.fixture
def login_as(app):
    """Like ``login`` but each user gets a client (cookie jar) of their own."""
    import sys

    Browser = sys.modules[[m for m in sys.modules if m.endswith("conftest") and hasattr(sys.modules[m], "Browser")][0]].Browser

    def _login(username, password=None):
        from kaohe.testing.world import PASSWORD

        b = Browser(app.test_client())
        b.get("/login")
        resp = b.post("/login", {"username": username, "password": password or PASSWORD})
        assert resp.status_code in (302, 303), f"login failed for {username}: {resp.status_code}"
        b.get("/")
        return b
    return _login
