"""Fixtures.  Every database test runs twice: on SQLite and on PostgreSQL
(as the non-owner app role, so RLS is in force).  PostgreSQL being
unreachable is a failure, never a skip, unless KAOHE_TEST_SKIP_PG=1 is set
explicitly for a quick local run."""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("KAOHE_ARGON2_TIME_COST", "1")
os.environ.setdefault("KAOHE_ARGON2_MEMORY_KB", "1024")
os.environ.setdefault("KAOHE_ARGON2_PARALLELISM", "1")
os.environ.pop("KAOHE_DATABASE_URL", None)
os.environ.pop("KAOHE_REDIS_URL", None)

from kaohe import create_app  # noqa: E402
from kaohe.auth.passwords import reset_hasher  # noqa: E402
from kaohe.extensions import db  # noqa: E402
from kaohe.testing import databases  # noqa: E402

reset_hasher()

SKIP_PG = os.environ.get("KAOHE_TEST_SKIP_PG") == "1"
# KAOHE_TEST_CITUS=1 (.ci/run's Citus part): the PostgreSQL database is made on the local Citus
# cluster and distributed, and the tests marked `citus` run (otherwise they are deselected).
CITUS = os.environ.get("KAOHE_TEST_CITUS") == "1"
BACKENDS = ["sqlite"] + ([] if SKIP_PG else ["pg"])


def _config(tmp_dir: Path, db_url: str, migrate_url: str, **extra) -> dict:
    cfg = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "INSTANCE_PATH": str(tmp_dir),
        "SQLALCHEMY_DATABASE_URI": db_url,
        "KAOHE_MIGRATE_DATABASE_URL": migrate_url,
        "KAOHE_JOBS_MODE": "sync",
        "KAOHE_LOGIN_MAX_FAILURES": 5,
        # Tests log in many times from one address; the per-IP limit has its own test.
        "KAOHE_LOGIN_IP_LIMIT": "100000 per minute",
        "SERVER_NAME": None,
    }
    cfg.update(extra)
    return cfg


def _migrate(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(revision="heads")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sqlite-template")
    path = tmp / "template.db"
    app = create_app(_config(tmp, f"sqlite:///{path}", f"sqlite:///{path}"))
    _migrate(app)
    return path


@pytest.fixture(scope="session")
def pg_database(tmp_path_factory):
    if SKIP_PG:
        pytest.skip("KAOHE_TEST_SKIP_PG=1")
    name = f"kaohe_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    if CITUS:  # --- Citus (issue 15): the same tests on a distributed database ---
        from kaohe.testing import citus_cluster
        try:
            owner_url, app_url = citus_cluster.create_citus_database(name)
        except citus_cluster.CitusUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
    else:
        try:
            owner_url, app_url = databases.create_pg_database(name)
        except databases.PgUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
    tmp = tmp_path_factory.mktemp("pg")
    app = create_app(_config(tmp, app_url, owner_url))
    _migrate(app)
    if CITUS:
        # 4 shards per table keep distributing quick; the placement rules are the same as with 32.
        result = app.test_cli_runner().invoke(args=["db", "distribute", "--shard-count", "4"])
        assert result.exit_code == 0, result.output
    yield {"owner_url": owner_url, "app_url": app_url, "name": name}
    with app.app_context():
        db.engine.dispose()
    if CITUS:
        citus_cluster.drop_citus_database(name)
    else:
        databases.drop_pg_database(name)


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        marks = {m.name for m in metafunc.definition.iter_markers()}
        params = ["pg"] if "pg" in marks else BACKENDS
        if "pg" in marks and SKIP_PG:
            params = ["pg"]  # the fixture itself skips (only with the explicit opt-out)
        metafunc.parametrize("backend", params, scope="function")


@pytest.fixture
def db_urls(request, backend, tmp_path):
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = databases.sqlite_copy(template)
        yield {"backend": "sqlite", "app_url": f"sqlite:///{path}", "owner_url": f"sqlite:///{path}"}
        os.unlink(path)
    else:
        pg = request.getfixturevalue("pg_database")
        databases.truncate_pg(pg["owner_url"])
        yield {"backend": "pg", **pg}


@pytest.fixture
def app(db_urls, tmp_path):
    app = create_app(_config(tmp_path, db_urls["app_url"], db_urls["owner_url"]))
    app.config["KAOHE_BACKEND"] = db_urls["backend"]
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def world(app):
    from kaohe.testing.world import build_world

    with app.app_context():
        w = build_world()
        db.session.remove()
    return w


CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF token in page"
    return m.group(1) or m.group(2)


class Browser:
    """A logged-in test client that fills CSRF tokens like a browser would."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, url, **kw):
        resp = self.client.get(url, **kw)
        if resp.mimetype == "text/html":
            try:
                self.token = csrf_from(resp.get_data(as_text=True))
            except AssertionError:
                pass
        return resp

    def post(self, url, data=None, **kw):
        if self.token is None:
            self.get("/login")
        data = dict(data or {})
        data.setdefault("csrf_token", self.token)
        return self.client.post(url, data=data, **kw)


@pytest.fixture
def login(client):
    def _login(username, password=None):
        from kaohe.testing.world import PASSWORD

        b = Browser(client)
        b.get("/login")
        resp = b.post("/login", {"username": username, "password": password or PASSWORD})
        assert resp.status_code in (302, 303), f"login failed for {username}: {resp.status_code}"
        b.get("/")
        return b
    return _login


@pytest.fixture
def api_token(client):
    def _token(username, password=None):
        from kaohe.testing.world import PASSWORD

        resp = client.post("/api/v1/auth/token", json={"username": username, "password": password or PASSWORD})
        assert resp.status_code == 201, resp.get_json()
        return {"Authorization": f"Bearer {resp.get_json()['token']}"}
    return _token


# -- the screenshots of the browser tests, listed at the end of the run ----------
# Here rather than in tests/e2e/conftest.py: with pytest-xdist the browser
# tests run in worker processes, and only this conftest is loaded by the
# controller that writes the summary.  Every screenshot written during this
# run is listed, so the CI log keeps their names.

_RUN_STARTED = None


def pytest_sessionstart(session):
    global _RUN_STARTED
    import time

    _RUN_STARTED = time.time() - 1


def pytest_terminal_summary(terminalreporter, config):
    if hasattr(config, "workerinput"):
        return
    shots = Path(os.environ.get("KAOHE_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"))
    shots = shots / "screenshots"
    if not shots.is_dir() or _RUN_STARTED is None:
        return
    taken = sorted(p for p in shots.glob("*.png") if p.stat().st_mtime >= _RUN_STARTED)
    if taken:
        terminalreporter.section(f"browser screenshots ({len(taken)})")
        for path in taken:
            terminalreporter.write_line(str(path))


def pytest_collection_modifyitems(config, items):
    """Tests marked `citus` run only with KAOHE_TEST_CITUS=1 (then they fail, never skip,
    when the cluster is not there); otherwise they are deselected, not skipped."""
    if CITUS:
        return
    dropped = [i for i in items if i.get_closest_marker("citus")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if not i.get_closest_marker("citus")]
