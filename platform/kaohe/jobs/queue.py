"""Running long work.  The same job functions run on an RQ worker when
KAOHE_REDIS_URL is set, in a background thread in the web process otherwise
(the demo needs no Redis), or inline (CLI, tests).  A job always runs under an
explicit scope stored with it, and commits once: a job killed halfway leaves
the previous state whole."""
from __future__ import annotations

import datetime as dt
import logging
import threading
import traceback
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from flask import Flask, current_app
from sqlalchemy import select, update

from ..audit.service import Actor, reset_actor, set_actor
from ..core.db import utcnow
from ..extensions import db
from ..tenancy.scope import Scope, apply_scope, in_scope, scoped
from . import health
from .models import Job

log = logging.getLogger("kaohe.jobs")

JOB_FUNCS: dict[str, Callable[..., dict | None]] = {}
_live_progress: dict[str, tuple[int, int, str | None]] = {}


def job(kind: str):
    """Register a job function ``fn(ctx, **params) -> dict | None``."""
    def deco(fn):
        JOB_FUNCS[kind] = fn
        return fn
    return deco


@dataclass
class JobContext:
    job_id: str
    scope: Scope
    actor: Actor
    separate_progress: bool

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        prev = _live_progress.get(self.job_id, (0, 0, None))
        total = prev[1] if total is None else total
        _live_progress[self.job_id] = (done, total, message or prev[2])
        if self.separate_progress:
            # A separate short transaction, so pages see progress while the
            # job's own transaction is still open.
            with db.engine.begin() as conn:
                from ..tenancy.scope import _set_db_scope

                _set_db_scope(conn, self.scope)
                conn.execute(update(Job.__table__).where(Job.__table__.c.id == self.job_id)
                             .values(progress=done, total=total, message=message or prev[2]))


def init_jobs(app: Flask) -> None:
    if app.config.get("KAOHE_JOBS_MODE") is None:
        app.config["KAOHE_JOBS_MODE"] = "rq" if app.config.get("KAOHE_REDIS_URL") else "thread"
    # The modules that define jobs are imported by the app factory (kaohe.shell.load_jobs).


def queue_name() -> str:
    """The RQ queue (one per deployment; tests use their own)."""
    return current_app.config.get("KAOHE_RQ_QUEUE") or "kaohe"


def create_job(kind: str, *, root_id: int, org_id: int, scope: Scope, params: dict | None = None,
               created_by: int | None = None, mode: str | None = None) -> Job:
    if kind not in JOB_FUNCS:
        raise KeyError(kind)
    if (mode or current_app.config.get("KAOHE_JOBS_MODE")) == "rq":
        # Redis down: 503 "nothing was saved, try again" before anything is
        # saved (the caller's transaction rolls back), never a job row that
        # stays "queued" with nobody to run it.
        health.ensure_queue()
    if scope.is_empty:
        # A job without a scope would see nothing (RLS fails closed); refuse
        # it here, loudly, instead of queueing work that silently does nothing.
        raise ValueError(f"job {kind} needs an explicit scope")
    if scope.all_roots:
        paths = ["*"]
    else:
        paths = list(scope.paths)
    job_row = Job(id=str(uuid.uuid4()), root_id=root_id, org_id=org_id, kind=kind, status="queued",
                  params=params or {}, scope_paths=paths, created_by=created_by)
    db.session.add(job_row)
    db.session.flush()
    return job_row


def dispatch(job_row: Job, mode: str | None = None) -> None:
    """Start a job created (and committed) earlier."""
    mode = mode or current_app.config["KAOHE_JOBS_MODE"]
    args = (job_row.id, job_row.root_id, list(job_row.scope_paths or []))
    if mode == "rq":
        from redis import Redis
        from rq import Queue

        try:
            q = Queue(queue_name(), connection=health.redis_connection())
            q.enqueue("kaohe.shell.worker.rq_entry", *args, job_id=job_row.id, job_timeout=3600)
        except Exception as exc:  # noqa: BLE001 - Redis went away after the row was saved
            log.warning("job %s could not be queued: %s", job_row.id, exc)
            db.session.rollback()
            job_row = db.session.get(Job, args[0])
            health.mark_failed(job_row, health.NOT_STARTED)
            db.session.commit()
            raise health.QueueUnavailable(health.NOT_STARTED)
    elif mode == "thread":
        app = current_app._get_current_object()

        def target():
            with app.app_context():
                run_job(*args)

        threading.Thread(target=target, name=f"kaohe-job-{job_row.id[:8]}", daemon=True).start()
    else:
        run_job(*args)


