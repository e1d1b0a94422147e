"""Who is calling: the account and its grants, read in ONE statement.

Every authenticated request needs the account, its role grants and the
materialized paths of the granted nodes before it can know its own scope.
Read with the ordinary scoped queries that took a scope switch per step
(token → user → grants → nodes), eleven round trips on PostgreSQL before the
request did any work of its own.

Here it is one statement.  On PostgreSQL it calls a SQL function (created by
the migration ``g1_signed_scope``): SECURITY DEFINER, owned by the schema
owner, whom the RLS policies let through (see core.scopesig), so it needs no
widening setting the app could set itself; it returns rows only for the
holder of the credential: the token whose digest is given, or the user whose
id *and* current session token are given.  Knowing either is being that user, so the function reveals nothing
the caller does not already own.  On SQLite (no RLS) the same join runs as a
plain statement.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, select, text

from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import Scope, primed_value
from .models import ApiToken, RoleGrant, User

# The account's own columns, returned with the credential so the request
# needs no second statement to load the account (everything but the password
# hash, which stays unloaded until a password check asks for it).
USER_FIELDS = ("org_id", "username", "display_name", "email", "session_token", "locale", "person_id",
               "created_at", "last_login_at")
_USER_SQL = ("u.org_id, u.username::text, u.display_name::text, u.email::text, u.session_token::text, "
             "u.locale::text, u.person_id, u.created_at, u.last_login_at")
_USER_TYPES = ("user_org_id bigint, username text, display_name text, email text, session_token text, "
               "locale text, person_id bigint, created_at timestamptz, last_login_at timestamptz")

# Columns of one row: the credential and account, then one grant (NULL when none).
_COLUMNS = ("user_id, user_root_id, active, token_id, expires_at, revoked_at, user_org_id, username, display_name,"
            " email, session_token, locale, person_id, created_at, last_login_at,"
            " role, grant_org_id, grant_root_id, path")

_RETURNS = ("TABLE (user_id bigint, user_root_id bigint, active boolean, token_id bigint, expires_at timestamptz,"
            f" revoked_at timestamptz, {_USER_TYPES}, role text, grant_org_id bigint, grant_root_id bigint,"
            " path text)")
_GRANTS = (_USER_SQL + ", g.role::text, g.org_id, g.root_id, o.path::text FROM {src}"
           " LEFT JOIN role_grant g ON g.user_id = u.id LEFT JOIN org_node o ON o.id = g.org_id")


def _function(signature: str, query: str, legacy: bool = False) -> str:
    """A principal lookup: SECURITY DEFINER as the schema owner (whom the
    policies let through), with a fixed search_path; plpgsql keeps its plan.
    ``legacy``: the form f9_principal_account created (kaohe.all_roots on in
    the body for its own duration), kept for that migration."""
    if legacy:
        return (f"CREATE OR REPLACE FUNCTION {signature} RETURNS {_RETURNS} LANGUAGE plpgsql STABLE AS $$ "
                "DECLARE prev text := current_setting('kaohe.all_roots', true); BEGIN "
                f"PERFORM set_config('kaohe.all_roots', 'on', true); RETURN QUERY {query}; "
                "PERFORM set_config('kaohe.all_roots', coalesce(prev, ''), true); END $$;\n")
    return (f"CREATE OR REPLACE FUNCTION {signature} RETURNS {_RETURNS} LANGUAGE plpgsql STABLE "
            "SECURITY DEFINER SET search_path = pg_catalog, public "
            f"AS $$ BEGIN RETURN QUERY {query}; END $$;\n")


def functions_sql(legacy: bool = False) -> str:
    return (
        _function("kaohe_token_principal(digest text)",
                  "SELECT u.id, u.root_id, u.active, t.id, t.expires_at, t.revoked_at, "
                  + _GRANTS.format(src="api_token t JOIN user_account u ON u.id = t.user_id")
                  + " WHERE t.token_hash = digest", legacy)
        + _function("kaohe_session_principal(uid bigint, session text)",
                    "SELECT u.id, u.root_id, u.active, NULL::bigint, NULL::timestamptz, NULL::timestamptz, "
                    + _GRANTS.format(src="user_account u")
                    + " WHERE u.id = uid AND u.session_token = session AND session <> ''", legacy)
    )


FUNCTIONS_SQL = functions_sql()

DROP_SQL = ("DROP FUNCTION IF EXISTS kaohe_token_principal(text);"
            "DROP FUNCTION IF EXISTS kaohe_session_principal(bigint, text);")


@dataclass
class PrincipalRow:
    role: str
    org_id: int | None
    root_id: int | None
    path: str | None


@dataclass
class Principal:
    user_id: int
    root_id: int | None
    active: bool
    token_id: int | None = None
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    grants: list[PrincipalRow] = field(default_factory=list)
    # The account's columns (USER_FIELDS), to build the User without a query.
    account: dict = field(default_factory=dict)


def _fold(rows) -> Principal | None:
    if not rows:
        return None
    first = rows[0]
    p = Principal(first.user_id, first.user_root_id, bool(first.active), getattr(first, "token_id", None),
                  getattr(first, "expires_at", None), getattr(first, "revoked_at", None))
    p.grants = [PrincipalRow(r.role, r.grant_org_id, r.grant_root_id, r.path) for r in rows if r.role]
    p.account = {"org_id": first.user_org_id, **{f: getattr(first, f) for f in USER_FIELDS[1:]}}
    return p


def _plain_select(where):
    """The same join as the SQL functions, for SQLite (no RLS to lift)."""
    return (select(User.id.label("user_id"), User.root_id.label("user_root_id"), User.active.label("active"),
                   User.org_id.label("user_org_id"), *[getattr(User, f) for f in USER_FIELDS[1:]],
                   RoleGrant.role.label("role"), RoleGrant.org_id.label("grant_org_id"),
                   RoleGrant.root_id.label("grant_root_id"), OrgNode.path.label("path"))
            .select_from(User)
            .outerjoin(RoleGrant, RoleGrant.user_id == User.id)
            .outerjoin(OrgNode, OrgNode.id == RoleGrant.org_id)
            .where(where))


def _run(stmt, params=None):
    return db.session.execute(stmt, params or {}, execution_options={"kaohe_unscoped": True}).all()


def _primed(call: str, params: dict, guess: Scope | None) -> tuple[list, bool]:
    """Run a principal function; with a ``guess`` of the caller's scope (the
    scope this credential had last time), the same statement also sets that
    scope for the transaction -- only on rows, i.e. when the credential
    exists.  Returns (rows, primed)."""
    value = primed_value(guess) if guess is not None else None
    if value is None:
        return _run(text(f"SELECT {_COLUMNS} FROM {call}"), params), False
    rows = _run(text(f"SELECT set_config('kaohe.scope', :scope_value, true) AS primed, {_COLUMNS} FROM {call}"),
                {**params, "scope_value": value})
    return rows, bool(rows)


def by_token_digest(digest: str) -> Principal | None:
    return token_principal(digest)[0]


def by_session(user_id: int, session_token: str) -> Principal | None:
    return session_principal(user_id, session_token)[0]


def token_principal(digest: str, guess: Scope | None = None) -> tuple[Principal | None, bool]:
    """The principal of a token digest, and whether ``guess`` was set as the
    transaction's scope on the way (PostgreSQL)."""
    if db.session.get_bind().dialect.name == "postgresql":
        rows, primed = _primed("kaohe_token_principal(:d)", {"d": digest}, guess)
        return _fold(rows), primed
    stmt = _plain_select(ApiToken.token_hash == digest).join(ApiToken, ApiToken.user_id == User.id).add_columns(
        ApiToken.id.label("token_id"), ApiToken.expires_at.label("expires_at"),
        ApiToken.revoked_at.label("revoked_at"))
    return _fold(_run(stmt)), False


def session_principal(user_id: int, session_token: str,
                      guess: Scope | None = None) -> tuple[Principal | None, bool]:
    if not session_token:
        return None, False
    if db.session.get_bind().dialect.name == "postgresql":
        rows, primed = _primed("kaohe_session_principal(:u, :s)", {"u": user_id, "s": session_token}, guess)
        return _fold(rows), primed
    return _fold(_run(_plain_select(and_(User.id == user_id, User.session_token == session_token)))), False
