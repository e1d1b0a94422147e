"""Jobs that never stay stuck.

A running job holds a lease: its row names the process running it
(``worker`` = "host:pid") and a heartbeat thread renews ``heartbeat_at`` in a
short transaction of its own (PostgreSQL; on SQLite the job's own transaction
holds the database lock, so only the process check applies).  A job is
*abandoned* when

* it is running and its process is gone (same host, pid not alive), or its
  heartbeat is older than the lease (``KAOHE_JOB_LEASE_SECONDS``); or
* it is queued on RQ and the queue no longer has it (Redis restarted or
  emptied) or RQ put it in its failed registry (the work horse died before
  the job started); or it is queued in-process (thread mode) for longer than
  the lease (the web process ended first).

`reap()` marks such a job failed with a message a clerk understands, and runs
the kind's release hook (a roster upload "importing" goes back to "valid", so
applying again works).  It runs whenever the job is looked at (page, status
fragment, API), before an import is applied again, at worker start and with
`kaohe jobs reap`.  `retry()` starts a failed job again with the same
parameters and scope."""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from typing import Callable

from flask import current_app
from sqlalchemy import select, update

from ..core.errors import Conflict, Forbidden, KaoheError
from ..extensions import db
from ..web.messages import register_templates
from .models import Job

log = logging.getLogger("kaohe.jobs")


def N_(text: str) -> str:
    return text


LOST_WORKER = N_("The task stopped because the process running it ended (a restart or a crash). "
                 "Nothing was changed; press Retry to run it again.")
LOST_QUEUE = N_("The task was lost by the task queue (it was restarted or emptied). "
                "Nothing was changed; press Retry to run it again.")
QUEUE_DOWN = N_("The task queue is not available right now; nothing was saved. Try again in a minute.")
NOT_STARTED = N_("The task queue is not available right now; the task was not started. Try again in a minute.")
RUNNING_ALREADY = N_("A computation of this province is already running (started %(started)s); "
                     "wait for it to finish, then look at its result.")
register_templates(RUNNING_ALREADY)   # pages translate it with its start time filled in

DEFAULT_LEASE = 90.0
QUEUE_GRACE = 30.0     # a queued row younger than this may still be on its way to Redis

# kind -> fn(job_row) run in the reaping transaction (release what the job held)
RELEASE_HOOKS: dict[str, Callable[[Job], None]] = {}


class QueueUnavailable(KaoheError):
    status = 503
    default = QUEUE_DOWN


def on_abandon(kind: str):
    """Register ``fn(job_row)``: undo what starting the job held (flush only)."""
    def deco(fn):
        RELEASE_HOOKS[kind] = fn
        return fn
    return deco


def now() -> dt.datetime:
    # Real time, not kaohe.core.clock: a lease is about processes, not the
    # (possibly simulated) business date.
    return dt.datetime.now(dt.timezone.utc)


def lease_seconds() -> float:
    try:
        return float(current_app.config.get("KAOHE_JOB_LEASE_SECONDS") or DEFAULT_LEASE)
    except RuntimeError:
        return DEFAULT_LEASE


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child not yet reaped by its parent is a zombie: gone
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    if t is not None and t.tzinfo is None:
        return t.replace(tzinfo=dt.timezone.utc)
    return t


# -- the lease -------------------------------------------------------------------


