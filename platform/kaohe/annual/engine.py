"""The set-based annual computation of one unit or a whole subtree.

Inputs are read per chunk of units (``loader``: a bounded number of queries
per chunk, whatever the headcount), each unit is computed with the pure
functions of ``calc`` (``batch``), and the results are written in bulk (COPY
on PostgreSQL, executemany elsewhere) as a **new run**; each assessment's
``current_run_id`` then moves to its new run in the same transaction.  A run
killed halfway therefore leaves every previous result visible and whole, and
re-running with the same inputs writes the same rows (same digest)."""
from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Callable, Sequence

from sqlalchemy import bindparam, delete, func, insert, select, update

from ..web.messages import N_, register_templates

from ..core.bulk import IN_BATCH, bulk_write, chunks, in_ids
from ..core.calendar import WorkCalendar
from ..core.db import allocate_ids, utcnow
from ..core.errors import Invalid
from ..extensions import db
from ..routine.feed import counting_periods
from ..tenancy.models import OrgNode
from .batch import RESULT_COLUMNS, compute_units
from .calc.leave import year_workdays
from .loader import load_chunk, load_specials
from .models import AnnualAssessment, AnnualResult, AnnualRun
from .policy import org_grades_for, policies_for
from .talks import raise_talks

# Tests set this to a callable(chunk_index) to inject a failure between chunks.
AFTER_CHUNK: Callable[[int], None] | None = None
LOCKED_STATUSES = ("confirmed", "publicised", "notified", "filed")


# a unit already confirmed is not recomputed (pages translate it, unit codes as they are)
M_LOCKED = N_("The result of %(units)s is already confirmed; reopen it before computing again.")
register_templates(M_LOCKED)

def units_under(node: OrgNode) -> list[OrgNode]:
    """Assessment units in the subtree of ``node`` (itself included)."""
    stmt = (select(OrgNode).where(OrgNode.root_id == node.root_id, OrgNode.path.like(node.path + "%"),
                                  OrgNode.is_assessment_unit.is_(True)).order_by(OrgNode.id))
    return list(db.session.execute(stmt).scalars())


def ensure_assessments(units: Sequence[OrgNode], year: int) -> dict[int, AnnualAssessment]:
    if not units:
        return {}
    root_id = units[0].root_id
    ids = [u.id for u in units]
    pg = db.session.connection().dialect.name == "postgresql"
    have: dict[int, AnnualAssessment] = {}
    for part in chunks(ids, IN_BATCH[pg]):
        for a in db.session.execute(select(AnnualAssessment).where(
                AnnualAssessment.root_id == root_id, AnnualAssessment.year == year,
                in_ids(AnnualAssessment.org_id, part, pg))).scalars():
            have[a.org_id] = a
    missing = [u for u in units if u.id not in have]
    if missing:
        db.session.execute(insert(AnnualAssessment), [
            {"root_id": u.root_id, "org_id": u.id, "year": year, "status": "open", "major_contribution": False,
             "version": 1, "created_at": utcnow()} for u in missing])
        for part in chunks([u.id for u in missing], IN_BATCH[pg]):
            for a in db.session.execute(select(AnnualAssessment).where(
                    AnnualAssessment.root_id == root_id, AnnualAssessment.year == year,
                    in_ids(AnnualAssessment.org_id, part, pg))).scalars():
                have[a.org_id] = a
    return have


# -- the computation -------------------------------------------------------------

_batch_lock = threading.Lock()
_batch_depth = 0
_batch_saved: tuple[bool, float] = (True, 0.005)
# The GIL switch interval while a computation runs (Python's default is 5 ms).
SWITCH_INTERVAL = 0.001


@contextmanager
def _batch_mode():
    """Interpreter settings for the duration of a computation, put back by
    the last concurrent one to finish (they are process-wide):

    * the cyclic garbage collector off: the computation allocates millions
      of small containers and frees them by reference counting (it makes no
      cycles); the collector's passes over a heap of that size cost a third
      of the time for nothing;
    * a shorter GIL switch interval: the reader and writer threads wait on
      PostgreSQL many times per chunk, and each time they want the GIL back
      they would otherwise wait up to 5 ms behind the computing thread.

    Only on the process's main thread (the CLI, an RQ work horse, which is a
    process of its own per job): a computation started on any other thread
    shares its process with whatever else runs there (the request threads of
    a gunicorn worker, other jobs in ``thread`` mode) and must not switch
    their collector off or change their scheduling, so there it runs with
    the interpreter as it finds it (slower, same results)."""
    global _batch_depth, _batch_saved
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with _batch_lock:
        if _batch_depth == 0:
            _batch_saved = (gc.isenabled(), sys.getswitchinterval())
            gc.disable()
            sys.setswitchinterval(min(SWITCH_INTERVAL, _batch_saved[1]))
        _batch_depth += 1
    try:
        yield
    finally:
        with _batch_lock:
            _batch_depth -= 1
            if _batch_depth == 0:
                sys.setswitchinterval(_batch_saved[1])
                if _batch_saved[0]:
                    gc.enable()


