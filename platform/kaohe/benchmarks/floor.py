"""The floor of `kaohe bench http`: a hand-written WSGI app (psycopg and a
psycopg_pool connection pool, no Flask, no ORM) that the bench serves beside
the app, under the same gunicorn settings, as the same app role under the
same Row-Level Security.  It does what a request must do and nothing more:

* ``POST /floor/sign`` (body ``{"what": "in"|"out"}``): look up the bearer
  token's digest (the app's own SECURITY DEFINER look-up,
  ``kaohe_token_principal``), check it is live, set the caller's scope for RLS
  exactly as the app does (the same signed ``SET LOCAL kaohe.scope``, its own
  statement), insert or complete today's attendance row, append one entry to
  the audit chain of the person's org (lane head locked, hash and MAC as
  ``kaohe.audit.service`` computes them), commit;
* ``GET /floor/read``: the token look-up, the scope, one SELECT (the caller's
  open tasks, as ``/api/v1/routine/tasks``), commit.

Not part of the app (production never imports ``kaohe.benchmarks``).
Configured by the environment: ``KAOHE_FLOOR_DSN`` (the app role's libpq URL),
``KAOHE_FLOOR_SECRET`` (the app's secret key: the scope and audit keys derive
from it), ``KAOHE_FLOOR_POOL`` (connections per process)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading

from ..audit.service import GENESIS, LANE_OPEN, entry_hash, entry_mac
from ..core import scopesig
from ..core.clock import tz as local_tz
from ..tenancy.scope import Scope, minimal_paths

_PRINCIPAL = ("SELECT user_id, user_root_id, active, expires_at, revoked_at, person_id, username, role, "
              "grant_root_id, path FROM kaohe_token_principal(%s)")


def on_citus(conn) -> bool:
    """Is this psycopg connection's database a Citus one (the extension is present)?"""
    return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')").fetchone()[0])


def signed_scope(key: bytes, scope: Scope, conn, citus: bool) -> str:
    """The signed ``kaohe.scope`` value for a raw psycopg connection, as the
    app mints it (``kaohe.tenancy.scope``): bound to the backend pid on plain
    PostgreSQL; unbound on Citus, where the policies also run in worker
    backends whose pids differ (a bound value fails there: "minted for another
    connection")."""
    return scopesig.sign(key, scopesig.payload(scope, pid=None if citus else conn.info.backend_pid))


