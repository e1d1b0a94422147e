"""Test databases: a SQLite template file copied per test, and a PostgreSQL
database per test run, set up the way ``deploy/postgres-init/01-roles.sh``
sets up production: migrated as a non-superuser owner role (no CREATEROLE, no
CREATEDB) that owns the database and its public schema; the app connects as
the non-owner app role so RLS is in force."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("KAOHE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
APP_ROLE = os.environ.get("KAOHE_APP_ROLE", "kaohe_app")
OWNER_ROLE = os.environ.get("KAOHE_TEST_OWNER_ROLE", "kaohe_owner")
# Exactly the attributes deploy/postgres-init/01-roles.sh gives the roles
# (tests/test_deploy.py checks they agree).
OWNER_ATTRS = "LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB"
APP_ATTRS = "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB"


class PgUnavailable(RuntimeError):
    pass


def pg_admin_engine(dbname: str | None = None):
    url = make_url(PG_ADMIN_URL)
    if dbname:
        url = url.set(database=dbname)
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def _ensure_role(c, role: str, attrs: str) -> None:
    if not c.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
        try:
            c.execute(text(f"CREATE ROLE {role} {attrs}"))
        except Exception:  # another test run created it meanwhile
            pass
    c.execute(text(f"ALTER ROLE {role} {attrs}"))


def create_pg_database(name: str) -> tuple[str, str]:
    """Create database ``name`` owned by the (non-superuser) owner role, as
    deploy/ does, and make sure both roles can log in.
    Returns (owner_url, app_url)."""
    try:
        eng = pg_admin_engine()
        with eng.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            _ensure_role(c, OWNER_ROLE, OWNER_ATTRS)
            _ensure_role(c, APP_ROLE, APP_ATTRS)
            c.execute(text(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}'))
        eng.dispose()
        eng = pg_admin_engine(name)
        with eng.connect() as c:
            c.execute(text(f"ALTER SCHEMA public OWNER TO {OWNER_ROLE}"))
            c.execute(text("REVOKE ALL ON SCHEMA public FROM PUBLIC"))
            c.execute(text(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}"))
        eng.dispose()
    except Exception as exc:  # noqa: BLE001
        raise PgUnavailable(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}") from exc
    admin = make_url(PG_ADMIN_URL).set(database=name)
    owner = admin.set(username=OWNER_ROLE, password=None)
    app = admin.set(username=APP_ROLE, password=None)
    return owner.render_as_string(hide_password=False), app.render_as_string(hide_password=False)


def admin_url_for(url: str) -> str:
    """The superuser URL of the same database, for test and benchmark loaders
    that switch foreign-key triggers off (session_replication_role needs a
    superuser; the deploy owner is not one)."""
    name = make_url(url).database
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(name: str) -> None:
    eng = pg_admin_engine()
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


def truncate_pg(owner_url: str) -> None:
    eng = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        tables = [r[0] for r in c.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('alembic_version', 'kaohe_scope_key')"))]
        if tables:
            if c.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")).first():
                c.execute(text("SET citus.enable_unsafe_triggers = on"))   # Citus: the trigger is on every shard
            c.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            c.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            c.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
    eng.dispose()


def sqlite_copy(template: Path) -> str:
    fd, path = tempfile.mkstemp(prefix="kaohe-test-", suffix=".db")
    os.close(fd)
    shutil.copyfile(template, path)
    return path


def existing_or_new(database_url: str | None, name: str) -> tuple[str, str]:
    """(owner_url, app_url): of ``database_url`` (an existing database, e.g. on a
    Citus coordinator; the app role connects to it likewise) or of a new ``name``."""
    if not database_url:
        return create_pg_database(name)
    app = make_url(database_url).set(username=APP_ROLE, password=None)
    return database_url, app.render_as_string(hide_password=False)