def compute(units: Sequence[OrgNode], year: int, *, progress: Callable | None = None, chunk_units: int = 400,
            actor: str | None = None, job_id: str | None = None, skip_locked: bool = True, pipelined: bool = False,
            policy_of: Callable[[Sequence[OrgNode]], dict[int, dict]] | None = None) -> dict:
    """Compute the annual results of ``units`` for ``year`` (flush, no commit)."""
    with _batch_mode():
        return _compute(units, year, progress=progress, chunk_units=chunk_units, actor=actor, job_id=job_id,
                        skip_locked=skip_locked, pipelined=pipelined, policy_of=policy_of)


class _UnitRef:
    """What the policy look-ups read of a unit, as plain data (another
    thread's session may use it)."""

    __slots__ = ("id", "root_id", "path")

    def __init__(self, node: OrgNode):
        self.id, self.root_id, self.path = node.id, node.root_id, node.path

    @property
    def path_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/")] if self.path else []


def _prepare_chunk(session, root_id: int, refs: Sequence, assessed: dict[int, tuple], year: int,
                   pols: dict[int, dict] | None) -> list[tuple]:
    """Per unit of a chunk: (unit_id, assessment_id, run_id, seq, policy,
    org_grade, major_contribution, approved_rate, allocated); a bounded
    number of queries (policies, the policy slice's grades, run ids, run
    sequence numbers)."""
    if pols is None:
        pols = policies_for(refs, year)
    org_grades = org_grades_for(refs, year)
    run_ids = allocate_ids(session, "annual_run", len(refs))   # runs first: ids known before the results
    R = AnnualRun.__table__
    conn = session.connection()
    seqs = dict(conn.execute(select(R.c.assessment_id, func.max(R.c.seq)).where(
        R.c.root_id == root_id, in_ids(R.c.assessment_id, [assessed[u.id][0] for u in refs],
                                        conn.dialect.name == "postgresql")).group_by(R.c.assessment_id)).all())
    out = []
    for u, run_id in zip(refs, run_ids):
        a_id, grade, major = assessed[u.id]
        og = org_grades.get(u.id, {})
        if "grade" in og:                  # the supervisor's grade (policy slice) wins
            grade, major = og["grade"], og.get("major", False)
        out.append((u.id, a_id, run_id, int(seqs.get(a_id) or 0) + 1, pols[u.id], grade, major,
                    og.get("approved_rate"), og.get("allocated")))
    return out


def _prepare_in_thread(app, scope, root_id, chunk_refs, assessed, year, futures, stop) -> None:
    """``_prepare_chunk`` for every chunk in order, in its own app context and
    session (another connection), publishing each chunk's result in
    ``futures`` as soon as it is known."""
    with app.app_context():
        from ..tenancy.scope import apply_scope

        ci = 0
        try:
            apply_scope(scope)
            for ci, refs in enumerate(chunk_refs):
                if stop.is_set():
                    break
                futures[ci].set_result(_prepare_chunk(db.session, root_id, refs, assessed, year, None))
        except BaseException as exc:  # noqa: BLE001 (handed to the computing thread)
            for f in futures[ci:]:
                if not f.done():
                    f.set_exception(exc)
        finally:
            for f in futures:
                if not f.done():
                    f.cancel()
            db.session.rollback()
            db.session.remove()