class Floor:
    def __init__(self, dsn: str, secret: str, pool_size: int = 4):
        from psycopg_pool import ConnectionPool

        cfg = {"SECRET_KEY": secret}
        self.scope_key = scopesig.derive_key(cfg)
        from ..audit.service import audit_key

        self.audit_key = audit_key(cfg)
        self.pool = ConnectionPool(dsn, min_size=pool_size, max_size=pool_size, open=True,
                                   kwargs={"autocommit": False})
        self._lock = threading.Lock()
        self._citus = None   # found on the first request (one query), as the app notes it per connection

    # -- the steps every request takes ---------------------------------------

    def _principal(self, cur, environ):
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header.lower().startswith("bearer "):
            return None
        digest = hashlib.sha256(header[7:].strip().encode()).hexdigest()
        rows = cur.execute(_PRINCIPAL, (digest,)).fetchall()
        if not rows:
            return None
        user_id, root_id, active, expires_at, revoked_at, person_id, username = rows[0][:7]
        if not active or revoked_at is not None or expires_at <= dt.datetime.now(dt.timezone.utc):
            return None
        if any(r[7] == "platform_operator" for r in rows):
            scope = Scope(all_roots=True, user_id=user_id)
        else:
            paths = [r[9] for r in rows if r[9] and r[8] == root_id]
            scope = (Scope(root_id=root_id, paths=minimal_paths(paths), user_id=user_id) if paths and root_id
                     else Scope(user_id=user_id))
        if self._citus is None:
            self._citus = on_citus(cur.connection)
        value = signed_scope(self.scope_key, scope, cur.connection, self._citus)
        cur.execute(scopesig.set_local_sql(value))
        return {"user_id": user_id, "root_id": root_id, "person_id": person_id, "username": username}

    def _audit(self, cur, root_id, org_id, actor, action, target_type, target_id, after):
        lane = 0 if org_id == root_id else org_id
        head = self._lock_head(cur, root_id, lane, actor)
        return self._append(cur, root_id, lane, org_id, head, actor, action, target_type, target_id, after)

    def _lock_head(self, cur, root_id, lane, actor):
        sql = "SELECT seq, hash FROM audit_head WHERE root_id = %s AND lane = %s FOR UPDATE"
        head = cur.execute(sql, (root_id, lane)).fetchone()
        if head is not None:
            return head
        if lane != 0:   # a lane's first entry opens it, in the province lane (as the app does)
            prov = self._lock_head(cur, root_id, 0, actor)
            head = cur.execute(sql, (root_id, lane)).fetchone()
            if head is not None:
                return head
            self._append(cur, root_id, 0, lane, prov, actor, LANE_OPEN, "audit_lane", str(lane), {"lane": lane})
        cur.execute("INSERT INTO audit_head (root_id, lane, seq, hash) VALUES (%s, %s, 0, %s) "
                    "ON CONFLICT DO NOTHING", (root_id, lane, GENESIS))
        return cur.execute(sql, (root_id, lane)).fetchone()

    def _append(self, cur, root_id, lane, org_id, head, actor, action, target_type, target_id, after):
        entry = {"root_id": root_id, "org_id": org_id, "seq": head[0] + 1,
                 "created_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
                 "actor_id": actor["user_id"], "actor_name": actor["username"], "action": action,
                 "target_type": target_type, "target_id": target_id, "before": None, "after": after,
                 "reason": None, "prev_hash": head[1]}
        h = entry_hash(entry)
        # the entry and the moved head in one statement, as the app appends
        cur.execute("WITH appended AS (INSERT INTO audit_log (root_id, lane, org_id, seq, created_at, actor_id, "
                    "actor_name, action, target_type, target_id, before, after, reason, prev_hash, hash, mac) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, %s, NULL, %s, %s, %s)) "
                    "UPDATE audit_head SET seq = %s, hash = %s WHERE root_id = %s AND lane = %s",
                    (root_id, lane, org_id, entry["seq"], entry["created_at"], entry["actor_id"],
                     entry["actor_name"], action, target_type, target_id, json.dumps(after), head[1], h,
                     entry_mac(self.audit_key, h), entry["seq"], h, root_id, lane))
        return (entry["seq"], h)

    # -- the endpoints -----------------------------------------------------------

    def sign(self, cur, environ):
        who = self._principal(cur, environ)
        if who is None:
            return 401, {"message": "Authentication required."}
        try:
            body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) or b"{}")
        except ValueError:
            return 422, {"errors": {"json": ["not JSON"]}}
        what = body.get("what")
        if what not in ("in", "out") or not who["person_id"]:
            return 422, {"errors": {"what": ["in or out"]}}
        now = dt.datetime.now(dt.timezone.utc)
        day = now.astimezone(local_tz()).date()
        col = "sign_in_at" if what == "in" else "sign_out_at"
        row = cur.execute(
            f"INSERT INTO routine_attendance (root_id, org_id, person_id, day, {col}, corrected) "
            "SELECT root_id, org_id, id, %s, %s, false FROM person WHERE id = %s AND root_id = %s "
            f"ON CONFLICT (root_id, person_id, day) DO UPDATE SET {col} = EXCLUDED.{col} "
            f"WHERE routine_attendance.{col} IS NULL RETURNING id, root_id, org_id",
            (day, now, who["person_id"], who["root_id"])).fetchone()
        if row is None:
            return 409, {"errors": {what: ["already"]}}
        self._audit(cur, row[1], row[2], who, "routine.attendance.sign", "routine_attendance", str(row[0]),
                    {col: now.isoformat()})
        return 200, {"id": row[0], "day": day.isoformat(), col: now.isoformat()}

    def read(self, cur, environ):
        who = self._principal(cur, environ)
        if who is None:
            return 401, {"message": "Authentication required."}
        # root_id named (as the app's queries do): on Citus that routes the query to the province's shard
        # instead of every shard.
        rows = cur.execute("SELECT id, kind, title, due_on, status FROM routine_task WHERE root_id = %s "
                           "AND status = 'open' AND (assignee_person_id = %s OR assignee_user_id = %s) "
                           "ORDER BY due_on, id LIMIT 200",
                           (who["root_id"], who["person_id"], who["user_id"])).fetchall()
        return 200, [{"id": r[0], "kind": r[1], "title": r[2], "due_on": r[3] and r[3].isoformat(),
                      "status": r[4]} for r in rows]

    def __call__(self, environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        if path == "/floor/sign" and method == "POST":
            handler = self.sign
        elif path == "/floor/read" and method == "GET":
            handler = self.read
        elif path == "/floor/health":
            handler = None
        else:
            start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", "2")])
            return [b"{}"]
        if handler is None:
            status, out = 200, {"status": "ok"}
        else:
            with self.pool.connection() as conn:   # commits on success, rolls back on an exception
                with conn.cursor() as cur:
                    status, out = handler(cur, environ)
                if status >= 300:
                    conn.rollback()
        data = json.dumps(out).encode()
        reason = {200: "OK", 401: "Unauthorized", 409: "Conflict", 422: "Unprocessable Entity"}[status]
        start_response(f"{status} {reason}", [("Content-Type", "application/json"),
                                              ("Content-Length", str(len(data)))])
        return [data]


def create() -> Floor:
    """The gunicorn entry point: ``kaohe.benchmarks.floor:create()``."""
    return Floor(os.environ["KAOHE_FLOOR_DSN"], os.environ["KAOHE_FLOOR_SECRET"],
                 int(os.environ.get("KAOHE_FLOOR_POOL", "4")))
