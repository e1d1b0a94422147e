"""Pooled PostgreSQL connections are pinged only after idling (kaohe.core.pool,
issue 18): no ping round trip on a busy pool, and a connection that died
while idle is replaced before the request sees it."""
from __future__ import annotations

import pytest

from kaohe.core import pool
from kaohe.extensions import db

from .test_db_outage import _kill_app_connections
from .test_jobs import _submit


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now


@pytest.mark.pg
def test_busy_pool_sends_no_pings_and_an_idle_dead_connection_is_replaced(app, world, bearer, owner_engine,
                                                                          db_urls, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(pool, "time", clock)
    with app.app_context():
        engine = db.engine
    assert not engine.pool._pre_ping, "the per-checkout ping is replaced by the idle ping"
    pings = []
    real_ping = engine.dialect.do_ping

    def counting_ping(dbapi_connection):
        pings.append(1)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting_ping)
    job_id = _submit(app, "test.probe", world.ids["P1-T1"])
    h = bearer("t1admin")
    c = app.test_client()
    url = f"/api/v1/jobs/{job_id}"
    for _ in range(5):            # busy: checked out again within the idle limit
        assert c.get(url, headers=h).status_code == 200
    assert pings == []
    clock.now += app.config["KAOHE_DB_PING_IDLE_SECONDS"] + 0.5     # the pool idles
    _kill_app_connections(owner_engine, db_urls["name"])              # ... and its connections die
    assert c.get(url, headers=h).status_code == 200                   # pinged, replaced, served
    assert len(pings) >= 1
    assert c.get(url, headers=h).status_code == 200
