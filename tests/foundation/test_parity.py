"""Issue 11, finding 7: the API and the pages answer the same for every role
and capability (one rule per capability, kaohe.auth.capabilities)."""
from __future__ import annotations

import pytest

from .conftest import PageClient, node_id

ROLES = ("t1staff", "t1leader", "t1admin", "countysup", "citysup", "policy")


def _ids(app):
    from sqlalchemy import select

    from kaohe.auth.models import User
    from kaohe.extensions import db
    from kaohe.people.models import Person
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system("test"))
        leader = db.session.execute(select(User.id).where(User.username == "t1leader")).scalar_one()
        person = db.session.execute(select(Person.id).where(Person.staff_no == "d2staff",
                                                            Person.name == "d2staff")).scalar_one()
        db.session.remove()
    return leader, person


def _capabilities(app, world):
    t1 = node_id(world, "T1")
    leader_uid, other_person = _ids(app)
    return {
        # capability: (API url, page url)
        "roster.read": (f"/api/v1/people?unit_id={t1}", f"/people/units/{t1}"),
        "roster.list": ("/api/v1/people", "/people/"),
        "person.read": (f"/api/v1/people/{other_person}", f"/people/units/{t1}"),
        "accounts.list": ("/api/v1/users", "/users"),
        "accounts.list_at_node": (f"/api/v1/users?org_id={t1}", "/users"),
        "account.read": (f"/api/v1/users/{leader_uid}", f"/users/{leader_uid}"),
        "audit.read": (f"/api/v1/audit?org_id={t1}", "/audit"),
        "person.page": (f"/api/v1/people/{other_person}", f"/people/persons/{other_person}/transfer"),
        "annual.history": (f"/api/v1/annual/units/{t1}/history-template", f"/annual/unit/{t1}/history"),
        "provinces": ("/api/v1/platform/packs", "/platform/provinces"),
    }


@pytest.mark.parametrize("role", ROLES)
def test_api_and_pages_agree(app, world, backend, role, bearer):
    h = bearer(role)
    pc = PageClient(app).login(role)
    c = app.test_client()
    got = {}
    for cap, (api_url, page_url) in _capabilities(app, world).items():
        api_status = c.get(api_url, headers=h).status_code
        page_status = pc.get(page_url).status_code
        if cap == "roster.list" and page_status in (200, 302):
            # the page lists the units you administer (or goes to the only one):
            # allowed when it offers at least one
            page_status = 200 if (page_status == 302 or "/people/units/" in pc.get(page_url).get_data(as_text=True)) \
                else 403
        got[cap] = (api_status, page_status)
    mismatched = {cap: st for cap, st in got.items() if (st[0] == 200) != (st[1] == 200)}
    assert not mismatched, f"{role}: API vs page status differ: {mismatched}"
    assert all(st[0] in (200, 403) for st in got.values()), got


def test_staff_cannot_read_roster_or_accounts_by_api(app, world, backend, bearer):
    h = bearer("t1staff")
    c = app.test_client()
    t1 = node_id(world, "T1")
    assert c.get(f"/api/v1/people?unit_id={t1}", headers=h).status_code == 403
    assert c.get(f"/api/v1/users?org_id={t1}", headers=h).status_code == 403
    assert c.get("/api/v1/users", headers=h).status_code == 403
    # but their own person and account
    me = c.get("/api/v1/auth/me", headers=h).get_json()
    assert c.get(f"/api/v1/users/{me['id']}", headers=h).status_code == 200
    assert c.get(f"/api/v1/people/{me['person_id']}", headers=h).status_code == 200