class Lease:
    """Renews the heartbeat of one running job from a thread, in short
    transactions of its own, until stopped."""

    def __init__(self, job_id: str, scope, interval: float | None = None):
        self.job_id, self.scope = job_id, scope
        self.interval = interval or max(lease_seconds() / 3, 0.2)
        self.app = current_app._get_current_object()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Lease":
        if db.engine.dialect.name == "sqlite":
            return self  # the job's transaction holds the file lock; the pid check applies
        self._thread = threading.Thread(target=self._run, name=f"kaohe-lease-{self.job_id[:8]}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        from ..tenancy.scope import _set_db_scope

        while not self._stop.wait(self.interval):
            try:
                with self.app.app_context():
                    with db.engine.begin() as conn:
                        _set_db_scope(conn, self.scope)
                        conn.execute(update(Job.__table__).where(Job.__table__.c.id == self.job_id)
                                     .values(heartbeat_at=now()))
            except Exception as exc:  # noqa: BLE001 - a missed beat is what the lease is for
                log.warning("job %s: heartbeat failed (%s)", self.job_id, type(exc).__name__)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


# -- detecting and reaping ----------------------------------------------------------


def abandoned(job_row: Job, *, redis=None) -> str | None:
    """The message to fail the job with when its worker is gone, else None."""
    if job_row.status == "running":
        host, _, pid = (job_row.worker or "").rpartition(":")
        if host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid)):
            return LOST_WORKER
        if db.engine.dialect.name != "sqlite":
            beat = _aware(job_row.heartbeat_at or job_row.started_at)
            if beat is not None and (now() - beat).total_seconds() > lease_seconds():
                return LOST_WORKER
        return None
    if job_row.status != "queued":
        return None
    age = (now() - _aware(job_row.created_at)).total_seconds() if job_row.created_at else 0
    mode = current_app.config.get("KAOHE_JOBS_MODE")
    if mode == "rq" and current_app.config.get("KAOHE_REDIS_URL"):
        if age < QUEUE_GRACE:
            return None
        return _lost_by_rq(job_row.id, redis)
    if mode == "thread" and age > lease_seconds():
        return LOST_WORKER
    return None


def _lost_by_rq(job_id: str, redis=None) -> str | None:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job as RqJob

    try:
        conn = redis or redis_connection()
        rq_job = RqJob.fetch(job_id, connection=conn)
        status = rq_job.get_status(refresh=True)
    except NoSuchJobError:
        return LOST_QUEUE
    except Exception:  # noqa: BLE001 - Redis down: cannot tell yet, decide later
        return None
    status = getattr(status, "value", status)
    if status in ("failed", "stopped", "canceled"):
        return LOST_WORKER
    return None


def reap(job_row: Job, *, commit: bool = True, redis=None) -> bool:
    """Fail the job if its worker is gone (and release what it held)."""
    reason = abandoned(job_row, redis=redis)
    if reason is None:
        return False
    mark_failed(job_row, reason)
    if commit:
        db.session.commit()
    log.warning("job %s (%s) abandoned: %s", job_row.id, job_row.kind, reason)
    return True


def mark_failed(job_row: Job, message: str) -> None:
    job_row.status, job_row.finished_at, job_row.message = "failed", now(), message
    release(job_row)
    db.session.flush()


def release(job_row: Job) -> None:
    hook = RELEASE_HOOKS.get(job_row.kind)
    if hook is not None:
        hook(job_row)


def reap_by_id(job_id: str | None) -> bool:
    if not job_id:
        return False
    job_row = db.session.get(Job, job_id)
    return bool(job_row) and reap(job_row)


def reap_all(root_id: int | None = None) -> int:
    """Every queued or running job (under the current scope): `kaohe jobs reap`."""
    stmt = select(Job).where(Job.status.in_(("queued", "running")))
    if root_id is not None:
        stmt = stmt.where(Job.root_id == root_id)
    rows = db.session.execute(stmt.order_by(Job.created_at)).scalars().all()
    redis = None
    if current_app.config.get("KAOHE_JOBS_MODE") == "rq" and current_app.config.get("KAOHE_REDIS_URL"):
        try:
            redis = redis_connection()
        except Exception:  # noqa: BLE001
            redis = None
    n = sum(reap(r, commit=False, redis=redis) for r in rows)
    db.session.commit()
    return n


# -- Redis --------------------------------------------------------------------


