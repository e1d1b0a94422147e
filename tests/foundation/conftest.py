"""Helpers for the foundation's security tests: clients per actor, extra
objects at every node of the world (so each route has something to point at
in the own subtree, a sibling, a cousin and the other province), and direct
connections as the owner (superuser) and as the app role."""
from __future__ import annotations

import re
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, func, select, text

from kaohe.audit.service import Actor, reset_actor, set_actor
from kaohe.auth import service as auth_service
from kaohe.auth.passwords import hash_password
from kaohe.auth.roles import Role
from kaohe.extensions import db
from kaohe.jobs.models import Job
from kaohe.people.models import Person
from kaohe.tenancy.models import OrgNode
from kaohe.tenancy.scope import Scope, apply_scope
from kaohe.testing import databases
from kaohe.testing.world import PASSWORD

CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"')

# Nodes that get an extra account (+ staff grant), a person and a job.
ISO_NODES = ("T1", "T2", "T3", "T4", "K1", "K2", "K3", "T1-D1",
             "P2-T1", "P2-T2", "P2-K1")

# Extra accounts: username -> (role, node key)
EXTRA_ACCOUNTS = {
    "k1policy": (Role.policy_admin, "K1"),
}


def node_id(world, key: str) -> int:
    return world.ids[key if key.startswith("P2-") else f"P1-{key}"]


