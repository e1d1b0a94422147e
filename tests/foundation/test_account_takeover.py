"""Issue 11, finding 1: managing an account (password, e-mail, status,
grants) needs a scope covering EVERY grant it holds and a role at least each
of its roles.  A truth table: actor role x the target's grants (own unit,
above, beside, an equal admin) x action, through the API and the pages.
Also finding 4 (tokens outlive a password change)."""
from __future__ import annotations

import pytest

from kaohe.audit.service import Actor, reset_actor, set_actor
from kaohe.auth import service as auth_service
from kaohe.auth.passwords import hash_password
from kaohe.auth.roles import Role
from kaohe.extensions import db
from kaohe.tenancy.models import OrgNode
from kaohe.tenancy.scope import Scope, apply_scope
from kaohe.testing.world import PASSWORD

from .conftest import PageClient, node_id

# target kind -> grants (role, node key); every target is homed at T1
TARGETS = {
    "own": [(Role.staff, "T1")],
    "above": [(Role.staff, "T1"), (Role.supervisor, "K1")],
    "beside": [(Role.staff, "T1"), (Role.staff, "T2")],
    "equal": [(Role.unit_admin, "T1")],
}
# actor -> the target kinds it may manage
MAY = {
    "t1admin": {"own", "equal"},
    "policy": {"own", "above", "beside", "equal"},
    "countysup": set(),
    "t1leader": set(),
}


def _make_target(app, world, kind):
    with app.app_context():
        apply_scope(Scope.system("test"))
        tok = set_actor(Actor(None, "test"))
        try:
            home = db.session.get(OrgNode, node_id(world, "T1"))
            user = auth_service.create_user(username=f"target-{kind}", display_name=f"target {kind}", password="",
                                            org=home, password_hash=hash_password(PASSWORD))
            for role, key in TARGETS[kind]:
                auth_service.grant_role(user, role, db.session.get(OrgNode, node_id(world, key)), check=False)
            db.session.commit()
            own_grant = next(g.id for g in user.grants if g.org_id == home.id)
            return user.id, own_grant
        finally:
            reset_actor(tok)
            db.session.remove()


def _token(app, username, password=PASSWORD):
    resp = app.test_client().post("/api/v1/auth/token", json={"username": username, "password": password})
    return resp


@pytest.mark.parametrize("kind", sorted(TARGETS))
@pytest.mark.parametrize("actor", sorted(MAY))
def test_account_management_truth_table(app, world, backend, actor, kind):
    uid, own_grant = _make_target(app, world, kind)
    allowed = kind in MAY[actor]
    h = {"Authorization": f"Bearer {_token(app, actor).get_json()['token']}"}
    c = app.test_client()
    t1d1 = node_id(world, "T1-D1")
    got = {
        "email": c.patch(f"/api/v1/users/{uid}", headers=h, json={"email": "x@example.org"}).status_code,
        "grant": c.post(f"/api/v1/users/{uid}/grants", headers=h, json={"role": "leader", "org_id": t1d1}).status_code,
    }
    pc = PageClient(app).login(actor)
    pc.get(f"/users/{uid}")
    got["page_grant"] = pc.post(f"/users/{uid}/grants", {"role": "staff", "org_id": t1d1}).status_code
    got["page_revoke"] = pc.post(f"/users/{uid}/grants/{own_grant}/delete").status_code
    got["password"] = c.patch(f"/api/v1/users/{uid}", headers=h, json={"password": "taken-over-123"}).status_code
    got["deactivate"] = c.patch(f"/api/v1/users/{uid}", headers=h, json={"active": False}).status_code
    expected = {"email": 200, "grant": 201, "page_grant": 302, "page_revoke": 302, "password": 200,
                "deactivate": 200} if allowed else {k: 403 for k in got}
    assert got == expected
    # the target can log in with the taken-over password only when managing was allowed
    assert (_token(app, f"target-{kind}", "taken-over-123").status_code == 201) is False  # deactivated or refused
    if not allowed:
        assert _token(app, f"target-{kind}").status_code == 201


