"""One SQL injection cannot lower the database wall (security finding 3).

A connection of the web app's role, scoped to province A exactly as the app
scopes it, runs a list of hostile statements: every ``kaohe.*`` setting set
to other values (the old plain settings, an unsigned scope of province B, a
scope of B signed with a made-up key, a correctly signed scope of B copied
from another connection or an earlier moment), SET ROLE, SET SESSION
AUTHORIZATION, RESET ALL, DDL against the policies and functions, reading the
key table, a temporary look-alike key table, and a call of every function the
role may EXECUTE.  After each statement the connection can neither read nor
change province B's rows; the owner's count and checksum of B's rows are the
same before and after."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from kaohe.core import scopesig
from kaohe.tenancy.scope import Scope, _set_db_scope

pytestmark = pytest.mark.pg

B_STATE = ("SELECT count(*), md5(coalesce(string_agg(id || ':' || name, ',' ORDER BY id), '')) "
           "FROM person WHERE root_id = :b")


def _roots(owner_engine):
    with owner_engine.connect() as c:
        return [r[0] for r in c.execute(text("SELECT id FROM org_node WHERE parent_id IS NULL ORDER BY id"))]


def _hostile(app, a: int, b: int, pid: int) -> list[str]:
    key = scopesig.derive_key(app.config)
    whole_b = Scope.province(b)
    forged_key = b"\x01" * 32
    ipad, _opad = scopesig.pads(forged_key)
    sign = scopesig.sign
    pay = scopesig.payload
    return [
        # the old plain settings, and any other kaohe.* name
        "SELECT set_config('kaohe.all_roots', 'on', false)",
        "SET kaohe.all_roots = 'on'",
        f"SET LOCAL kaohe.root_id = '{b}'",
        "SET LOCAL kaohe.whole_root = 'on'",
        f"SELECT set_config('kaohe.patterns', '{{/{b}/%}}', true)",
        "SET kaohe.user_id = '1'",
        # scopes of B: unsigned, signed with another key, A's mac on B's payload
        f"SET LOCAL kaohe.scope = '{pay(whole_b, pid=pid)}'",
        f"SET LOCAL kaohe.scope = '{sign(forged_key, pay(whole_b, pid=pid))}'",
        f"SET LOCAL kaohe.scope = '{pay(whole_b, pid=pid)}.{sign(key, pay(Scope.province(a), pid=pid))[-64:]}'",
        f"SET LOCAL kaohe.scope = '{sign(forged_key, pay(Scope.system(), pid=pid))}'",
        # correctly signed, but copied: minted for another backend, or long ago
        f"SET LOCAL kaohe.scope = '{sign(key, pay(whole_b, pid=pid + 1))}'",
        f"SET kaohe.scope = '{sign(key, pay(whole_b, pid=None, now=1_700_000_000))}'",
        f"SET LOCAL kaohe.scope = '{sign(key, pay(Scope.system(), pid=pid, now=1_700_000_000, ttl=10**9))}'",
        # a look-alike key table in pg_temp (first on the default search_path), with the attacker's key
        "CREATE TEMP TABLE kaohe_scope_key (id integer, ipad bytea, opad bytea)",
        f"INSERT INTO pg_temp.kaohe_scope_key VALUES (1, '\\x{ipad.hex()}', '\\x{scopesig.pads(forged_key)[1].hex()}')",
        "SET LOCAL search_path = pg_temp, public",
        f"SET LOCAL kaohe.scope = '{sign(forged_key, pay(whole_b, pid=pid))}'",
        # roles and resets
        "SET ROLE kaohe_owner", "SET ROLE postgres", "SET SESSION AUTHORIZATION kaohe_owner",
        "SET SESSION AUTHORIZATION postgres", "RESET ALL", "RESET ROLE", "RESET kaohe.scope",
        "ALTER ROLE CURRENT_USER BYPASSRLS", "ALTER ROLE CURRENT_USER SET kaohe.all_roots = 'on'",
        # the key
        "SELECT * FROM kaohe_scope_key", "SELECT * FROM public.kaohe_scope_key",
        "UPDATE public.kaohe_scope_key SET ipad = ipad",
        f"INSERT INTO public.kaohe_scope_key VALUES (1, '\\x{ipad.hex()}', '\\x{ipad.hex()}')",
        # DDL against the wall
        "ALTER TABLE person DISABLE ROW LEVEL SECURITY", "ALTER TABLE person NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY kaohe_scope ON person", "CREATE POLICY open ON person USING (true) WITH CHECK (true)",
        "ALTER POLICY kaohe_scope ON person USING (true)",
        "CREATE OR REPLACE FUNCTION kaohe_root() RETURNS bigint LANGUAGE sql AS $$ SELECT NULL::bigint $$",
        "CREATE OR REPLACE FUNCTION public.kaohe_all_roots() RETURNS boolean LANGUAGE sql AS $$ SELECT true $$",
        "CREATE FUNCTION pg_temp.kaohe_all_roots() RETURNS boolean LANGUAGE sql AS $$ SELECT true $$",
        "ALTER FUNCTION kaohe_scope() SECURITY INVOKER", "ALTER TABLE person OWNER TO kaohe_app",
        "CREATE SCHEMA evil", "GRANT kaohe_owner TO kaohe_app", "TRUNCATE person",
        f"DELETE FROM person WHERE root_id = {b}",
        f"UPDATE person SET name = name || 'x' WHERE root_id = {b}",
    ]


def _callable_functions(conn) -> list[str]:
    rows = conn.execute(text(
        "SELECT p.oid::regprocedure::text, p.proargtypes::regtype[]::text[], p.prorettype = 'trigger'::regtype "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND has_function_privilege(p.oid, 'EXECUTE')")).all()
    calls = []
    for sig, argtypes, is_trigger in rows:
        if is_trigger:
            continue
        name = sig.split("(")[0]
        args = ", ".join(f"NULL::{t}" for t in (argtypes or []))
        calls.append(f"SELECT * FROM {name}({args})")
    return calls


def test_app_role_cannot_lower_the_wall(app, world, iso, app_engine, owner_engine, backend):
    roots = _roots(owner_engine)
    assert len(roots) >= 2
    a, b = roots[0], roots[1]
    with owner_engine.connect() as c:
        before = tuple(c.execute(text(B_STATE), {"b": b}).one())
    assert before[0] > 0
    with app.app_context(), app_engine.connect() as conn:
        with conn.begin():
            _set_db_scope(conn, Scope.province(a))
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            assert conn.execute(text("SELECT count(*) FROM person WHERE root_id = :a"), {"a": a}).scalar_one() > 0
            statements = _hostile(app, a, b, pid) + _callable_functions(conn)
            assert any("kaohe_token_principal" in s for s in statements)
            outcomes = {}
            for stmt in statements:
                sp = conn.begin_nested()
                try:
                    conn.exec_driver_sql(stmt)
                    outcomes[stmt] = "ran"
                except Exception as exc:  # noqa: BLE001
                    outcomes[stmt] = type(getattr(exc, "orig", exc)).__name__
                    sp.rollback()
                    sp = conn.begin_nested()
                # Whatever it did: no row of B readable or changeable, in this statement's wake.
                for probe in (f"SELECT count(*) FROM person WHERE root_id = {b}",
                              f"SELECT count(*) FROM user_account WHERE root_id = {b}",
                              f"SELECT count(*) FROM org_node WHERE root_id = {b}",
                              f"SELECT count(*) FROM api_token t WHERE t.user_id IN "
                              f"(SELECT id FROM user_account WHERE root_id <> {a})"):
                    inner = conn.begin_nested()
                    try:
                        n = conn.exec_driver_sql(probe).scalar_one()
                    except Exception:  # noqa: BLE001  (refusing is fine too)
                        n = 0
                    inner.rollback()
                    assert n == 0, f"after {stmt!r} ({outcomes[stmt]}): {probe} = {n}"
                inner = conn.begin_nested()
                try:
                    changed = conn.exec_driver_sql(
                        f"UPDATE person SET name = name || '!' WHERE root_id = {b}").rowcount
                except Exception:  # noqa: BLE001
                    changed = 0
                inner.rollback()
                assert changed == 0, f"after {stmt!r}: UPDATE changed {changed} rows of province B"
                sp.commit()
        # Statements that would have been the way out were refused outright.
        for stmt in ("SET ROLE kaohe_owner", "SELECT * FROM public.kaohe_scope_key",
                     "ALTER TABLE person DISABLE ROW LEVEL SECURITY", "DROP POLICY kaohe_scope ON person"):
            assert outcomes[stmt] != "ran", stmt
    with owner_engine.connect() as c:
        after = tuple(c.execute(text(B_STATE), {"b": b}).one())
    assert after == before


def test_forged_scope_is_refused_not_ignored(app, world, iso, app_engine, owner_engine, backend):
    """A scope that does not verify is an error (a misconfigured key is loud),
    and the right one works."""
    a = _roots(owner_engine)[0]
    with app.app_context(), app_engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        conn.rollback()
        forged = scopesig.sign(b"\x02" * 32, scopesig.payload(Scope.province(a), pid=pid))
        with pytest.raises(Exception) as exc:
            with conn.begin():
                conn.exec_driver_sql(scopesig.set_local_sql(forged))
                conn.exec_driver_sql("SELECT count(*) FROM person").scalar_one()
        assert "does not verify" in str(exc.value)
        with conn.begin():
            _set_db_scope(conn, Scope.province(a))
            assert conn.exec_driver_sql("SELECT count(*) FROM person").scalar_one() > 0


def test_migrated_by_a_non_superuser_owner(owner_engine, backend):
    """Security finding 6: the whole chain ran as an owner like deploy/'s
    (the pg_database fixture migrated with this URL), not as a superuser."""
    with owner_engine.connect() as c:
        row = c.execute(text("SELECT r.rolsuper, r.rolcreaterole, r.rolbypassrls, "
                             "(SELECT version_num FROM alembic_version LIMIT 1) "
                             "FROM pg_roles r WHERE r.rolname = current_user")).one()
    assert row[:3] == (False, False, False)
    assert row[3]
