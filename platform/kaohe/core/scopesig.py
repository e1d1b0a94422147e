"""A database scope that SQL alone cannot forge.

The caller's scope reaches PostgreSQL as ONE setting, sent per transaction as
its own statement (that is what Citus forwards to its workers)::

    SET LOCAL kaohe.scope = '<payload>.<mac>'

``payload`` is compact JSON (ASCII only, no quote, no ``%``): the province
(``r``), the granted paths (``p``), the ancestors visible by id (``a``), the
flags whole province (``w``) and all provinces (``o``, platform operator and
system jobs), the user id (``u``), the login name being checked (``l``, hex),
the token digest (``t``), when it was minted (``i``) and until when it holds
(``e``, Unix seconds) and, on plain PostgreSQL, the backend pid it was minted
for (``b``).  ``mac`` is HMAC-SHA256 of the payload under the scope key, which
the app takes from its configuration (``KAOHE_SCOPE_KEY``, by default derived
from the secret key) and the database keeps in ``kaohe_scope_key``, a table
only its owner can read.

Every RLS policy reads the scope through ``kaohe_scope()``, a SECURITY DEFINER
function owned by the schema owner that recomputes the MAC with the built-in
``sha256()`` (no extension needed) and refuses a value that does not verify,
has expired, was minted before this transaction began (a value left behind by
a session-level ``SET``) or belongs to another backend.  Policies call it as
``(SELECT kaohe_root())`` and so on: an InitPlan, evaluated once per query,
not per row.

The app role can set ``kaohe.scope`` to anything, but without the key it can
only produce values that fail; it cannot read the key table, own no function
or table, and cannot become the owner.  The schema owner itself (migrations,
the SECURITY DEFINER look-ups of the caller's credential, ``kaohe`` commands
run with the owner's URL) passes every policy; that role is not the web
app's.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

SETTING = "kaohe.scope"
KEY_TABLE = "kaohe_scope_key"
# A value is accepted only inside the transaction it was minted for: minted at
# most MINTED_SLACK seconds before the transaction began (clock skew between
# the app and the database), and not after its expiry.
MINTED_SLACK = 10
DEFAULT_TTL = 300


def derive_key(config: dict) -> bytes:
    """The 32-byte scope key: KAOHE_SCOPE_KEY if configured, else derived
    from the secret key (so a deployment needs no new setting)."""
    explicit = config.get("KAOHE_SCOPE_KEY")
    if explicit:
        return hashlib.sha256(b"kaohe-scope-key:" + str(explicit).encode()).digest()
    secret = str(config.get("SECRET_KEY") or "")
    return hmac.new(secret.encode(), b"kaohe-scope-key-v1", hashlib.sha256).digest()


def app_key() -> bytes:
    from flask import current_app

    key = current_app.extensions.get("kaohe_scope_key")
    if key is None:
        key = current_app.extensions["kaohe_scope_key"] = derive_key(current_app.config)
    return key


def pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer padded keys (what the database stores), so SQL
    needs no XOR: mac = sha256(opad || sha256(ipad || payload))."""
    block = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def payload(scope: Any, *, pid: int | None, now: float | None = None, ttl: int = DEFAULT_TTL) -> str:
    now = time.time() if now is None else now
    body: dict[str, Any] = {}
    if scope.all_roots:
        body["o"] = 1
    if scope.root_id is not None:
        body["r"] = int(scope.root_id)
        if scope.paths:  # "|"-joined (parsed in SQL without a subquery)
            body["p"] = "|".join(str(p) for p in scope.paths)
        if scope.whole_root:
            body["w"] = 1
        if scope.ancestor_ids:
            body["a"] = ",".join(str(int(a)) for a in scope.ancestor_ids)
    if scope.user_id is not None:
        body["u"] = int(scope.user_id)
    if scope.login_name:
        body["l"] = scope.login_name.lower().encode().hex()
    if scope.token_hash:
        body["t"] = str(scope.token_hash)
    body["i"] = int(now)
    body["e"] = int(now) + int(ttl)
    if pid is not None:
        body["b"] = int(pid)
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=True)
    if any(c in text for c in "'%\\"):  # paths are digits and slashes; digests are hex
        raise ValueError("scope payload has characters it must not carry")
    return text


def sign(key: bytes, text: str) -> str:
    return text + "." + hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def set_local_sql(value: str) -> str:
    return f"SET LOCAL {SETTING} = '{value}'"


# -- SQL -------------------------------------------------------------------------

KEY_TABLE_SQL = f"""
CREATE TABLE IF NOT EXISTS {KEY_TABLE} (
  id integer PRIMARY KEY CHECK (id = 1),
  ipad bytea NOT NULL CHECK (length(ipad) = 64),
  opad bytea NOT NULL CHECK (length(opad) = 64)
);
REVOKE ALL ON {KEY_TABLE} FROM PUBLIC;
"""

TYPE_SQL = """
CREATE TYPE kaohe_scope_t AS (root_id bigint, patterns text[], ancestors bigint[], whole_root boolean,
                              all_roots boolean, user_id bigint, login_name text, token_hash text);
"""