def test_the_management_form_is_hidden_for_an_account_you_may_not_manage(app, world, backend):
    uid, _ = _make_target(app, world, "above")
    html = PageClient(app).login("t1admin").get(f"/users/{uid}").get_data(as_text=True)
    assert 'id="grant-form"' not in html
    html = PageClient(app).login("policy").get(f"/users/{uid}").get_data(as_text=True)
    assert 'id="grant-form"' in html


# -- finding 4: tokens and sessions do not outlive a password change ----------------

def test_own_password_change_needs_the_current_password(app, world, backend):
    h = {"Authorization": f"Bearer {_token(app, 't1staff').get_json()['token']}"}
    c = app.test_client()
    me = c.get("/api/v1/auth/me", headers=h).get_json()["id"]
    resp = c.patch(f"/api/v1/users/{me}", headers=h, json={"password": "a-new-password-9"})
    assert resp.status_code == 422 and "current_password" in resp.get_json()["errors"]
    resp = c.patch(f"/api/v1/users/{me}", headers=h, json={"password": "a-new-password-9",
                                                           "current_password": "wrong-password"})
    assert resp.status_code == 422
    assert _token(app, "t1staff").status_code == 201  # unchanged
    resp = c.patch(f"/api/v1/users/{me}", headers=h, json={"password": "a-new-password-9",
                                                           "current_password": PASSWORD})
    assert resp.status_code == 200
    assert _token(app, "t1staff", "a-new-password-9").status_code == 201


def test_password_change_by_an_admin_revokes_every_token_and_session(app, world, backend):
    victim_tokens = [{"Authorization": f"Bearer {_token(app, 't1staff').get_json()['token']}"} for _ in range(2)]
    pc = PageClient(app).login("t1staff")
    admin = {"Authorization": f"Bearer {_token(app, 't1admin').get_json()['token']}"}
    c = app.test_client()
    uid = c.get("/api/v1/auth/me", headers=victim_tokens[0]).get_json()["id"]
    assert c.patch(f"/api/v1/users/{uid}", headers=admin, json={"password": "reset-by-admin-1"}).status_code == 200
    for h in victim_tokens:
        assert c.get("/api/v1/auth/me", headers=h).status_code == 401
    assert pc.get("/").status_code == 302
    assert c.get("/api/v1/auth/me", headers=admin).status_code == 200  # the admin's own token lives on


def test_own_password_change_revokes_the_old_tokens(app, world, backend):
    old = {"Authorization": f"Bearer {_token(app, 't1staff').get_json()['token']}"}
    h = {"Authorization": f"Bearer {_token(app, 't1staff').get_json()['token']}"}
    c = app.test_client()
    me = c.get("/api/v1/auth/me", headers=h).get_json()["id"]
    assert c.patch(f"/api/v1/users/{me}", headers=h, json={"password": "a-new-password-9",
                                                           "current_password": PASSWORD}).status_code == 200
    assert c.get("/api/v1/auth/me", headers=old).status_code == 401
    assert c.get("/api/v1/auth/me", headers=h).status_code == 401


def test_reactivation_does_not_revive_old_tokens_or_sessions(app, world, backend):
    victim = {"Authorization": f"Bearer {_token(app, 't1staff').get_json()['token']}"}
    pc = PageClient(app).login("t1staff")
    admin = {"Authorization": f"Bearer {_token(app, 't1admin').get_json()['token']}"}
    c = app.test_client()
    uid = c.get("/api/v1/auth/me", headers=victim).get_json()["id"]
    assert c.patch(f"/api/v1/users/{uid}", headers=admin, json={"active": False}).status_code == 200
    assert c.patch(f"/api/v1/users/{uid}", headers=admin, json={"active": True}).status_code == 200
    assert c.get("/api/v1/auth/me", headers=victim).status_code == 401
    assert pc.get("/").status_code == 302
    assert _token(app, "t1staff").status_code == 201