def _compute(units, year, *, progress, chunk_units, actor, job_id, skip_locked, pipelined, policy_of) -> dict:
    units = list(units)
    if not units:
        return {"units": 0, "people": 0, "skipped": [], "runs": {}}
    root_id = units[0].root_id
    assessments = ensure_assessments(units, year)
    skipped = [u.code for u in units if assessments[u.id].status in LOCKED_STATUSES]
    if skipped and not skip_locked:
        raise Invalid({"status": [M_LOCKED % {"units": ", ".join(skipped)}]})
    todo = [u for u in units if assessments[u.id].status not in LOCKED_STATUSES]
    conn = db.session.connection()
    pg = conn.dialect.name == "postgresql"
    assessed = {u.id: (assessments[u.id].id, assessments[u.id].org_grade, assessments[u.id].major_contribution)
                for u in todo}
    refs = [_UnitRef(u) for u in todo]
    runs_by_code = {u.code: None for u in todo[:200]}
    code_of = {u.id: u.code for u in todo[:200]}
    del assessments
    # The chunks.  (Not a smaller first one to start writing sooner: the
    # plan PostgreSQL caches for the annual_run foreign-key check of the
    # results is made at the first write, and on a fresh table a small first
    # batch of runs gets a plan that scans every run of the transaction.)
    chunk_refs = [refs[a:a + chunk_units] for a in range(0, len(refs), chunk_units)]
    # On PostgreSQL the work is pipelined: while this thread computes a chunk,
    # a reader thread loads the coming ones on a second (read-only)
    # connection, a writer thread COPYs the previous one on the job's own
    # connection, and a third thread resolves the coming chunks' policies,
    # grades and run ids on a connection of its own (so the first chunk does
    # not wait for the policies of the whole province).  Every write still
    # goes through the one transaction, so atomicity holds.  Only when every
    # input is committed (the other connections work outside this
    # transaction): jobs and the bench; a caller with its own uncommitted
    # inputs (the demo builder) computes sequentially.
    threaded = pipelined and pg and len(chunk_refs) > 1
    reader_conn = loader = writer = preparer = None
    loads: deque = deque()
    stop = threading.Event()

    shared: list = []

    def load(ci):
        c = reader_conn if threaded else conn
        if not shared:      # read once: the year's periods, and with many chunks the special results
            shared.extend((counting_periods(c, root_id, year),
                           load_specials(c, root_id, year) if len(chunk_refs) > 1 else None))
        part = chunk_refs[ci]
        return load_chunk(c, root_id, [u.id for u in part], [assessed[u.id][0] for u in part], year, *shared)

    pols = None if policy_of is None else policy_of(todo)
    # The year's national working days for leave ranges, read here before any
    # thread shares the job's connection (a province's own holiday list is a query).
    base_workdays = year_workdays(year, WorkCalendar().is_workday)
    try:
        if threaded:
            from concurrent.futures import Future, ThreadPoolExecutor

            from flask import current_app

            from ..tenancy.scope import _set_db_scope, current_scope

            reader_conn = db.engine.connect()
            reader_conn.begin()
            _set_db_scope(reader_conn, current_scope())
            loader, writer = ThreadPoolExecutor(1), ThreadPoolExecutor(1)
            for ci in range(min(PREFETCH, len(chunk_refs))):
                loads.append(loader.submit(load, ci))
            if pols is None:
                prepared = [Future() for _ in chunk_refs]
                preparer = threading.Thread(
                    target=_prepare_in_thread, name="annual-prepare", daemon=True,
                    args=(current_app._get_current_object(), current_scope(), root_id, chunk_refs, assessed, year,
                          prepared, stop))
                preparer.start()
                prepare = (lambda ci: prepared[ci].result())
            else:       # a caller's policies: all on this connection before the writer starts using it
                infos = [_prepare_chunk(db.session, root_id, part, assessed, year, pols) for part in chunk_refs]
                prepare = infos.__getitem__
        else:
            def prepare(ci):
                return _prepare_chunk(db.session, root_id, chunk_refs[ci], assessed, year, pols)
        out = _computechunks(conn, root_id, year, len(chunk_refs), prepare, load, loads, loader, writer, threaded,
                              pg, progress=progress, actor=actor, job_id=job_id, n_units=len(todo),
                              base_workdays=base_workdays)
    finally:
        stop.set()
        for f in loads:
            f.cancel()
        if loader is not None:
            loader.shutdown(wait=True)
            writer.shutdown(wait=True)     # never leave a COPY running on the job's connection
        if reader_conn is not None:
            reader_conn.rollback()
            reader_conn.close()
        if preparer is not None:
            preparer.join()
    for uid, rid in out["run_of"]:
        if uid in code_of:
            runs_by_code[code_of[uid]] = rid
    return {"units": out["units"], "people": out["people"], "skipped": skipped,
            "calc_seconds": out["calc_seconds"], "runs": runs_by_code}


# Chunks the reader loads ahead of the one being computed.
PREFETCH = 2