_VERIFY_TEMPLATE = r"""
CREATE OR REPLACE FUNCTION kaohe_scope() RETURNS kaohe_scope_t
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  raw text := current_setting('kaohe.scope', true);
  body text;
  k record;
  j jsonb;
  r public.kaohe_scope_t;
  t0 timestamptz := now();
  stamp timestamptz;
BEGIN
  IF raw IS NULL OR raw = '' THEN
    RETURN r;  -- no scope: every field NULL, every policy false
  END IF;
  IF length(raw) < 66 OR substr(raw, length(raw) - 64, 1) <> '.' THEN
    RAISE EXCEPTION 'kaohe.scope is malformed' USING ERRCODE = '42501';
  END IF;
  body := left(raw, -65);
  SELECT ipad, opad INTO k FROM %(key_table)s WHERE id = 1;
  IF NOT FOUND OR encode(sha256(k.opad || sha256(k.ipad || convert_to(body, 'UTF8'))), 'hex')
                   <> right(raw, 64) THEN
    RAISE EXCEPTION 'kaohe.scope does not verify (forged, or the database holds another scope key: '
                    'run kaohe db upgrade with this configuration)' USING ERRCODE = '42501';
  END IF;
  j := body::jsonb;
%(citus_stamp)s  IF (j->>'e')::bigint < extract(epoch FROM t0)
     OR (j->>'i')::bigint < extract(epoch FROM t0) - %(slack)s THEN
    RAISE EXCEPTION 'kaohe.scope is not for this transaction (expired or replayed)' USING ERRCODE = '42501';
  END IF;
  IF j ? 'b' AND (j->>'b')::integer <> pg_backend_pid() THEN
    RAISE EXCEPTION 'kaohe.scope was minted for another connection' USING ERRCODE = '42501';
  END IF;
  r.root_id := (j->>'r')::bigint;
  r.patterns := CASE WHEN j ? 'p' THEN string_to_array(replace(j->>'p', '|', chr(37) || '|') || chr(37), '|')
                ELSE '{}'::text[] END;
  r.ancestors := CASE WHEN j ? 'a' THEN string_to_array(j->>'a', ',')::bigint[] ELSE '{}'::bigint[] END;
  r.whole_root := coalesce((j->>'w') = '1', false);
  r.all_roots := coalesce((j->>'o') = '1', false);
  r.user_id := (j->>'u')::bigint;
  r.login_name := convert_from(decode(j->>'l', 'hex'), 'UTF8');
  r.token_hash := j->>'t';
  RETURN r;
END $$;
"""


# On Citus a worker's transaction begins when the coordinator first reaches that worker (a
# connection opened later in a long job), possibly long after the value was minted: there the
# distributed transaction's stamp (set by the coordinator at its first distributed statement)
# stands for the start, trusted back to at most DEFAULT_TTL s (the app role can assign a stamp
# of its own choosing).
_CITUS_STAMP = """  SELECT transaction_stamp INTO stamp FROM pg_catalog.get_current_transaction_id();
  IF stamp IS NOT NULL THEN
    t0 := least(t0, greatest(stamp, t0 - make_interval(secs => %(ttl)s)));
  END IF;
"""


def verify_sql(*, citus_key_shard: str | None = None) -> str:
    """``kaohe_scope()`` for plain PostgreSQL, or (``citus_key_shard`` given) for a Citus
    cluster: there the policies call it once per row on the workers, so it reads the scope
    key from the reference table's shard on its own node (every node holds that placement;
    reading the reference table itself went through Citus's planner on every call, ≈ 50 µs)
    and the distributed transaction's stamp.  A shard that is not there fails closed."""
    return (_VERIFY_TEMPLATE.replace("%(citus_stamp)s", _CITUS_STAMP if citus_key_shard else "")
            .replace("%(key_table)s", f"public.{citus_key_shard}" if citus_key_shard else "public.kaohe_scope_key")
            .replace("%(slack)s", str(MINTED_SLACK)).replace("%(ttl)s", str(DEFAULT_TTL)))


VERIFY_SQL = verify_sql()


def accessors_sql(owner: str) -> str:
    """The policy helpers, same names and types as before: thin SQL over the
    verified scope.  ``kaohe_all_roots()`` is also true for the schema owner."""
    owner_lit = owner.replace("'", "''")
    one = ("CREATE OR REPLACE FUNCTION {name}() RETURNS {type} LANGUAGE sql STABLE AS "
           "$$ SELECT {expr} $$;\n")
    out = one.format(name="kaohe_all_roots", type="boolean",
                     expr=f"current_user = '{owner_lit}'::name OR coalesce((public.kaohe_scope()).all_roots, false)")
    for name, typ, field, default in (
        ("kaohe_root", "bigint", "root_id", None),
        ("kaohe_whole_root", "boolean", "whole_root", "false"),
        ("kaohe_patterns", "text[]", "patterns", "'{}'"),
        ("kaohe_ancestors", "bigint[]", "ancestors", "'{}'"),
        ("kaohe_user_id", "bigint", "user_id", None),
        ("kaohe_login_name", "text", "login_name", None),
        ("kaohe_token_hash", "text", "token_hash", None),
    ):
        expr = f"(public.kaohe_scope()).{field}"
        if default is not None:
            expr = f"coalesce({expr}, {default})"
        out += one.format(name=name, type=typ, expr=expr)
    return out


def sync_key(connection, key: bytes) -> None:
    """Store the key's pads in the database (as the owner, in migrations)."""
    from sqlalchemy import text

    ipad, opad = pads(key)
    connection.execute(text(f"INSERT INTO {KEY_TABLE} (id, ipad, opad) VALUES (1, :i, :o) "
                            "ON CONFLICT (id) DO UPDATE SET ipad = EXCLUDED.ipad, opad = EXCLUDED.opad"),
                       {"i": ipad, "o": opad})
