"""Where each table lives on a Citus cluster, the rules that make that possible,
and the step that distributes an existing database.

Three kinds of table (DESIGN §7, deploy/SCALING.md):

* **distributed** by ``root_id`` (the province), all co-located: every table
  with a NOT NULL ``root_id`` that is not listed below.  Citus needs
  ``root_id`` in the table's PRIMARY KEY (here ``(id, root_id)``: ``id`` first
  so a look-up by id alone still uses the key on plain PostgreSQL), in every
  UNIQUE constraint, and in every foreign key to another distributed table.
* **reference** tables, copied whole to every node: the org tree (every RLS
  check and every tenant foreign key reads it, so it must be local to each
  shard) and the accounts, whose username is unique across provinces and
  whose ``root_id`` is NULL for platform operators.
* **coordinator-only** tables, plain tables on the coordinator: data that is
  read only by the app through the coordinator and never joined with tenant
  rows.

The ORM identity of a distributed table stays ``id`` alone (metadata, SQLite);
its PostgreSQL primary key is ``(id, root_id)`` (migration ``h1_citus_keys``;
a new tenant table's migration calls ``tenant_primary_key(op, table)``).
``tests/foundation/test_citus_schema.py`` fails on a table that breaks a rule.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import text

REFERENCE_TABLES: dict[str, str] = {
    "org_node": "the tree: read by every scope check and referenced by every tenant table",
    "user_account": "accounts: usernames unique across provinces; platform operators have no province",
    "role_grant": "grants of accounts (references user_account)",
    "api_token": "bearer tokens of accounts (references user_account)",
    "kaohe_scope_key": "the key that verifies the signed scope: every node's policies need it",
}
COORDINATOR_TABLES: dict[str, str] = {
    "login_throttle": "failed log-ins per username: read and written only at log-in, no tenant data",
    "alembic_version": "the schema revision",
    "ballot_throttle": "wrong ballot codes per (session, address) digest: read and written only at voting, no tenant data",
}


def kind_of(table: str, has_root_id: bool) -> str | None:
    if table in REFERENCE_TABLES:
        return "reference"
    if table in COORDINATOR_TABLES:
        return "coordinator"
    if has_root_id:
        return "distributed"
    return None


# -- the catalog -----------------------------------------------------------------------------

_TABLES_SQL = """
SELECT c.relname, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                          AND a.attname = 'root_id' AND NOT a.attisdropped)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname
"""

# Every PRIMARY KEY / UNIQUE / FOREIGN KEY constraint and unique index, with its columns.
_KEYS_SQL = """
SELECT t.relname, con.conname, con.contype::text,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
       rt.relname,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i),
       pg_get_constraintdef(con.oid)
FROM pg_constraint con
JOIN pg_class t ON t.oid = con.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_class rt ON rt.oid = con.confrelid
WHERE n.nspname = 'public' AND con.contype IN ('p', 'u', 'f')
UNION ALL
SELECT t.relname, i.relname, 'i',
       ARRAY(SELECT coalesce(a.attname::text, '(expression)') FROM unnest(ix.indkey) WITH ORDINALITY k(n, o)
             LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.n ORDER BY k.o),
       NULL, NULL, pg_get_indexdef(ix.indexrelid)
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = 'public' AND ix.indisunique
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)
"""


@dataclass
class Key:
    table: str
    name: str
    kind: str            # p, u, f, i (a unique index that is no constraint)
    cols: list[str]
    ref_table: str | None = None
    ref_cols: list[str] = field(default_factory=list)
    definition: str = ""


def catalog(conn) -> tuple[dict[str, str | None], list[Key]]:
    """(table → kind or None when unclassified, keys) of the public schema."""
    tables = {name: kind_of(name, has_root) for name, has_root in conn.execute(text(_TABLES_SQL))}
    keys = [Key(r[0], r[1], r[2], list(r[3]), r[4], list(r[5] or []), r[6]) for r in conn.execute(text(_KEYS_SQL))]
    return tables, keys


def violations(tables: dict[str, str | None], keys: list[Key]) -> list[str]:
    """What stops the schema from being distributed by root_id (empty: nothing)."""
    out = []
    for name, kind in tables.items():
        if kind is None:
            out.append(f"{name}: has no root_id and is not declared a reference or coordinator-only table "
                       "(kaohe.core.citus)")
    for k in keys:
        kind = tables.get(k.table)
        ref_kind = tables.get(k.ref_table) if k.ref_table else None
        if kind == "distributed" and k.kind in ("p", "u", "i") and "root_id" not in k.cols:
            label = {"p": "primary key", "u": "unique constraint", "i": "unique index"}[k.kind]
            out.append(f"{k.table}: {label} {k.name} ({', '.join(k.cols)}) does not include root_id")
        if k.kind != "f":
            continue
        if kind == "distributed" and ref_kind == "distributed":
            pairs = dict(zip(k.cols, k.ref_cols))
            if pairs.get("root_id") != "root_id":
                out.append(f"{k.table}: foreign key {k.name} to {k.ref_table} does not pair root_id with root_id")
        elif ref_kind == "coordinator" and kind != "coordinator":
            out.append(f"{k.table}: foreign key {k.name} to the coordinator-only table {k.ref_table}")
        elif kind == "reference" and ref_kind == "distributed":
            out.append(f"{k.table}: reference table with a foreign key {k.name} to the distributed {k.ref_table}")
    return out


# -- migrations ----------------------------------------------------------------------------------

def tenant_primary_key(op, table: str) -> None:
    """For migrations, after creating a tenant table: on PostgreSQL its primary key
    becomes (id, root_id); SQLite keeps id alone (the rowid alias)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id, root_id)")