def redis_connection():
    from redis import Redis

    return Redis.from_url(current_app.config["KAOHE_REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)


def ensure_queue() -> None:
    """Before anything is saved for a job that goes to RQ: Redis answers, or
    503 "nothing was saved, try again" (the caller's transaction rolls back)."""
    try:
        redis_connection().ping()
    except Exception as exc:  # noqa: BLE001
        log.warning("task queue unavailable: %s", exc)
        raise QueueUnavailable()


# -- one computation per province ------------------------------------------------

# kind -> what must be exclusive ("root": one at a time per province)
EXCLUSIVE: dict[str, str] = {"annual.compute": "root"}


def take_exclusive(job_row: Job) -> None:
    """Called by the runner inside the job's transaction: on PostgreSQL a
    transaction-level advisory lock per (kind, province), released by the
    job's commit or rollback; a second job of the same kind and province is
    told which one is running (Conflict) instead of colliding with it.  On
    SQLite (one writer anyway) a live running job of the kind is enough."""
    if EXCLUSIVE.get(job_row.kind) != "root":
        return
    import zlib

    from sqlalchemy import text

    others = _running_others(job_row)
    if db.engine.dialect.name != "postgresql":
        alive = [o for o in others if _worker_alive(o.worker)]
        if alive:
            _refuse(alive[0])
        return
    k1 = zlib.crc32(job_row.kind.encode()) & 0x7FFFFFFF
    k2 = int(job_row.root_id) & 0x7FFFFFFF
    got = db.session.execute(text("SELECT pg_try_advisory_xact_lock(:a, :b)"), {"a": k1, "b": k2}).scalar_one()
    if not got:
        _refuse(others[0] if others else None)


def _running_others(job_row: Job) -> list:
    """Running jobs of the same kind in the province, whatever this job's own
    scope covers (a city's computation must see the province's)."""
    from ..tenancy.scope import Scope, _set_db_scope

    t = Job.__table__
    with db.engine.connect() as conn:
        _set_db_scope(conn, Scope.province(job_row.root_id, label="job"))
        rows = conn.execute(select(t.c.id, t.c.started_at, t.c.created_at, t.c.worker).where(
            t.c.kind == job_row.kind, t.c.root_id == job_row.root_id, t.c.status == "running",
            t.c.id != job_row.id).order_by(t.c.started_at)).all()
        conn.rollback()
    return rows


def _worker_alive(worker: str | None) -> bool:
    host, _, pid = (worker or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        return _pid_alive(int(pid))
    return True


def _refuse(other) -> None:
    started = "?"
    if other is not None and (other.started_at or other.created_at):
        from ..core.clock import tz

        started = _aware(other.started_at or other.created_at).astimezone(tz()).strftime("%Y-%m-%d %H:%M:%S")
    raise Conflict(RUNNING_ALREADY % {"started": started})


# -- retrying ----------------------------------------------------------------------


def retry(job_row: Job, user_id: int | None, *, all_roots: bool = False) -> str:
    """A failed job again: a new job with the same kind, parameters and scope
    (its creator, or a platform operator).  Commits and dispatches."""
    from . import queue

    if job_row.status != "failed":
        raise Conflict({"job": [N_("Only a failed task can be retried.")]})
    if not all_roots and job_row.created_by is not None and job_row.created_by != user_id:
        raise Forbidden({"job": [N_("Only the person who started the task can retry it.")]})
    release(job_row)  # idempotent: e.g. an upload still "importing" goes back to "valid"
    scope = queue.scope_of(job_row.root_id, list(job_row.scope_paths or []), user_id)
    new = queue.create_job(job_row.kind, root_id=job_row.root_id, org_id=job_row.org_id, scope=scope,
                           params=dict(job_row.params or {}), created_by=user_id)
    new_id = new.id
    _retried(new)
    db.session.commit()
    queue.dispatch(db.session.get(Job, new_id))
    return new_id


RETRY_HOOKS: dict[str, Callable[[Job], None]] = {}


def on_retry(kind: str):
    """Register ``fn(new_job_row)`` to re-take what the kind's start took
    (e.g. the upload's job id and status)."""
    def deco(fn):
        RETRY_HOOKS[kind] = fn
        return fn
    return deco


def _retried(new: Job) -> None:
    hook = RETRY_HOOKS.get(new.kind)
    if hook is not None:
        hook(new)
