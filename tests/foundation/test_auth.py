"""Authentication: passwords, throttling, tokens, CSRF, session fixation,
logout and open redirects.  Both databases."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from kaohe.testing.world import PASSWORD

from .conftest import PageClient, fingerprint

TOKEN_URL = "/api/v1/auth/token"


def _token(client, username, password=PASSWORD):
    return client.post(TOKEN_URL, json={"username": username, "password": password})


def _session_cookie(pc: PageClient):
    cookie = pc.client.get_cookie("session")
    return cookie.value if cookie else None


# -- passwords and throttling ---------------------------------------------------------

def test_wrong_password(app, world, backend):
    client = app.test_client()
    resp = _token(client, "t1admin", "not-the-password")
    assert resp.status_code == 401
    assert resp.get_json()["message"] == "Wrong username or password."
    # Unknown account: the same answer (no account enumeration).
    resp2 = _token(client, "nobody-here", "not-the-password")
    assert resp2.status_code == 401 and resp2.get_json()["message"] == resp.get_json()["message"]
    # The page: 401, the message, and no session.
    pc = PageClient(app)
    pc.get("/login")
    resp = pc.post("/login", {"username": "t1admin", "password": "wrong-password"})
    assert resp.status_code == 401
    assert pc.get("/").status_code == 302
    assert _token(client, "t1admin").status_code == 201


@pytest.mark.parametrize("username", ["t1admin", "no-such-account"])
def test_throttle_locks_after_max_failures(app, world, backend, username):
    limit = app.config["KAOHE_LOGIN_MAX_FAILURES"]
    client = app.test_client()
    for i in range(limit):
        resp = _token(client, username, f"wrong-{i}")
        assert resp.status_code == 401, (i, resp.get_json())
    # Locked now: even the right password is refused, on the API ...
    resp = _token(client, username, PASSWORD)
    assert resp.status_code == 429, resp.get_json()
    assert "Too many failed attempts" in resp.get_json()["message"]
    # ... and on the page, for the same (case-insensitive) username.
    pc = PageClient(app)
    pc.get("/login")
    resp = pc.post("/login", {"username": username.upper(), "password": PASSWORD})
    assert resp.status_code == 429
    assert pc.get("/").status_code == 302
    # Other accounts are not affected.
    assert _token(client, "t2admin").status_code == 201


def test_throttle_expires_and_success_resets(app, world, owner_engine, backend):
    limit = app.config["KAOHE_LOGIN_MAX_FAILURES"]
    client = app.test_client()
    for i in range(limit - 1):
        assert _token(client, "t1admin", "wrong").status_code == 401
    assert _token(client, "t1admin").status_code == 201  # resets the count
    for i in range(limit - 1):
        assert _token(client, "t1admin", "wrong").status_code == 401
    assert _token(client, "t1admin").status_code == 201
    for i in range(limit):
        _token(client, "t1admin", "wrong")
    assert _token(client, "t1admin").status_code == 429
    with owner_engine.begin() as c:  # the lock runs out
        c.execute(text("UPDATE login_throttle SET locked_until = :t WHERE username = 't1admin'"),
                  {"t": dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)})
    assert _token(client, "t1admin").status_code == 201


# -- tokens -----------------------------------------------------------------------------

def test_revoked_token_is_401(app, world, backend):
    client = app.test_client()
    tok = _token(client, "t1admin").get_json()["token"]
    h = {"Authorization": f"Bearer {tok}"}
    assert client.get("/api/v1/auth/me", headers=h).status_code == 200
    assert client.delete(TOKEN_URL, headers=h).status_code == 204
    resp = client.get("/api/v1/auth/me", headers=h)
    assert resp.status_code == 401
    assert client.get("/api/v1/orgs", headers=h).status_code == 401
    # Revoking again with the dead token: still 401, never 500.
    assert client.delete(TOKEN_URL, headers=h).status_code == 401


def test_expired_token_is_401(app, world, owner_engine, backend):
    client = app.test_client()
    data = _token(client, "t1admin").get_json()
    h = {"Authorization": f"Bearer {data['token']}"}
    assert client.get("/api/v1/auth/me", headers=h).status_code == 200
    with owner_engine.begin() as c:
        c.execute(text("UPDATE api_token SET expires_at = :t WHERE id = :i"),
                  {"t": dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1), "i": data["token_id"]})
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401


@pytest.mark.parametrize("header", ["Bearer ", "Bearer kh_forged", "Basic dDoxYWRtaW4=", "Bearer " + "x" * 5000])
def test_bad_tokens_are_401(app, world, header, backend):
    resp = app.test_client().get("/api/v1/auth/me", headers={"Authorization": header})
    assert resp.status_code == 401


def test_api_ignores_session_cookies(app, world, backend):
    """The API authenticates by token only, so a cookie (and CSRF) cannot be
    abused against it."""
    pc = PageClient(app).login("t1admin")
    assert pc.client.get("/api/v1/auth/me").status_code == 401


def test_deactivated_account_loses_token_and_session(app, world, iso, backend):
    admin = {"Authorization": f"Bearer {_token(app.test_client(), 't1admin').get_json()['token']}"}
    victim = {"Authorization": f"Bearer {_token(app.test_client(), 'iso-t1').get_json()['token']}"}
    pc = PageClient(app).login("iso-t1")
    resp = app.test_client().patch(f"/api/v1/users/{iso.user['T1']}", headers=admin, json={"active": False})
    assert resp.status_code == 200
    assert app.test_client().get("/api/v1/auth/me", headers=victim).status_code == 401
    assert pc.get("/").status_code == 302
    assert _token(app.test_client(), "iso-t1").status_code == 401


# -- CSRF ------------------------------------------------------------------------------

def test_csrf_missing_is_400_and_changes_nothing(app, world, backend):
    pc = PageClient(app).login("policy")
    url = f"/orgs/{world.ids['P1-T1']}/edit"
    before = fingerprint(app)
    resp = pc.post(url, {"name": "被篡改", "is_assessment_unit": "on"}, csrf=False)
    assert resp.status_code == 400
    assert "Traceback" not in resp.get_data(as_text=True)
    resp = pc.post(url, {"name": "被篡改", "csrf_token": "forged"}, csrf=False)
    assert resp.status_code == 400
    assert fingerprint(app) == before
    # With the token it works (the same form, so the check is what refused it).
    assert pc.post(url, {"name": "新名", "is_assessment_unit": "on"}).status_code == 302
    assert fingerprint(app) != before


def test_csrf_token_of_another_session_is_refused(app, world, backend):
    attacker = PageClient(app).login("p2-policy")
    victim = PageClient(app).login("policy")
    before = fingerprint(app)
    resp = victim.post(f"/orgs/{world.ids['P1-T1']}/edit", {"name": "x", "csrf_token": attacker.token}, csrf=False)
    assert resp.status_code == 400
    assert fingerprint(app) == before


def test_logout_needs_csrf(app, world, backend):
    pc = PageClient(app).login("t1admin")
    assert pc.post("/logout", csrf=False).status_code == 400
    assert pc.get("/").status_code == 200  # still logged in


# -- session fixation and logout ---------------------------------------------------------

def test_session_is_fresh_after_login(app, world, backend):
    pc = PageClient(app)
    pc.get("/login")
    pc.get("/lang/en")
    before = _session_cookie(pc)
    assert before
    resp = pc.post("/login", {"username": "t1admin", "password": PASSWORD})
    assert resp.status_code == 302
    after = _session_cookie(pc)
    assert after and after != before
    assert pc.get("/").status_code == 200
    # A cookie captured before the login is not a logged-in session.
    replay = app.test_client()
    replay.set_cookie("session", before)
    resp = replay.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    # The pre-login CSRF token does not carry over either.
    assert pc.post(f"/orgs/{world.ids['P1-T1']}/edit", {"name": "x"}, csrf=False).status_code == 400


def test_logout_kills_the_old_cookie(app, world, backend):
    pc = PageClient(app).login("t1admin")
    cookie = _session_cookie(pc)
    assert pc.post("/logout").status_code == 302
    assert pc.get("/").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    resp = replay.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert replay.get(f"/orgs/{world.ids['P1-T1']}").status_code == 302
    # A fresh login works again.
    assert PageClient(app).login("t1admin").get("/").status_code == 200


def test_password_change_kills_other_sessions(app, world, backend):
    other = PageClient(app).login("t1admin")
    h = {"Authorization": f"Bearer {_token(app.test_client(), 't1admin').get_json()['token']}"}
    me = app.test_client().get("/api/v1/auth/me", headers=h).get_json()
    resp = app.test_client().patch(f"/api/v1/users/{me['id']}", headers=h, json={"password": "a-new-password-9",
                                                                                 "current_password": PASSWORD})
    assert resp.status_code == 200
    assert other.get("/").status_code == 302
    assert _token(app.test_client(), "t1admin", "a-new-password-9").status_code == 201


# -- open redirects ------------------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example", "http:evil.example",
    "javascript:alert(1)", " //evil.example", "/%2F%2Fevil.example", "\t//evil.example",
])
def test_next_open_redirect_refused(app, world, target, backend):
    pc = PageClient(app)
    pc.get("/login")
    resp = pc.client.post("/login", query_string={"next": target},
                          data={"username": "t1admin", "password": PASSWORD, "csrf_token": pc.token})
    assert resp.status_code == 302
    loc = resp.headers["Location"]
    assert "evil" not in loc and "javascript" not in loc, loc
    resp = pc.client.get("/lang/en", query_string={"next": target})
    assert "evil" not in resp.headers["Location"] and "javascript" not in resp.headers["Location"]


def test_next_inside_the_app_is_kept(app, world, backend):
    pc = PageClient(app)
    resp = pc.get(f"/orgs/{world.ids['P1-T1']}")
    assert resp.status_code == 302
    login_url = resp.headers["Location"]
    assert "next=" in login_url
    pc.get(login_url)
    resp = pc.client.post(login_url, data={"username": "t1admin", "password": PASSWORD, "csrf_token": pc.token})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/orgs/{world.ids['P1-T1']}")


# -- the caller in one statement (kaohe.auth.principal) ------------------------------

def test_principal_reads_only_the_credential_holder(app, world, backend):
    """By token digest or by (user id, session token): the holder's grants and
    node paths, nothing for a wrong credential, and no scope left behind."""
    from sqlalchemy import select

    from kaohe.auth import principal
    from kaohe.auth.models import User
    from kaohe.auth.service import issue_token, token_digest
    from kaohe.extensions import db
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.test_request_context():
        apply_scope(Scope.system("test"))
        user = db.session.execute(select(User).where(User.username == "countysup")).scalar_one()
        raw, _tok = issue_token(user)
        session_token, uid = user.session_token, user.id
        k1_path = world.p1.nodes["K1"].path
        db.session.commit()
        # As the app would be at the start of a request: no scope at all.
        apply_scope(Scope())
        p = principal.by_token_digest(token_digest(raw))
        assert p is not None and p.user_id == uid and p.active and p.revoked_at is None
        assert [(g.role, g.path) for g in p.grants] == [("supervisor", k1_path)]
        assert principal.by_token_digest(token_digest(raw + "x")) is None
        s = principal.by_session(uid, session_token)
        assert s is not None and [(g.role, g.path) for g in s.grants] == [("supervisor", k1_path)]
        assert principal.by_session(uid, session_token + "x") is None
        assert principal.by_session(uid, "") is None
        if backend == "pg":
            # The lookup lifted nothing for the rest of the transaction (RLS
            # still shows an empty scope nothing).
            assert db.session.execute(text("SELECT count(*) FROM person")).scalar_one() == 0
            assert db.session.execute(text("SELECT coalesce(current_setting('kaohe.all_roots', true), '')")
                                      ).scalar_one() == ""
        db.session.rollback()


def test_authenticated_request_reads_the_caller_in_few_statements(app, world, backend):
    """Token authentication costs a fixed, small number of statements (it was
    eleven before the principal lookup)."""
    from sqlalchemy import event

    from kaohe.extensions import db

    client = app.test_client()
    h = {"Authorization": f"Bearer {_token(client, 't1admin').get_json()['token']}"}
    with app.app_context():
        engine = db.engine
    seen = []

    def count(conn, cursor, statement, *a):
        seen.append(statement)
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/api/v1/orgs", headers=h).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # PostgreSQL: the principal (credential, account and grants), the
    # caller's scope, the list itself.  SQLite: the same without the set_config.
    assert len(seen) <= (3 if backend == "pg" else 2), seen


def test_account_built_from_the_principal_is_the_stored_account(app, world, backend):
    """The account comes from the principal's own row (no second SELECT); it
    equals what the table holds, and the password hash, left out of that row,
    loads on first access under the caller's scope."""
    from sqlalchemy import inspect, select

    from kaohe.auth.models import User
    from kaohe.auth.service import issue_token, user_for_token
    from kaohe.extensions import db
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.test_request_context():
        apply_scope(Scope.system("test"))
        stored = db.session.execute(select(User).where(User.username == "t1admin")).scalar_one()
        raw, _ = issue_token(stored)
        expected = {c.key: getattr(stored, c.key) for c in inspect(User).column_attrs}
        db.session.commit()
        db.session.expunge_all()
        apply_scope(Scope())
        user = user_for_token(raw)
        assert user is not None and inspect(user).persistent
        assert "password_hash" in inspect(user).unloaded
        got = {c.key: getattr(user, c.key) for c in inspect(User).column_attrs}
        assert got == expected
        db.session.rollback()