# -- distribution ---------------------------------------------------------------------------------

def citus_present(conn) -> bool:
    return conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")).first() is not None


@dataclass
class Plan:
    reference: list[str]
    distributed: list[str]
    done_reference: list[str]
    done_distributed: list[str]


def _citus_tables(conn) -> dict[str, str]:
    rows = conn.execute(text(
        "SELECT logicalrelid::regclass::text, partmethod FROM pg_dist_partition")).all()
    return {r[0]: ("reference" if r[1] == "n" else "distributed") for r in rows}


def plan(conn) -> Plan:
    tables, keys = catalog(conn)
    bad = violations(tables, keys)
    if bad:
        raise ValueError("the schema cannot be distributed: " + "; ".join(bad))
    have = _citus_tables(conn)
    ref = [t for t, k in tables.items() if k == "reference"]
    dist = [t for t, k in tables.items() if k == "distributed"]
    return Plan(ref, dist, [t for t in ref if have.get(t) == "reference"],
                [t for t in dist if have.get(t) == "distributed"])




# -- row-level security on Citus ------------------------------------------------------------------
# Citus refuses policies that contain a subquery (SubLink) on distributed and reference tables,
# and a query inside a function evaluated on a shard may not read another Citus table unless
# citus.allow_nested_distributed_execution is on for that function.  So on Citus the subtree test
# of the policies (ORG_IN_SCOPE: a subquery on org_node) becomes a function call; org_node is a
# reference table, so the function reads the copy on the node that evaluates the row.

ORG_IN_SCOPE_FUNCTION = """
CREATE OR REPLACE FUNCTION kaohe_org_in_scope(org bigint) RETURNS boolean
LANGUAGE sql STABLE SET citus.allow_nested_distributed_execution = on AS
$$ SELECT EXISTS (SELECT 1 FROM org_node o WHERE o.id = org AND o.root_id = kaohe_root()
                  AND o.path LIKE ANY (kaohe_patterns())) $$;
CREATE OR REPLACE FUNCTION kaohe_org_in(org bigint, root bigint, patterns text[]) RETURNS boolean
LANGUAGE sql STABLE SET citus.allow_nested_distributed_execution = on AS
$$ SELECT EXISTS (SELECT 1 FROM org_node o WHERE o.id = org AND o.root_id = root
                  AND o.path LIKE ANY (patterns)) $$
"""

# Without InitPlans every row of a shard query evaluates the policy, and each helper call
# (kaohe_all_roots(), kaohe_root(), kaohe_whole_root(), ...) verified the signed scope again:
# three to five verifications per row.  So on Citus each policy kind is ONE function of the
# row's columns that verifies the scope once (kaohe_scope()) and evaluates the same
# expression as core.rls on its fields.
_ROW_COLUMNS = {
    "org": ("root_id", "org_id"),
    "org_node": ("root_id", "path", "id"),
    "root": ("root_id",),
    "user": ("id", "username", "root_id", "org_id"),
    "grant": ("user_id", "root_id", "org_id"),
    "token": ("user_id", "token_hash"),
}
_COLUMN_TYPES = {"root_id": "bigint", "org_id": "bigint", "id": "bigint", "user_id": "bigint",
                 "path": "text", "username": "text", "token_hash": "text"}
