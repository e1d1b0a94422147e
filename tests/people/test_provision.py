"""Issue 13, 2: accounts for everyone on a unit's roster in one step, the
activation sheet (page and xlsx), activation at phone width, the forced
password change, and the CLI -- one service and one validator for all."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from kaohe.audit.models import AuditEntry
from kaohe.auth.models import RoleGrant, User
from kaohe.extensions import db
from kaohe.people.accounts import username_for
from kaohe.policy.registry import REGISTRY
from kaohe.tenancy.scope import Scope, apply_scope

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"|name="csrf-token" content="([^"]+)"')


def _csrf(c, url):
    m = CSRF.search(c.get(url).get_data(as_text=True))
    return m.group(1) or m.group(2)


def _sys(app):
    ctx = app.app_context()
    ctx.push()
    apply_scope(Scope.system("test"))
    return ctx


def test_username_rule_is_pure_and_validated():
    assert username_for("{unit}-{staff_no}", "T1", "0007") == "T1-0007"
    assert username_for("{staff_no}@{unit}", "T1", "7") == "7@T1"
    field = REGISTRY["accounts.username_rule"].field()
    assert REGISTRY["accounts.username_rule"].default == "{unit}-{staff_no}"
    for bad in ("{unit}", "{unit}-{name}", "a b {staff_no}"):
        with pytest.raises(Exception):
            field.deserialize(bad)


def test_provision_api_idempotent_activate_and_sign_in(app, client, world, api_token):
    admin = api_token("t1admin")
    t1 = world.p1.nodes["T1"].id
    resp = client.post(f"/api/v1/people/units/{t1}/accounts", headers=admin, json={})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    rows = {r["staff_no"]: r for r in body["rows"]}
    # deputy and d1staff already have accounts (t1leader, t1staff): nothing new for them
    assert rows["deputy"]["status"] == "existing" and rows["deputy"]["code"] is None
    assert body["created"] == 4 and rows["d2staff"]["username"] == "T1-d2staff@P"
    code = rows["d2staff"]["code"]
    assert code and len(code) == 10
    with app.app_context():
        apply_scope(Scope.system("test"))
        user = db.session.execute(select(User).where(User.username == "T1-d2staff@P")).scalar_one()
        assert user.activation_hash and code not in user.activation_hash      # stored hashed
        assert user.must_change_password
        head = db.session.execute(select(User).where(User.username == "T1-head@P")).scalar_one()
        roles = {g.role for g in db.session.execute(select(RoleGrant).where(RoleGrant.user_id == head.id)).scalars()}
        assert roles == {"staff", "leader"}
        # a department head rates the department as its supervisor: leader role too (the journey
        # of issue 13 found heads refused on the rating page); plain staff only the staff role
        for name, want in (("T1-d2head@P", {"staff", "leader"}), ("T1-d2staff@P", {"staff"})):
            uid = db.session.execute(select(User.id).where(User.username == name)).scalar_one()
            got = {g.role for g in db.session.execute(select(RoleGrant).where(RoleGrant.user_id == uid)).scalars()}
            assert got == want, (name, got)
        assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "user.provision")).scalars().all()

    # Provisioning twice: no second account, no new code.
    again = client.post(f"/api/v1/people/units/{t1}/accounts", headers=admin, json={}).get_json()
    assert again["created"] == 0 and all(r["code"] is None for r in again["rows"])
    with app.app_context():
        apply_scope(Scope.system("test"))
        assert db.session.execute(select(User).where(User.username.like("T1-%"))).scalars().all().__len__() == 4

    # Activation at phone width: username + code, set a password; signed in.
    c = app.test_client()
    token = _csrf(c, "/activate")
    resp = c.post("/activate", data={"csrf_token": token, "username": "T1-d2staff@P", "code": code,
                                     "password": "my-own-password-1", "password2": "my-own-password-1"})
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:400]
    assert c.get("/routine/").status_code == 200
    # The code works once.
    c2 = app.test_client()
    resp = c2.post("/activate", data={"csrf_token": _csrf(c2, "/activate"), "username": "T1-d2staff@P", "code": code,
                                      "password": "other-password-1", "password2": "other-password-1"})
    assert resp.status_code == 422
    assert client.post("/api/v1/auth/token", json={"username": "T1-d2staff@P",
                                                    "password": "my-own-password-1"}).status_code == 201

    # Re-issue on request only: the old code of d2head stops working.
    old = rows["d2head"]["code"]
    resp = client.post(f"/api/v1/people/units/{t1}/accounts", headers=admin,
                       json={"staff_nos": ["d2head"], "reissue": True}).get_json()
    new = resp["rows"][0]["code"]
    assert resp["rows"][0]["status"] == "reissued" and new and new != old
    resp = c2.post("/activate", data={"csrf_token": _csrf(c2, "/activate"), "username": "T1-d2head@P", "code": old,
                                      "password": "other-password-1", "password2": "other-password-1"})
    assert resp.status_code == 422

    # An expired code is refused.
    with app.app_context():
        apply_scope(Scope.system("test"))
        u = db.session.execute(select(User).where(User.username == "T1-d2head@P")).scalar_one()
        u.activation_expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
        db.session.commit()
    resp = c2.post("/activate", data={"csrf_token": _csrf(c2, "/activate"), "username": "T1-d2head@P", "code": new,
                                      "password": "other-password-1", "password2": "other-password-1"})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and ("expired" in text.lower() or "过期" in text)


def test_provision_bad_input(app, client, world, api_token):
    admin = api_token("t1admin")
    t1 = world.p1.nodes["T1"].id
    resp = client.post(f"/api/v1/people/units/{t1}/accounts", headers=admin, json={"staff_nos": ["ghost"]})
    assert resp.status_code == 422 and "staff_nos" in resp.get_json()["errors"]
    resp = client.post(f"/api/v1/people/units/{t1}/accounts", headers=admin, json={"mode": "carrier-pigeon"})
    assert resp.status_code == 422
    resp = client.post(f"/api/v1/people/units/{world.p1.nodes['T3'].id}/accounts", headers=admin, json={})
    assert resp.status_code == 404
    resp = client.post(f"/api/v1/people/units/{t1}/accounts", headers=api_token("t1leader"), json={})
    assert resp.status_code == 403
    with app.app_context():
        apply_scope(Scope.system("test"))
        assert not db.session.execute(select(User).where(User.username.like("T1-%"))).scalars().all()


def test_initial_password_forces_a_change(app, client, world, api_token):
    admin = api_token("t1admin")
    t1 = world.p1.nodes["T1"].id
    body = client.post(f"/api/v1/people/units/{t1}/accounts", headers=admin,
                       json={"staff_nos": ["d1head"], "mode": "password"}).get_json()
    pw = body["rows"][0]["password"]
    assert pw and body["rows"][0]["code"] is None
    # The API does not hand out a token before the password is changed.
    assert client.post("/api/v1/auth/token", json={"username": "T1-d1head@P", "password": pw}).status_code == 403
    c = app.test_client()
    resp = c.post("/login", data={"csrf_token": _csrf(c, "/login"), "username": "T1-d1head@P", "password": pw})
    assert resp.status_code in (302, 303)
    resp = c.get("/routine/")
    assert resp.status_code == 302 and "/account/password" in resp.headers["Location"]
    token = _csrf(c, "/account/password")
    resp = c.post("/account/password", data={"csrf_token": token, "password": "a-brand-new-pw", "password2": "x"})
    assert resp.status_code == 422
    resp = c.post("/account/password", data={"csrf_token": token, "password": "a-brand-new-pw",
                                             "password2": "a-brand-new-pw"})
    assert resp.status_code in (302, 303)
    assert c.get("/routine/").status_code == 200
    assert client.post("/api/v1/auth/token", json={"username": "T1-d1head@P",
                                                    "password": "a-brand-new-pw"}).status_code == 201


def test_sheet_page_xlsx_and_cli(app, client, world, login, runner, tmp_path):
    t1 = world.p1.nodes["T1"].id
    b = login("t1admin")
    html = b.get(f"/units/{t1}/accounts").get_data(as_text=True)
    assert 'id="provision-form"' in html
    resp = b.post(f"/units/{t1}/accounts", {"output": "sheet", "staff_nos": "d2staff d2head", "mode": "code"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "T1-d2staff@P" in html and "T1-d2head@P" in html and "sheet-dept" in html
    resp = b.post(f"/units/{t1}/accounts", {"output": "xlsx", "mode": "code", "reissue": "on",
                                           "staff_nos": "d2staff"})
    assert resp.status_code == 200 and resp.mimetype.endswith("sheet")
    wb = load_workbook(io.BytesIO(resp.data))
    ws = wb[wb.sheetnames[0]]
    values = [c.value for c in ws[2]]
    assert "T1-d2staff@P" in values and values[4] and len(values[4]) == 10
    # Bad input on the page: a message, not a traceback.
    resp = b.post(f"/units/{t1}/accounts", {"output": "sheet", "staff_nos": "ghost"})
    assert resp.status_code == 422 and "ghost" in resp.get_data(as_text=True)

    out = tmp_path / "sheet.xlsx"
    res = runner.invoke(args=["users", "provision", "T1", "--xlsx", str(out)])
    assert res.exit_code == 0, res.output
    assert "created=2" in res.output and out.exists()     # head, d1head (d2* exist; deputy, d1staff linked)
    res = runner.invoke(args=["users", "provision", "T1"])
    assert res.exit_code == 0 and "created=0 reissued=0" in res.output
    res = runner.invoke(args=["users", "provision", "NOPE"])
    assert res.exit_code != 0 and "Traceback" not in res.output
