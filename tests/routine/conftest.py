"""A township (T1 of the test world) set up for routine assessment: an
account per person, a library, a scheme, a peer group and an open period."""
from __future__ import annotations

import datetime as dt

from kaohe.core.clock import local_today
from types import SimpleNamespace

import pytest

from kaohe.extensions import db

LIBRARY = [
    {"code": "ethics", "name": "职业道德", "dimension": "de", "kind": "graded",
     "levels": {"you": 20, "liang": 16, "zhong": 12, "cha": 6}},
    {"code": "work", "name": "工作实绩", "dimension": "ji", "kind": "scored", "max": 60},
    {"code": "discipline", "name": "工作纪律", "dimension": "qin", "kind": "deduction", "max": 10, "per": 2, "cap": 10},
    {"code": "integrity", "name": "廉洁自律", "dimension": "lian", "kind": "veto", "veto": "zero"},
    {"code": "democratic", "name": "综合评议", "dimension": "de", "kind": "scored", "max": 10},
    {"code": "innovation", "name": "创新加分", "dimension": "ji", "kind": "bonus", "per": 1, "cap": 3},
]
SCHEME = {
    "code": "general", "name": "一般干部方案", "job_category": "general", "basis": "points", "total": 100,
    "rater_weights": {"supervisor": 0.7, "self": 0.1, "peer": 0.2},
    "sections": [
        {"code": "common", "name": "公共项目", "points": 30, "indicators": ["ethics", "discipline", "integrity"]},
        {"code": "business", "name": "业务工作", "points": 60, "indicators": ["work"]},
        {"code": "eval", "name": "综合评议", "points": 10, "indicators": ["democratic"],
         "raters": {"democratic": 1.0}},
        {"code": "extra", "name": "加分", "extra": True, "indicators": ["innovation"]},
    ],
}
PEOPLE = ("head", "deputy", "d1head", "d1staff", "d2head", "d2staff")


def full_scores(kind: str, level="you", work=55.0, dem=9.0) -> dict:
    if kind == "democratic":
        return {"democratic": dem}
    return {"ethics": level, "work": work}


@pytest.fixture
def rt(app, world, client, api_token, request):
    """Returns a namespace: ids, `h(name)` → auth headers, `unit`, `period`."""
    from kaohe.auth import service as auth_service
    from kaohe.auth.passwords import hash_password
    from kaohe.auth.roles import Role
    from kaohe.routine import indicators, periods, schemes
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope
    from kaohe.testing.world import PASSWORD

    ns = SimpleNamespace(ids={}, users={})
    with app.app_context():
        apply_scope(Scope.system("test"))
        p1 = world.p1
        unit = db.session.get(OrgNode, p1.nodes["T1"].id)
        pw = hash_password(PASSWORD)
        from kaohe.people.models import Person
        from sqlalchemy import select
        people = {p.staff_no: p for p in db.session.execute(select(Person).where(Person.unit_id == unit.id)).scalars()}
        for key in PEOPLE:
            p = people[key]
            ns.ids[key] = p.id
            if key == "deputy":
                ns.users[key] = "t1leader"
                continue
            if key == "d1staff":
                ns.users[key] = "t1staff"
                continue
            u = auth_service.create_user(username=f"rt_{key}", display_name=key, password="", org=unit,
                                         person_id=p.id, password_hash=pw)
            auth_service.grant_role(u, Role.staff, unit, check=False)
            if key in ("head", "d1head", "d2head"):
                auth_service.grant_role(u, Role.leader, unit, check=False)
            ns.users[key] = u.username
        ns.users["admin"] = "t1admin"
        for ind in LIBRARY:
            indicators.save_indicator(unit, dict(ind))
        scheme = schemes.save_scheme(unit, dict(SCHEME))
        schemes.save_peer_group(unit, "党群组", [ns.ids["d1staff"], ns.ids["d2staff"], ns.ids["d2head"]])
        year = local_today().year
        q = (local_today().month - 1) // 3 + 1
        # T1's departments are two people: every anonymous vote counts here, as the tests of the
        # other rules assume (test_anonymity.py sets its own minimum)
        from kaohe.policy import settings as policy_settings
        policy_settings.set_value(unit, "routine.min_anonymous_raters", getattr(request, "param", 1))
        period = periods.create_period(unit, year, q, "quarter")
        periods.transition(period, "open")
        db.session.commit()
        ns.unit_id, ns.period_id, ns.scheme_id = unit.id, period.id, scheme.id
        ns.year, ns.q = year, q
        ns.d1, ns.d2 = p1.nodes["T1-D1"].id, p1.nodes["T1-D2"].id
        db.session.remove()
    cache = {}

    def h(name):
        if name not in cache:
            cache[name] = api_token(ns.users.get(name, name))
        return cache[name]
    ns.h = h
    ns.client = client
    ns.app = app
    return ns


def rate(rt, rater, ratee, kind, scores=None, **extra):
    body = {"ratee_id": rt.ids[ratee], "rater_kind": kind, "scores": scores or full_scores(kind), **extra}
    return rt.client.post(f"/api/v1/routine/periods/{rt.period_id}/ratings", json=body, headers=rt.h(rater))


def transition(rt, to):
    return rt.client.post(f"/api/v1/routine/periods/{rt.period_id}/transition", json={"to": to}, headers=rt.h("admin"))


@pytest.fixture
def login_new(app):
    """Log in on a fresh client (a second person in the same test)."""
    def _login(username):
        from conftest import Browser
        from kaohe.testing.world import PASSWORD

        b = Browser(app.test_client())
        b.get("/login")
        resp = b.post("/login", {"username": username, "password": PASSWORD})
        assert resp.status_code in (302, 303), resp.status_code
        b.get("/")
        return b
    return _login


def rate_everything(rt, skip=(), scores=None, level="you", work=55.0, dem=9.0):
    """Every rating the rules allow (supervisor, self, peer, democratic) that
    is not given yet, except for the ratees in ``skip``; ``scores`` maps a
    ratee to (level, work, dem) for that person."""
    by_id = {v: k for k, v in rt.ids.items()}
    for rater in rt.ids:
        todo = rt.client.get(f"/api/v1/routine/periods/{rt.period_id}/todo", headers=rt.h(rater)).get_json()
        for t in todo:
            ratee = by_id[t["person_id"]]
            if ratee in skip or t["done"]:
                continue
            lv, wk, dm = (scores or {}).get(ratee, (level, work, dem))
            resp = rate(rt, rater, ratee, t["kind"], full_scores(t["kind"], lv, wk, dm))
            assert resp.status_code == 200, resp.get_json()


def exempt_incomplete(rt, reason="测试：部分评价 partial ratings in this test"):
    """Record an exemption for everyone whose inputs are incomplete."""
    url = f"/api/v1/routine/periods/{rt.period_id}"
    for row in rt.client.get(f"{url}/inputs", headers=rt.h("admin")).get_json():
        if not row["exempted"]:
            resp = rt.client.post(f"{url}/exemptions", json={"person_id": row["person_id"], "reason": reason},
                                  headers=rt.h("admin"))
            assert resp.status_code == 201, resp.get_json()
