"""Issue 11, finding 2: the login throttle holds under concurrency (at most
KAOHE_LOGIN_MAX_FAILURES password checks however many requests arrive at
once; the right password sent late gets no token), with the database counter
and with Redis; and a per-IP limit in the app."""
from __future__ import annotations

import os
import threading
import time

import pytest

from kaohe.auth import service as auth_service
from kaohe.testing.world import PASSWORD

N = 50


def _count_checks(monkeypatch):
    lock = threading.Lock()
    checks = []
    real_verify, real_dummy = auth_service.verify_password, auth_service.dummy_verify

    def verify(stored, password):
        with lock:
            checks.append(password)
        time.sleep(0.05)  # widen the window a read-then-write counter loses
        return real_verify(stored, password)

    def dummy(password):
        with lock:
            checks.append(password)
        time.sleep(0.05)
        return real_dummy(password)

    monkeypatch.setattr(auth_service, "verify_password", verify)
    monkeypatch.setattr(auth_service, "dummy_verify", dummy)
    return checks


def _storm(app, username):
    """N-1 wrong guesses at once, then the right password while they run."""
    results = [None] * N
    start = threading.Barrier(N - 1)

    def attempt(i, password, wait):
        if wait:
            start.wait()
        resp = app.test_client().post("/api/v1/auth/token", json={"username": username, "password": password},
                                      environ_base={"REMOTE_ADDR": f"10.0.{i // 250}.{i % 250 + 1}"})
        results[i] = resp.status_code

    threads = [threading.Thread(target=attempt, args=(i, f"wrong-{i}", True)) for i in range(N - 1)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    last = threading.Thread(target=attempt, args=(N - 1, PASSWORD, False))
    last.start()
    for t in threads + [last]:
        t.join(60)
    return results


@pytest.mark.parametrize("username", ["t1admin", "no-such-account"])
def test_fifty_concurrent_attempts_check_at_most_the_limit(app, world, backend, monkeypatch, username):
    limit = app.config["KAOHE_LOGIN_MAX_FAILURES"]
    checks = _count_checks(monkeypatch)
    results = _storm(app, username)
    assert len(checks) <= limit, f"{len(checks)} passwords checked, limit {limit}"
    assert results[-1] == 429  # the right password, sent late: no token
    assert 201 not in results
    assert set(results) <= {401, 429}
    assert results.count(401) <= limit


def test_fifty_concurrent_attempts_with_redis(app, world, backend, monkeypatch):
    import redis

    url = os.environ.get("KAOHE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.fail(f"Redis at {url} is not reachable", pytrace=False)
    app.config["KAOHE_REDIS_URL"] = url
    name = "t1admin"
    redis.Redis.from_url(url).delete(auth_service._RedisThrottle.key(name))
    limit = app.config["KAOHE_LOGIN_MAX_FAILURES"]
    checks = _count_checks(monkeypatch)
    try:
        results = _storm(app, name)
        assert len(checks) <= limit
        assert results[-1] == 429 and 201 not in results
    finally:
        redis.Redis.from_url(url).delete(auth_service._RedisThrottle.key(name))


def test_per_ip_limit_on_token_and_login_page(app, world, backend):
    from kaohe.auth.ratelimit import limiter

    app.config["KAOHE_LOGIN_IP_LIMIT"] = "3 per minute"
    limiter.reset()
    c = app.test_client()
    here, there = {"REMOTE_ADDR": "192.0.2.7"}, {"REMOTE_ADDR": "192.0.2.8"}
    codes = [c.post("/api/v1/auth/token", json={"username": f"user{i}", "password": "x"}, environ_base=here).status_code
             for i in range(4)]
    assert codes == [401, 401, 401, 429]
    # another address is not affected, and the right password from it works
    assert c.post("/api/v1/auth/token", json={"username": "t2admin", "password": PASSWORD},
                  environ_base=there).status_code == 201
    from .conftest import PageClient

    pc, addr = PageClient(app), {"REMOTE_ADDR": "192.0.2.9"}
    pc.get("/login", environ_base=addr)
    pages = [pc.post("/login", {"username": f"page{i}", "password": "x"}, environ_base=addr).status_code
             for i in range(4)]
    assert pages == [401, 401, 401, 429]
    limiter.reset()
