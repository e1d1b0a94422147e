"""Liveness of pooled PostgreSQL connections, pinged only after idling.

SQLAlchemy's ``pool_pre_ping`` sends a round trip on every checkout: on the
API's hot path (a credential look-up, the scope, one or two statements, the
commit) that is one round trip in five for nothing, because a connection
checked in a moment ago is almost always still alive.  Instead a connection
is pinged at checkout only when it has been idle in the pool longer than
``KAOHE_DB_PING_IDLE_SECONDS`` (1 s by default; 0 pings on every checkout,
as ``pool_pre_ping`` did).  A dead one is then replaced before the request
sees it.

What this gives up: a connection that was in use during the last second
before the database restarted is not pinged; its request gets the clean 503
with a reference (``core.errors``), SQLAlchemy invalidates the pool on that
disconnect, and the next request is served from new connections
(tests/foundation/test_db_outage.py)."""
from __future__ import annotations

import time

from sqlalchemy import event, exc

IDLE_KEY = "kaohe_checked_in"


def install(engine, idle_seconds: float) -> None:
    """Replace per-checkout pings on ``engine`` by pings after ``idle_seconds``."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record):
        if dbapi_connection is not None:
            record.info[IDLE_KEY] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy):
        since = record.info.get(IDLE_KEY)
        # A new connection (no check-in yet: the info is cleared when the pool
        # replaces a connection) was just opened and needs no ping.
        if since is None or time.monotonic() - since <= idle_seconds:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as err:  # noqa: BLE001  (any failure: replace the connection)
            raise exc.DisconnectionError(f"ping after idling failed: {err}") from err
        if alive is False:
            raise exc.DisconnectionError("ping after idling failed")