_FIELDS = {"root": "s.root_id", "whole_root": "coalesce(s.whole_root, false)",
           "patterns": "coalesce(s.patterns, '{}'::text[])", "ancestors": "coalesce(s.ancestors, '{}'::bigint[])",
           "user_id": "s.user_id", "login_name": "s.login_name", "token_hash": "s.token_hash"}


def row_function_sql(kind: str, owner: str) -> str:
    """The Citus policy function of ``kind``: same rows as core.rls.policy_expr(kind)."""
    from . import rls

    expr = rls.policy_expr(kind)
    expr = expr.replace(rls.ORG_IN_SCOPE.format(col="org_id"),
                        "(coalesce(s.whole_root, false) OR kaohe_org_in(org_id, s.root_id, s.patterns))")
    owner_lit = owner.replace("'", "''")
    expr = expr.replace("kaohe_all_roots()",
                        f"(current_user = '{owner_lit}'::name OR coalesce(s.all_roots, false))")
    expr = re.sub(r"\bkaohe_([a-z_]+)\(\)", lambda m: _FIELDS[m.group(1)], expr)
    if re.search(r"\bSELECT\b|\bkaohe_(?!org_in\()[a-z_]+\(", expr, re.I):
        raise ValueError(f"the {kind} policy has a part the row function cannot evaluate: {expr}")
    cols = _ROW_COLUMNS[kind]
    params = ", ".join(f"{c} {_COLUMN_TYPES[c]}" for c in cols)
    return (f"CREATE OR REPLACE FUNCTION kaohe_row_{kind}({params}) RETURNS boolean\n"
            "LANGUAGE plpgsql STABLE AS $fn$\n"
            "DECLARE s public.kaohe_scope_t := public.kaohe_scope();\n"
            f"BEGIN\n  RETURN {expr};\nEND $fn$")


def install_scope_functions(conn) -> None:
    """The scope functions of a distributed database (after kaohe_scope_key is a reference
    table): kaohe_scope() reading the key's shard on each node, the per-row policy functions,
    the subtree look-ups; then the nested-execution setting on those that read a table.
    Idempotent; `kaohe db distribute` and migrations that re-create kaohe_scope() call it."""
    from . import scopesig

    shard = conn.execute(text("SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'kaohe_scope_key'::regclass"
                              )).scalar()
    if shard is None:
        raise ValueError("kaohe_scope_key is not a reference table yet: run kaohe db distribute")
    conn.execute(text(scopesig.verify_sql(citus_key_shard=f"kaohe_scope_key_{int(shard)}")))
    conn.execute(text(ORG_IN_SCOPE_FUNCTION))
    owner = conn.execute(text("SELECT current_user")).scalar()
    for kind in _ROW_COLUMNS:
        conn.execute(text(row_function_sql(kind, owner)))
    mark_nested_functions(conn)


def citus_policy_expr(kind: str) -> str:
    """The policy of ``kind`` for Citus (no subqueries there): one call of its row function."""
    return f"kaohe_row_{kind}({', '.join(_ROW_COLUMNS[kind])})"


def _nested_functions(conn) -> list[str]:
    """Our SQL functions that read a table (they run on the workers inside shard queries)."""
    rows = conn.execute(text(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND p.proname LIKE 'kaohe%' AND p.prokind = 'f' "
        "AND p.prosrc ~* '\\mfrom\\M' AND p.prorettype <> 'trigger'::regtype "
        "AND NOT coalesce('citus.allow_nested_distributed_execution=on' = ANY (p.proconfig), false)")).all()
    return [r[0] for r in rows]


def mark_nested_functions(conn) -> None:
    """Let the scope functions that read a table run inside a shard query (again after a
    migration re-creates one: CREATE OR REPLACE drops a function's settings)."""
    for fn in _nested_functions(conn):
        conn.execute(text(f"ALTER FUNCTION {fn} SET citus.allow_nested_distributed_execution = on"))


def _policies(conn, tables: list[str]) -> dict[str, str]:
    rows = conn.execute(text("SELECT tablename, policyname FROM pg_policies WHERE schemaname = 'public' "
                             "AND tablename = ANY (:t)"), {"t": tables}).all()
    return {r[0]: r[1] for r in rows}


