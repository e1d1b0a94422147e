"""PostgreSQL Row-Level Security: the last wall between tenants.

The scope arrives per transaction as ONE signed setting, ``kaohe.scope``
(see core.scopesig and tenancy.scope); the policies read its verified fields
through kaohe_root(), kaohe_patterns(), kaohe_ancestors(), kaohe_whole_root(),
kaohe_all_roots(), kaohe_user_id(), kaohe_login_name(), kaohe_token_hash(),
each wrapped as ``(SELECT kaohe_x())`` so PostgreSQL evaluates it once per
query (an InitPlan), not per row.  Unset means empty, and empty sees nothing:
a job or query run without a scope fails closed.  Migrations call these
helpers for every table that carries root_id, and a test checks none is
missed."""
from __future__ import annotations

import re

# The helpers as the foundation migration created them (plain settings the
# app role could set itself); g1_signed_scope replaces their bodies with
# core.scopesig.accessors_sql (same names and types, the verified scope).
FUNCTIONS_SQL = r"""
CREATE OR REPLACE FUNCTION kaohe_root() RETURNS bigint LANGUAGE sql STABLE AS
  $$ SELECT NULLIF(current_setting('kaohe.root_id', true), '')::bigint $$;
CREATE OR REPLACE FUNCTION kaohe_all_roots() RETURNS boolean LANGUAGE sql STABLE AS
  $$ SELECT coalesce(current_setting('kaohe.all_roots', true), '') = 'on' $$;
CREATE OR REPLACE FUNCTION kaohe_whole_root() RETURNS boolean LANGUAGE sql STABLE AS
  $$ SELECT coalesce(current_setting('kaohe.whole_root', true), '') = 'on' $$;
CREATE OR REPLACE FUNCTION kaohe_patterns() RETURNS text[] LANGUAGE sql STABLE AS
  $$ SELECT coalesce(NULLIF(current_setting('kaohe.patterns', true), ''), '{}')::text[] $$;
CREATE OR REPLACE FUNCTION kaohe_ancestors() RETURNS bigint[] LANGUAGE sql STABLE AS
  $$ SELECT coalesce(NULLIF(current_setting('kaohe.ancestors', true), ''), '{}')::bigint[] $$;
CREATE OR REPLACE FUNCTION kaohe_user_id() RETURNS bigint LANGUAGE sql STABLE AS
  $$ SELECT NULLIF(current_setting('kaohe.user_id', true), '')::bigint $$;
CREATE OR REPLACE FUNCTION kaohe_login_name() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT NULLIF(current_setting('kaohe.login_name', true), '') $$;
CREATE OR REPLACE FUNCTION kaohe_token_hash() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT NULLIF(current_setting('kaohe.token_hash', true), '') $$;
CREATE OR REPLACE FUNCTION kaohe_forbid_change() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
"""

_HELPER = re.compile(r"(?<!SELECT )\bkaohe_(all_roots|root|whole_root|patterns|ancestors|user_id|login_name|token_hash)\(\)")


def once_per_query(expr: str) -> str:
    """Wrap every scope helper call as ``(SELECT kaohe_x())`` (an InitPlan:
    once per query instead of once per row); idempotent."""
    # The arrays get a cast: ``ANY ((SELECT ...))`` would parse as ANY (subquery).
    casts = {"patterns": "::text[]", "ancestors": "::bigint[]"}
    return _HELPER.sub(lambda m: f"(SELECT kaohe_{m.group(1)}()){casts.get(m.group(1), '')}", expr)


# The subtree test: the row's owning org is inside one of the granted paths.
ORG_IN_SCOPE = ("(kaohe_whole_root() OR {col} IN (SELECT o.id FROM org_node o "
                "WHERE o.root_id = kaohe_root() AND o.path LIKE ANY (kaohe_patterns())))")


def policy_expr(kind: str, org_col: str = "org_id") -> str:
    org = ORG_IN_SCOPE.format(col=org_col)
    if kind == "org":
        return f"kaohe_all_roots() OR (root_id = kaohe_root() AND {org})"
    if kind == "org_node":
        return ("kaohe_all_roots() OR (root_id = kaohe_root() AND (kaohe_whole_root() "
                "OR path LIKE ANY (kaohe_patterns()) OR id = ANY (kaohe_ancestors())))")
    if kind == "root":
        return "kaohe_all_roots() OR root_id = kaohe_root()"
    if kind == "user":
        return ("kaohe_all_roots() OR id = kaohe_user_id() OR lower(username) = kaohe_login_name() "
                f"OR (root_id = kaohe_root() AND {org})")
    if kind == "grant":
        return f"kaohe_all_roots() OR user_id = kaohe_user_id() OR (root_id = kaohe_root() AND {org})"
    if kind == "token":
        return "kaohe_all_roots() OR user_id = kaohe_user_id() OR token_hash = kaohe_token_hash()"
    raise ValueError(kind)


def enable_rls_sql(table: str, kind: str = "org") -> list[str]:
    expr = once_per_query(policy_expr(kind))
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS kaohe_scope ON {table}",
        f"CREATE POLICY kaohe_scope ON {table} USING ({expr}) WITH CHECK ({expr})",
    ]


def ensure_app_role_sql(role: str) -> list[str]:
    return [
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s') THEN "
        "CREATE ROLE %s NOLOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$" % (role, role),
    ]


def grant_sql(role: str, table: str, append_only: bool = False) -> list[str]:
    privs = "SELECT, INSERT" if append_only else "SELECT, INSERT, UPDATE, DELETE"
    return [f"GRANT {privs} ON {table} TO {role}"]


def app_role_name() -> str:
    import os

    return os.environ.get("KAOHE_APP_ROLE", "kaohe_app")


def apply_table(op, table: str, kind: str = "org", append_only: bool = False) -> None:
    """For migrations: RLS + grants for one new tenant table (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    role = app_role_name()
    for stmt in enable_rls_sql(table, kind) + grant_sql(role, table, append_only):
        op.execute(stmt)
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")


def grant_plain_table(op, table: str) -> None:
    """For migrations: a table with no tenant data (no RLS), app may use it."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for stmt in grant_sql(app_role_name(), table):
        op.execute(stmt)