def submit(kind: str, *, root_id: int, org_id: int, scope: Scope, params: dict | None = None,
           created_by: int | None = None, mode: str | None = None) -> str:
    """Create, commit and start a job; returns its id."""
    job_row = create_job(kind, root_id=root_id, org_id=org_id, scope=scope, params=params, created_by=created_by,
                         mode=mode)
    job_id = job_row.id
    db.session.commit()
    dispatch(db.session.get(Job, job_id), mode)
    return job_id


DEFERRED_KEY = "kaohe_deferred_jobs"


def defer(job_id: str) -> None:
    """Start a job created (flushed) in this transaction once it is committed:
    by the job runner after its commit, or by ``dispatch_deferred()``."""
    db.session.info.setdefault(DEFERRED_KEY, []).append(job_id)


def dispatch_deferred() -> None:
    """Start the jobs deferred in the transaction just committed."""
    for job_id in db.session.info.pop(DEFERRED_KEY, []):
        job_row = db.session.get(Job, job_id)
        if job_row is not None:
            dispatch(job_row)


def scope_of(root_id: int, paths: list[str], user_id: int | None = None) -> Scope:
    if paths == ["*"]:
        return Scope.system(label="job")
    return Scope.for_paths(root_id, paths, user_id=user_id, label="job")


def run_job(job_id: str, root_id: int, paths: list[str]) -> None:
    scope = scope_of(root_id, paths)
    session = db.session
    apply_scope(scope)
    job_row = session.get(Job, job_id)
    # in_scope() too: the identity map may hold the row from before the scope.
    if job_row is None or not in_scope(job_row):
        log.error("job %s not found in scope %s", job_id, scope)
        return
    if job_row.status == "done":
        return
    fn = JOB_FUNCS[job_row.kind]
    params = dict(job_row.params or {})
    user_name = "job"
    if job_row.created_by:
        from ..auth.models import User

        with scoped(Scope(user_id=job_row.created_by)):
            u = session.get(User, job_row.created_by)
            user_name = u.username if u else "job"
    actor = Actor(job_row.created_by, user_name)
    scope = scope_of(root_id, paths, user_id=job_row.created_by)
    apply_scope(scope)
    job_row.status, job_row.started_at, job_row.progress = "running", utcnow(), 0
    job_row.worker, job_row.heartbeat_at = health.worker_id(), health.now()   # the lease
    session.commit()
    lease = health.Lease(job_id, scope).start()
    separate = db.engine.dialect.name != "sqlite"
    ctx = JobContext(job_id=job_id, scope=scope, actor=actor, separate_progress=separate)
    token = set_actor(actor)
    succeeded = False
    try:
        apply_scope(scope)
        health.take_exclusive(session.get(Job, job_id))   # one annual compute per province at a time
        result = fn(ctx, **params) or {}
        job_row = session.get(Job, job_id)
        done, total, msg = _live_progress.get(job_id, (0, 0, None))
        job_row.status, job_row.finished_at, job_row.result = "done", utcnow(), result
        job_row.total = total or done
        job_row.progress = job_row.total
        job_row.message = result.get("message") if isinstance(result, dict) else msg
        session.commit()
        succeeded = True
    except Exception as exc:  # the job's work is rolled back whole
        session.info.pop(DEFERRED_KEY, None)
        session.rollback()
        log.error("job %s (%s) failed: %s", job_id, fn.__name__, traceback.format_exc())
        apply_scope(scope)
        job_row = session.get(Job, job_id)
        job_row.status, job_row.finished_at = "failed", utcnow()
        job_row.message = _public_message(exc)
        health.release(job_row)   # e.g. an upload "importing" goes back to "valid"
        session.commit()
    finally:
        lease.stop()
        reset_actor(token)
        _live_progress.pop(job_id, None)
    if succeeded:
        dispatch_deferred()


def _public_message(exc: Exception) -> str:
    from ..core.errors import KaoheError

    if isinstance(exc, KaoheError):
        return exc.message + (f" {exc.errors}" if exc.errors else "")
    return f"The job failed ({type(exc).__name__}); nothing was changed."


def live_progress(job_id: str):
    return _live_progress.get(job_id)
