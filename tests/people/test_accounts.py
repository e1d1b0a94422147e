"""Issue 13: accounts of the people on a roster.

1. An admin links or unlinks an existing account to a person (one account per
   person), in the API, on the account page and from the CLI; a linked account
   can use the staff pages (attendance, annual page).
3. A person who leaves the roster loses the account's sign-in and tokens."""
from __future__ import annotations

from sqlalchemy import select

from kaohe.audit.models import AuditEntry
from kaohe.auth.models import ApiToken, User
from kaohe.extensions import db
from kaohe.people.models import Person
from kaohe.routine.models import Attendance
from kaohe.tenancy.scope import Scope, apply_scope
from kaohe.testing.world import PASSWORD

from .helpers import person_row, workbook


def _new_account(client, headers, world, username, node="T1-D2"):
    resp = client.post("/api/v1/users", headers=headers, json={
        "username": username, "display_name": username, "password": PASSWORD,
        "org_id": world.p1.nodes[node].id, "grants": [{"role": "staff", "org_id": world.p1.nodes[node].id}]})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def _audit(app, action):
    with app.app_context():
        apply_scope(Scope.system("test"))
        return db.session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars().all()


def _fresh_login(app, username):
    """A new browser (own cookies), logged in."""
    import re

    c = app.test_client()
    html = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"|name="csrf-token" content="([^"]+)"', html)
    token = token.group(1) or token.group(2)
    resp = c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code in (302, 303)

    class B:
        def get(self, url):
            return c.get(url)

        def post(self, url, data):
            html = c.get("/routine/").get_data(as_text=True)
            m = re.search(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"', html)
            return c.post(url, data={**data, "csrf_token": m.group(1) or m.group(2)})
    return B()


def _uid(app, username):
    with app.app_context():
        apply_scope(Scope.system("test"))
        return db.session.execute(select(User.id).where(User.username == username)).scalar_one()


def test_link_in_api_makes_the_staff_pages_work(app, client, world, api_token, login):
    admin = api_token("t1admin")
    uid = _new_account(client, admin, world, "newbie@P")
    me = api_token("newbie@P")
    # Not linked: the annual page refuses, the staff page is forbidden.
    assert client.get("/api/v1/annual/me", headers=me).status_code == 422
    page = login("newbie@P")
    assert page.get("/routine/").status_code == 403

    t1 = world.p1.nodes["T1"].id
    resp = client.put(f"/api/v1/users/{uid}/person", headers=admin, json={"unit_id": t1, "staff_no": "d2staff"})
    assert resp.status_code == 200, resp.get_json()
    person_id = resp.get_json()["id"]
    assert client.get(f"/api/v1/users/{uid}", headers=admin).get_json()["person_id"] == person_id

    me = api_token("newbie@P")
    assert client.get("/api/v1/annual/me", headers=me).status_code == 200
    page = _fresh_login(app, "newbie@P")
    assert page.get("/routine/").status_code == 200
    resp = page.post("/routine/sign", {"what": "in"})
    assert resp.status_code in (302, 303)
    with app.app_context():
        apply_scope(Scope.system("test"))
        assert db.session.execute(select(Attendance).where(Attendance.person_id == person_id)).scalar_one()
    [entry] = _audit(app, "user.person.link")
    assert entry.after["staff_no"] == "d2staff"

    # One account per person: a second account cannot take the same person.
    other = _new_account(client, admin, world, "newbie2@P")
    resp = client.put(f"/api/v1/users/{other}/person", headers=admin, json={"person_id": person_id})
    assert resp.status_code == 409
    assert "person_id" in resp.get_json()["errors"]
    # One person per account: relinking to someone else needs an unlink first.
    resp = client.put(f"/api/v1/users/{uid}/person", headers=admin, json={"unit_id": t1, "staff_no": "d1head"})
    assert resp.status_code == 409
    # Bad input: neither id nor staff number; a staff number not on the roster.
    resp = client.put(f"/api/v1/users/{other}/person", headers=admin, json={"unit_id": t1})
    assert resp.status_code == 422
    resp = client.put(f"/api/v1/users/{other}/person", headers=admin, json={"unit_id": t1, "staff_no": "nobody"})
    assert resp.status_code == 422 and "staff_no" in resp.get_json()["errors"]
    # A person outside the caller's scope does not exist for it.
    resp = client.put(f"/api/v1/users/{other}/person", headers=admin,
                      json={"unit_id": world.p1.nodes["T3"].id, "staff_no": "x"})
    assert resp.status_code == 404

    assert client.delete(f"/api/v1/users/{uid}/person", headers=admin).status_code == 204
    assert client.get(f"/api/v1/users/{uid}", headers=admin).get_json()["person_id"] is None
    assert len(_audit(app, "user.person.unlink")) == 1
    assert client.delete(f"/api/v1/users/{uid}/person", headers=admin).status_code == 422


def test_link_needs_the_management_rule(app, client, world, api_token):
    admin = api_token("t1admin")
    uid = _new_account(client, admin, world, "newbie@P")
    t1 = world.p1.nodes["T1"].id
    # A leader of the unit may not manage accounts; another unit's admin cannot see it.
    resp = client.put(f"/api/v1/users/{uid}/person", headers=api_token("t1leader"),
                      json={"unit_id": t1, "staff_no": "d2staff"})
    assert resp.status_code in (403, 404)
    resp = client.put(f"/api/v1/users/{uid}/person", headers=api_token("t2admin"),
                      json={"unit_id": t1, "staff_no": "d2staff"})
    assert resp.status_code == 404
    # The account of a supervisor (grant above the unit) is not the unit admin's to link.
    resp = client.put(f"/api/v1/users/{_uid(app, 'countysup')}/person", headers=admin,
                      json={"unit_id": t1, "staff_no": "d2staff"})
    assert resp.status_code in (403, 404)


def test_link_and_unlink_on_the_account_page(app, client, world, api_token, login):
    admin = api_token("t1admin")
    uid = _new_account(client, admin, world, "pageuser@P")
    page = login("t1admin")
    html = page.get(f"/users/{uid}").get_data(as_text=True)
    assert 'id="link-form"' in html
    resp = page.post(f"/users/{uid}/person", {"unit_id": world.p1.nodes["T1"].id, "staff_no": "d2head"})
    assert resp.status_code in (302, 303)
    html = page.get(f"/users/{uid}").get_data(as_text=True)
    assert "d2head" in html and 'id="unlink-form"' in html
    # The same person for a second account: a message, nothing written.
    other = _new_account(client, admin, world, "pageuser2@P")
    page.post(f"/users/{other}/person", {"unit_id": world.p1.nodes["T1"].id, "staff_no": "d2head"})
    with app.app_context():
        apply_scope(Scope.system("test"))
        assert db.session.get(User, other).person_id is None
    resp = page.post(f"/users/{uid}/person", {"action": "unlink"})
    assert resp.status_code in (302, 303)
    with app.app_context():
        apply_scope(Scope.system("test"))
        assert db.session.get(User, uid).person_id is None


def test_link_from_the_cli(app, client, world, api_token, runner):
    admin = api_token("t1admin")
    _new_account(client, admin, world, "cliuser@P")
    res = runner.invoke(args=["users", "link", "cliuser@P", "T1", "d2staff"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(args=["users", "link", "cliuser@P", "T1", "nobody"])
    assert res.exit_code != 0 and "Traceback" not in res.output
    res = runner.invoke(args=["users", "unlink", "cliuser@P"])
    assert res.exit_code == 0, res.output
    with app.app_context():
        apply_scope(Scope.system("test"))
        assert db.session.execute(select(User).where(User.username == "cliuser@P")).scalar_one().person_id is None


def test_leaving_the_roster_deactivates_the_account_and_revokes_tokens(app, client, world, api_token):
    """t1staff is linked to d1staff; a roster without d1staff, applied with
    'people not in the file leave', ends the account's sign-in."""
    headers = api_token("t1staff")
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    admin = api_token("t1admin")
    t1 = world.p1.nodes["T1"]
    rows = [person_row("head", "head", role="主要领导", rank="领导班子"),
            person_row("deputy", "deputy", role="分管领导", rank="领导班子", sup="head"),
            person_row("d1head", "d1head", dept="T1-D1", role="科室负责人", sup="deputy"),
            person_row("d2head", "d2head", dept="T1-D2", role="科室负责人", sup="deputy"),
            person_row("d2staff", "d2staff", dept="T1-D2", sup="d2head")]
    import io

    resp = client.post("/api/v1/people/imports", headers=admin, content_type="multipart/form-data",
                       data={"unit_id": str(t1.id), "file": (io.BytesIO(workbook(rows)), "r.xlsx"),
                             "deactivate_missing": "true"})
    assert resp.status_code == 202, resp.get_json()
    imp_id = resp.get_json()["import_id"]
    resp = client.post(f"/api/v1/people/imports/{imp_id}/apply", headers=admin)
    assert resp.status_code in (200, 202), resp.get_json()
    with app.app_context():
        apply_scope(Scope.system("test"))
        p = db.session.execute(select(Person).where(Person.staff_no == "d1staff",
                                                    Person.unit_id == t1.id)).scalar_one()
        assert p.active is False
        user = db.session.execute(select(User).where(User.username == "t1staff")).scalar_one()
        assert user.active is False
        assert all(t.revoked_at is not None for t in db.session.execute(
            select(ApiToken).where(ApiToken.user_id == user.id)).scalars())
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert len(_audit(app, "user.deactivate.roster")) == 1