class PageClient:
    """A browser-like test client: keeps cookies, fills the CSRF token."""

    def __init__(self, app):
        self.client = app.test_client()
        self.token: str | None = None

    def _remember(self, resp):
        if resp.mimetype == "text/html":
            m = CSRF_RE.search(resp.get_data(as_text=True))
            if m:
                self.token = m.group(1) or m.group(2)
        return resp

    def get(self, url, **kw):
        return self._remember(self.client.get(url, **kw))

    def post(self, url, data=None, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.get("/login")
            data.setdefault("csrf_token", self.token)
        return self._remember(self.client.post(url, data=data, **kw))

    def login(self, username, password=PASSWORD):
        self.get("/login")
        resp = self.post("/login", {"username": username, "password": password})
        assert resp.status_code in (302, 303), f"login failed for {username}: {resp.status_code}"
        self.get("/")
        return self


@pytest.fixture
def page_client(app):
    """page_client(username or None) -> a PageClient (logged in when a name is given)."""
    def make(username=None, password=PASSWORD):
        pc = PageClient(app)
        if username:
            pc.login(username, password)
        else:
            pc.get("/login")
        return pc
    return make


@pytest.fixture
def bearer(app):
    """bearer(username) -> Authorization headers for a fresh API token."""
    cache: dict[str, dict] = {}

    def make(username, password=PASSWORD):
        if username not in cache:
            resp = app.test_client().post("/api/v1/auth/token", json={"username": username, "password": password})
            assert resp.status_code == 201, (username, resp.get_json())
            cache[username] = {"Authorization": f"Bearer {resp.get_json()['token']}"}
        return cache[username]
    return make


def build_iso(world) -> SimpleNamespace:
    """Inside an app context: the extra objects (see ``iso``); commits."""
    out = SimpleNamespace(node={}, parent={}, user={}, grant={}, person={}, job={}, code={})
    apply_scope(Scope.system("iso"))
    token = set_actor(Actor(None, "test"))
    try:
        pw_hash = hash_password(PASSWORD)
        for key in ISO_NODES:
            node = db.session.get(OrgNode, node_id(world, key))
            user = auth_service.create_user(username=f"iso-{key.lower()}", display_name=f"isomark-{key}-user",
                                            password="", org=node, password_hash=pw_hash)
            grant = auth_service.grant_role(user, Role.staff, node, check=False)
            person = Person(root_id=node.root_id, org_id=node.id, unit_id=node.id, staff_no=f"iso-{key}",
                            name=f"isomark-{key}-person")
            db.session.add(person)
            job = Job(id=str(uuid.uuid4()), root_id=node.root_id, org_id=node.id, kind="demo.sleep",
                      status="done", progress=1, total=1, params={}, result={"steps": 1},
                      scope_paths=[node.path], message=f"isomark-{key}-job")
            db.session.add(job)
            db.session.flush()
            out.node[key], out.parent[key], out.code[key] = node.id, node.parent_id, node.code
            out.user[key], out.grant[key], out.person[key], out.job[key] = (
                user.id, grant.id, person.id, job.id)
        for username, (role, key) in EXTRA_ACCOUNTS.items():
            node = db.session.get(OrgNode, node_id(world, key))
            user = auth_service.create_user(username=username, display_name=username, password="",
                                            org=node, password_hash=pw_hash)
            auth_service.grant_role(user, role, node, check=False)
        db.session.commit()
    finally:
        reset_actor(token)
        db.session.remove()
    return out


@pytest.fixture
def iso(app, world):
    """An account (with a staff grant), a person and a finished job at each
    node of ISO_NODES, plus EXTRA_ACCOUNTS.  Returns ids by node key."""
    with app.app_context():
        return build_iso(world)


# -- a restorable world, for the route matrix ------------------------------------------
# Building the world costs ~1 s per test; the route matrix has a case per
# route, so it restores a snapshot taken once per backend instead (SQLite:
# a file copy; PostgreSQL: the rows, re-inserted as the owner).

_SNAPSHOTS: dict[str, dict] = {}


def _pg_dump_rows(owner_url: str) -> dict:
    eng = create_engine(owner_url)
    try:
        with eng.connect() as c:
            return {t.name: [dict(r) for r in c.execute(t.select()).mappings()] for t in db.metadata.sorted_tables}
    finally:
        eng.dispose()


def _pg_restore_rows(owner_url: str, rows: dict) -> None:
    eng = create_engine(owner_url)
    try:
        with eng.begin() as c:
            c.execute(text("SET LOCAL session_replication_role = replica"))  # FK triggers off while loading
            for t in db.metadata.sorted_tables:
                if rows.get(t.name):
                    c.execute(t.insert(), rows[t.name])
            for t in db.metadata.sorted_tables:
                if "id" in t.c and rows.get(t.name):
                    seq = c.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": t.name}).scalar()
                    if seq:
                        c.execute(text(f"SELECT setval('{seq}', (SELECT max(id) FROM {t.name}))"))
    finally:
        eng.dispose()


def make_app(db_urls, tmp_path, **extra):
    from kaohe import create_app

    cfg = {"TESTING": True, "SECRET_KEY": "test-secret", "INSTANCE_PATH": str(tmp_path),
           "SQLALCHEMY_DATABASE_URI": db_urls["app_url"], "KAOHE_MIGRATE_DATABASE_URL": db_urls["owner_url"],
           "KAOHE_JOBS_MODE": "sync", "KAOHE_LOGIN_MAX_FAILURES": 5, "SERVER_NAME": None}
    cfg.update(extra)
    app = create_app(cfg)
    app.config["KAOHE_BACKEND"] = db_urls["backend"]
    return app


@pytest.fixture
def matrix(db_urls, tmp_path, tmp_path_factory):
    """(app, world, iso) on a database restored from a per-backend snapshot."""
    import shutil

    from kaohe.testing.world import build_world

    backend = db_urls["backend"]
    snap = _SNAPSHOTS.get(backend)
    sqlite_path = db_urls["app_url"][len("sqlite:///"):] if backend == "sqlite" else None
    if snap is not None:
        if backend == "sqlite":
            shutil.copyfile(snap["file"], sqlite_path)
        else:
            _pg_restore_rows(databases.admin_url_for(db_urls["owner_url"]), snap["rows"])
        app = make_app(db_urls, tmp_path)
    else:
        app = make_app(db_urls, tmp_path)
        with app.app_context():
            world = build_world()
            db.session.remove()
        with app.app_context():
            iso_ns = build_iso(world)
            db.engine.dispose()
        snap = {"world": world, "iso": iso_ns}
        if backend == "sqlite":
            snap["file"] = str(tmp_path_factory.mktemp("matrix") / "snapshot.db")
            shutil.copyfile(sqlite_path, snap["file"])
        else:
            snap["rows"] = _pg_dump_rows(db_urls["owner_url"])
        _SNAPSHOTS[backend] = snap
    yield SimpleNamespace(app=app, world=snap["world"], iso=snap["iso"])
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def fingerprint(app) -> dict:
    """Row counts of every table plus the org tree's versions and paths, read
    in one statement under a system scope: equal before/after means nothing
    was written."""
    tables = [t.name for t in db.metadata.sorted_tables]
    sql = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{t}")' for t in tables)
    sql += ", (SELECT sum(version) FROM org_node), (SELECT max(id) FROM audit_log)"
    with app.app_context():
        apply_scope(Scope.system("fingerprint"))
        row = db.session.execute(text(sql)).one()
        paths = tuple(db.session.execute(text("SELECT path FROM org_node ORDER BY id")).scalars())
        db.session.remove()
    out = dict(zip(tables + ["org_versions", "audit_max_id"], row))
    out["org_paths"] = paths
    return out


@pytest.fixture
def owner_engine(db_urls):
    """An engine as the table owner (the non-superuser owner on PostgreSQL, as deploy/ creates it): for tampering."""
    eng = create_engine(db_urls["owner_url"])
    yield eng
    eng.dispose()


@pytest.fixture
def app_engine(db_urls):
    """An engine as the app role (non-owner, RLS in force on PostgreSQL)."""
    eng = create_engine(db_urls["app_url"])
    yield eng
    eng.dispose()

