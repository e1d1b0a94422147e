"""Issue 11: signing in while Redis is down.  KAOHE_REDIS_URL points at a
port where nothing listens: the per-username throttle falls back to the
database's atomic counter and the per-IP limiter to in-process memory, so
sign-in never answers 5xx and the throttle still holds (wrong guesses lock
the account at the configured number; the right password works before)."""
from __future__ import annotations

import socket

import pytest

from kaohe.testing.world import PASSWORD

from .conftest import PageClient, make_app


def _dead_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def down_app(db_urls, tmp_path):
    app = make_app(db_urls, tmp_path, KAOHE_REDIS_URL=f"redis://127.0.0.1:{_dead_port()}/0",
                   KAOHE_LOGIN_IP_LIMIT="100000 per minute")
    yield app
    from kaohe.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def down_world(down_app):
    from kaohe.extensions import db
    from kaohe.testing.world import build_world

    with down_app.app_context():
        w = build_world()
        db.session.remove()
    return w


def _token(app, username, password, addr="198.51.100.1"):
    return app.test_client().post("/api/v1/auth/token", json={"username": username, "password": password},
                                  environ_base={"REMOTE_ADDR": addr})


def _page_login(app, username, password, addr="198.51.100.2"):
    pc = PageClient(app)
    pc.get("/login", environ_base={"REMOTE_ADDR": addr})
    return pc, pc.post("/login", {"username": username, "password": password}, environ_base={"REMOTE_ADDR": addr})


def test_api_sign_in_works_and_locks_out_with_redis_down(down_app, down_world, backend):
    limit = down_app.config["KAOHE_LOGIN_MAX_FAILURES"]
    # the right password works (no 500), and a session of the API works after it
    ok = _token(down_app, "t1admin", PASSWORD)
    assert ok.status_code == 201, ok.get_data(as_text=True)[:300]
    hdr = {"Authorization": f"Bearer {ok.get_json()['token']}"}
    assert down_app.test_client().get("/api/v1/auth/me", headers=hdr).status_code == 200
    # wrong guesses: each is checked and refused until the configured number, then locked
    codes = [_token(down_app, "t2admin", f"wrong-{i}").status_code for i in range(limit)]
    assert codes == [401] * limit
    # locked now, even for the right password
    assert _token(down_app, "t2admin", PASSWORD).status_code == 429
    # another account is not affected
    assert _token(down_app, "t3admin", PASSWORD).status_code == 201


def test_page_sign_in_works_and_locks_out_with_redis_down(down_app, down_world, backend):
    limit = down_app.config["KAOHE_LOGIN_MAX_FAILURES"]
    pc, resp = _page_login(down_app, "t1admin", PASSWORD)
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:300]
    assert pc.get("/", environ_base={"REMOTE_ADDR": "198.51.100.2"}).status_code == 200
    codes = [_page_login(down_app, "t2admin", f"wrong-{i}")[1].status_code for i in range(limit)]
    assert codes == [401] * limit
    _, locked = _page_login(down_app, "t2admin", PASSWORD)
    assert locked.status_code == 429
    assert "Traceback" not in locked.get_data(as_text=True)


def test_per_ip_limit_holds_in_memory_with_redis_down(down_app, down_world, backend):
    down_app.config["KAOHE_LOGIN_IP_LIMIT"] = "3 per minute"
    addr = "198.51.100.77"
    codes = [_token(down_app, f"user{i}", "x", addr=addr).status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]
    pc, page_addr = PageClient(down_app), {"REMOTE_ADDR": "198.51.100.78"}
    pc.get("/login", environ_base=page_addr)
    pages = [pc.post("/login", {"username": f"page{i}", "password": "x"}, environ_base=page_addr).status_code
             for i in range(4)]
    assert pages == [401, 401, 401, 429]
