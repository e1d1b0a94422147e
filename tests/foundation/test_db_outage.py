"""A PostgreSQL restart while requests run (issue 14, finding 7): every
request answers 200 or a clean 503 with a reference, never a raw 500 (the
session teardown rolling back a dead connection raised one), and the pool
recovers by itself (a disconnect invalidates the pool; idle
connections are pinged at checkout, kaohe.core.pool)."""
from __future__ import annotations

import re

import pytest
from flask import request
from sqlalchemy import text

from kaohe.extensions import db

from .test_jobs import _submit


def _kill_app_connections(owner_engine, dbname, pid=None):
    # Terminating another role's backends takes a superuser (the deploy owner is not one).
    from sqlalchemy import create_engine

    from kaohe.testing.databases import admin_url_for

    admin = create_engine(admin_url_for(owner_engine.url.render_as_string(hide_password=False)),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if pid is not None:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        else:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": dbname})
        conn.commit()
    admin.dispose()


@pytest.mark.pg
def test_killed_connections_give_503_or_200_never_500(app, world, bearer, owner_engine, db_urls, backend):
    job_id = _submit(app, "test.probe", world.ids["P1-T1"])
    h = bearer("t1admin")
    kill_mid_request = {"on": False}

    def _die_midway():  # the connection this request checked out dies under it
        if kill_mid_request["on"] and request.path.startswith("/api/v1/jobs/"):
            pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            _kill_app_connections(owner_engine, db_urls["name"], pid=pid)

    def _die_after(resp):  # ... or dies after the answer, before the teardown rolls back
        if kill_after["on"] and request.path.startswith("/api/v1/jobs/"):
            pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            _kill_app_connections(owner_engine, db_urls["name"], pid=pid)
        return resp

    kill_after = {"on": False}
    app.before_request_funcs.setdefault(None, []).append(_die_midway)
    app.after_request_funcs.setdefault(None, []).append(_die_after)
    c = app.test_client()
    assert c.get(f"/api/v1/jobs/{job_id}", headers=h).status_code == 200
    seen = []
    for round_ in range(6):
        kill_mid_request["on"] = round_ % 3 == 1
        kill_after["on"] = round_ % 3 == 2
        if round_ % 3 == 0:
            _kill_app_connections(owner_engine, db_urls["name"])
        for _ in range(3):
            resp = c.get(f"/api/v1/jobs/{job_id}", headers=h)
            seen.append(resp.status_code)
            assert resp.status_code in (200, 503), (round_, resp.status_code, resp.get_data(as_text=True)[:300])
            if resp.status_code == 503:
                assert re.search(r"ref [0-9a-f]{8}", resp.get_json()["message"]), resp.get_json()
        kill_mid_request["on"] = kill_after["on"] = False
        # ... and the pool recovers: the next request is served.
        assert c.get(f"/api/v1/jobs/{job_id}", headers=h).status_code == 200
    assert 503 in seen  # the mid-request kills were noticed, not hidden
    # Pages too: a clean 503 page, never a raw 500.
    kill_mid_request["on"] = True
    resp = c.get(f"/api/v1/jobs/{job_id}", headers=h)
    assert resp.status_code == 503
    kill_mid_request["on"] = False
    assert c.get(f"/api/v1/jobs/{job_id}", headers=h).status_code == 200