def distribute(conn, policy_kinds: dict[str, str] | None = None, log=print) -> Plan:
    """Make the reference tables and distribute the tenant tables by root_id,
    co-located.  Idempotent: tables already placed are left alone.

    Order (../shared/citus/README.md): foreign keys between the tables still to
    be placed are dropped first and re-created at the end, because a foreign
    key to a reference table that exists before distribution turns both tables
    into Citus-local tables and then blocks distributing.  Runs in the caller's
    transaction (commit it to keep the result)."""
    p = plan(conn)
    todo_ref = [t for t in p.reference if t not in p.done_reference]
    todo_dist = [t for t in p.distributed if t not in p.done_distributed]
    if not todo_ref and not todo_dist:
        install_scope_functions(conn)   # a newer body of the scope functions (idempotent)
        log("every table is already placed: "
            f"{len(p.done_reference)} reference, {len(p.done_distributed)} distributed")
        return p
    pending = set(todo_ref) | set(todo_dist)
    _, keys = catalog(conn)
    fks = [k for k in keys if k.kind == "f" and (k.table in pending or k.ref_table in pending)]
    conn.execute(text("SET LOCAL citus.enable_unsafe_triggers = on"))   # audit_log's append-only trigger
    conn.execute(text("SET LOCAL citus.multi_shard_modify_mode = 'sequential'"))
    for k in fks:
        conn.execute(text(f'ALTER TABLE "{k.table}" DROP CONSTRAINT "{k.name}"'))
    policies = _policies(conn, sorted(pending))
    for t, name in policies.items():
        conn.execute(text(f'DROP POLICY "{name}" ON "{t}"'))
    for t in todo_ref:
        conn.execute(text("SELECT create_reference_table(:t)"), {"t": t})
        log(f"reference   {t}")
    install_scope_functions(conn)
    anchor = p.done_distributed[0] if p.done_distributed else None
    for t in todo_dist:
        if anchor is None:
            conn.execute(text("SELECT create_distributed_table(:t, 'root_id')"), {"t": t})
            anchor = t
        else:
            conn.execute(text("SELECT create_distributed_table(:t, 'root_id', colocate_with => :a)"),
                         {"t": t, "a": anchor})
        log(f"distributed {t} (root_id, co-located with {anchor})")
    for k in fks:
        conn.execute(text(f'ALTER TABLE "{k.table}" ADD CONSTRAINT "{k.name}" {k.definition}'))
    log(f"{len(fks)} foreign keys re-created")
    kinds = policy_kinds or {}
    for t, name in policies.items():
        if t not in kinds:
            raise ValueError(f"{t} has a policy but no policy kind is known for it")
        expr = citus_policy_expr(kinds[t])
        conn.execute(text(f'CREATE POLICY "{name}" ON "{t}" USING ({expr}) WITH CHECK ({expr})'))
    log(f"{len(policies)} row-level security policies re-created without subqueries")
    return plan(conn)


# -- bulk writes ------------------------------------------------------------------------------------

def is_citus(conn) -> bool:
    """Whether ``conn`` (a SQLAlchemy connection) talks to a Citus coordinator; cached per DBAPI connection."""
    if conn.dialect.name != "postgresql":
        return False
    info = conn.connection.info
    if "kaohe_citus" not in info:
        info["kaohe_citus"] = citus_present(conn)
    return info["kaohe_citus"]


def insert_from_temp(cur, conn, table, columns, tmp: str, batch: int = 1000) -> None:
    """``INSERT INTO table SELECT ... FROM tmp`` for Citus: from a local temporary
    table Citus would pull the rows to the coordinator and COPY them into the
    shards, and PostgreSQL refuses COPY into a table with row-level security.
    Multi-row INSERT ... VALUES goes to the shard as an INSERT, checked by the
    policy.  ``cur`` is a psycopg cursor on ``conn``'s DBAPI connection."""
    types = [conn.dialect.type_compiler_instance.process(table.c[c].type) for c in columns]
    cols = ", ".join(columns)
    one = "(" + ", ".join(f"CAST(%s AS {t})" for t in types) + ")"
    with cur.connection.cursor() as reader:
        reader.execute(f"SELECT {', '.join(f'{c}::text' for c in columns)} FROM {tmp}")
        while True:
            rows = reader.fetchmany(batch)
            if not rows:
                break
            cur.execute(f"INSERT INTO {table.name} ({cols}) VALUES " + ", ".join([one] * len(rows)),
                        [v for r in rows for v in r])
