"""Refuse to serve as a database role that Row-Level Security does not bind.

A superuser, a role with BYPASSRLS, or the owner of a table (who may switch
RLS off) silently turns the last wall between tenants into nothing.  The
check runs once per process, on the first connection of the app's engine, so
every entry point (web, worker, CLI) is covered without the app factory
touching the database.  With KAOHE_REFUSE_PRIVILEGED_DB_ROLE (the default in
production) the connection is refused; in development it is logged as a
warning."""
from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import event

from ..config import ConfigError

log = logging.getLogger("kaohe.dbrole")

PROBLEMS_SQL = """
SELECT r.rolname, r.rolsuper, r.rolbypassrls,
       coalesce((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
                   AND pg_has_role(r.oid, c.relowner, 'USAGE')), '{}')
FROM pg_roles r WHERE r.rolname = current_user
"""


class PrivilegedDatabaseRole(ConfigError):
    """The app connects as a role that bypasses Row-Level Security."""


def role_problems_dbapi(dbapi_connection) -> list[str]:
    """What is wrong with the connecting role (empty when it is fine)."""
    cur = dbapi_connection.cursor()
    try:
        cur.execute(PROBLEMS_SQL)
        row = cur.fetchone()
    finally:
        cur.close()
        dbapi_connection.rollback()
    if row is None:
        return []
    name, is_super, bypass, owned = row
    problems = []
    if is_super:
        problems.append(f"role {name} is a superuser")
    if bypass:
        problems.append(f"role {name} has BYPASSRLS")
    owned = list(owned or [])
    if owned and not is_super:
        shown = ", ".join(owned[:5]) + (f" and {len(owned) - 5} more" if len(owned) > 5 else "")
        problems.append(f"role {name} owns tables ({shown})")
    return problems


def _refuse(app: Flask) -> bool:
    return bool(app.config.get("KAOHE_REFUSE_PRIVILEGED_DB_ROLE") or app.config.get("KAOHE_PRODUCTION"))


def _message(problems: list[str]) -> str:
    return ("the database connection would bypass Row-Level Security (" + "; ".join(problems) +
            "); connect as the non-owner app role (see deploy/) and run migrations with "
            "KAOHE_MIGRATE_DATABASE_URL")


def _judge(app: Flask, problems: list[str]) -> list[str]:
    if problems:
        if _refuse(app):
            raise PrivilegedDatabaseRole(_message(problems))
        log.warning("development only: %s", _message(problems).replace("Row-Level Security", "RLS"))
    return problems


def install(app: Flask) -> None:
    """Check the role on the first connection of the app's engine."""
    from ..extensions import db

    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "first_connect")
    def _check(dbapi_connection, _record):
        _judge(app, role_problems_dbapi(dbapi_connection))

    @app.errorhandler(PrivilegedDatabaseRole)
    def _refused(exc):
        from .errors import _api_error, is_api_request

        log.error("%s", exc)
        msg = "The service is misconfigured (privileged database role) and refuses to serve."
        if is_api_request():
            return _api_error(503, msg)
        from flask import render_template

        return render_template("error.html", status=503, message=msg, errors={}), 503


def check_database_role(app: Flask) -> list[str]:
    """Explicit check (serve/worker start, tests): returns the problems in
    development, raises PrivilegedDatabaseRole where refusal is on."""
    from ..extensions import db

    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            return []
        with engine.connect() as conn:
            problems = role_problems_dbapi(conn.connection.dbapi_connection)
    return _judge(app, problems)
