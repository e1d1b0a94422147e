"""Test databases: a SQLite template file copied per test, and a PostgreSQL
database per test run (migrated as the superuser/owner; the app connects as
the non-owner app role so RLS is in force)."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("KAOHE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
APP_ROLE = os.environ.get("KAOHE_APP_ROLE", "kaohe_app")


class PgUnavailable(RuntimeError):
    pass


def pg_admin_engine(dbname: str | None = None):
    url = make_url(PG_ADMIN_URL)
    if dbname:
        url = url.set(database=dbname)
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def create_pg_database(name: str) -> tuple[str, str]:
    """Create database ``name`` and make sure the app role can log in.
    Returns (owner_url, app_url)."""
    try:
        eng = pg_admin_engine()
        with eng.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
            exists = c.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}).first()
            if not exists:
                try:
                    c.execute(text(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"))
                except Exception:  # another test run created it meanwhile
                    pass
            c.execute(text(f"ALTER ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS"))
        eng.dispose()
    except Exception as exc:  # noqa: BLE001
        raise PgUnavailable(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}") from exc
    owner = make_url(PG_ADMIN_URL).set(database=name)
    app = owner.set(username=APP_ROLE, password=None)
    return owner.render_as_string(hide_password=False), app.render_as_string(hide_password=False)


def drop_pg_database(name: str) -> None:
    eng = pg_admin_engine()
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


def truncate_pg(owner_url: str) -> None:
    eng = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        tables = [r[0] for r in c.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
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