def _computechunks(conn, root_id, year, n_chunks, prepare, load, loads, loader, writer, threaded, pg, *, progress,
                    actor, job_id, n_units, base_workdays=None) -> dict:
    R = AnnualRun.__table__
    A = AnnualAssessment.__table__
    total_people = 0
    pending = None
    talk_rows: list[tuple] = []
    a_ids: list[int] = []
    t_calc = 0.0
    done = 0

    # root_id in the WHERE: on Citus that routes each update to the province's shard, not to all of them.
    update_stmt = update(A).where(A.c.id == bindparam("a_id"), A.c.root_id == root_id).values(
        current_run_id=bindparam("run"), quota=bindparam("quota"), policy=bindparam("policy"),
        org_grade=bindparam("grade"), major_contribution=bindparam("major"), status="computed",
        version=A.c.version + 1)

    def write(runs, rows, lines, updates):
        conn.execute(insert(R), runs)          # runs before their results (foreign key)
        bulk_write(conn, AnnualResult.__table__, RESULT_COLUMNS, rows=rows, lines=lines)
        # The pointers move in the same transaction as the rows.
        conn.execute(update_stmt, updates)

    def finish(ci, part, outs):
        nonlocal total_people, done, pending
        runs, updates, lines, rows = [], [], [], []
        now = utcnow()
        for (uid, aid, rid, seq, pol, grade, major, _appr, _alloc), (_u, n, digest, quota, payload, talks) \
                in zip(part, outs):
            runs.append({"id": rid, "root_id": root_id, "org_id": uid, "assessment_id": aid, "seq": seq,
                         "people": n, "quota": quota, "digest": digest, "job_id": job_id, "created_by": actor,
                         "created_at": now})
            updates.append({"a_id": aid, "run": rid, "quota": quota, "policy": _policy_extract(pol),
                            "grade": grade, "major": bool(major)})
            if pg:
                if payload:
                    lines.append(payload)
            else:
                rows.extend(payload)
            talk_rows.extend((uid, pid, sup, kind) for pid, sup, kind in talks)
            a_ids.append(aid)
            total_people += n
        if threaded:
            if pending is not None:
                pending.result()
            pending = writer.submit(write, runs, rows, lines, updates)
        else:
            write(runs, rows, lines if pg else None, updates)
        done += len(part)
        if progress:
            progress(done, n_units, f"{done}/{n_units} units")
        if AFTER_CHUNK is not None:
            AFTER_CHUNK(ci)
        pause = os.environ.get("KAOHE_ANNUAL_PAUSE_AFTER_CHUNK")
        if pause:
            time.sleep(float(pause))

    run_of: list[tuple[int, int]] = []
    try:
        for ci in range(n_chunks):
            part = prepare(ci)
            if len(run_of) < 200:
                run_of.extend((x[0], x[2]) for x in part[:200 - len(run_of)])
            if threaded:
                data = loads.popleft().result()
                if ci + PREFETCH < n_chunks:
                    loads.append(loader.submit(load, ci + PREFETCH))
            else:
                data = load(ci)
            specs = [(uid, rid, pol, grade, major, appr, alloc)
                     for uid, _aid, rid, _seq, pol, grade, major, appr, alloc in part]
            t0 = time.perf_counter()
            outs = compute_units(specs, data, year, root_id, pg, base_workdays)
            t_calc += time.perf_counter() - t0
            del data
            finish(ci, part, outs)
            del outs
        if pending is not None:
            pending.result()
    finally:
        if pending is not None and not pending.done():
            try:
                pending.result()           # never leave a COPY running on the job's connection
            except Exception:  # noqa: BLE001 (the error that got us here is the one to report)
                pass
    _prune_runs(conn, root_id, a_ids)
    raise_talks(conn, root_id, year, talk_rows)
    db.session.expire_all()
    return {"units": n_units, "people": total_people, "calc_seconds": round(t_calc, 3), "run_of": run_of}


def _policy_extract(pol: dict) -> dict:
    keys = ("annual.", "quota.", "eligibility.", "pay.", "appeal.", "calendar.")
    return {k: v for k, v in pol.items() if k.startswith(keys)}


def _prune_runs(conn, root_id: int, assessment_ids: list[int]) -> None:
    """Keep the current and the previous run of each assessment."""
    R, X = AnnualRun.__table__, AnnualResult.__table__
    pg = conn.dialect.name == "postgresql"
    for part in chunks(assessment_ids, IN_BATCH[pg]):
        ranked = (select(R.c.id, func.row_number().over(partition_by=R.c.assessment_id, order_by=R.c.seq.desc())
                         .label("rn")).where(R.c.root_id == root_id, in_ids(R.c.assessment_id, part, pg)).subquery())
        old = [r for (r,) in conn.execute(select(ranked.c.id).where(ranked.c.rn > 2))]
        for ids in chunks(old, IN_BATCH[pg]):
            conn.execute(delete(X).where(X.c.root_id == root_id, in_ids(X.c.run_id, ids, pg)))
            conn.execute(delete(R).where(R.c.root_id == root_id, in_ids(R.c.id, ids, pg)))

