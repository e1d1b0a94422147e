"""The set-based annual computation of one unit or a whole subtree.

Inputs are read per chunk of units (a bounded number of queries per chunk,
whatever the headcount), each unit is computed with the pure functions of
``calc``, and the results are written in bulk (COPY on PostgreSQL,
executemany elsewhere) as a **new run**; each assessment's
``current_run_id`` then moves to its new run in the same transaction.  A run
killed halfway therefore leaves every previous result visible and whole, and
re-running with the same inputs writes the same rows (same digest)."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import time
from collections import defaultdict
from typing import Callable, Iterable, Sequence

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update

from ..core.clock import local_today
from ..core.db import allocate_ids, utcnow
from ..core.errors import Invalid
from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from . import calc
from .models import (AnnualAssessment, AnnualRecord, AnnualResult, AnnualReview, AnnualRun, AnnualTalk,
                     RoutineImport, SpecialCampaign, SpecialResult)
from .policy import org_grades_for, policies_for

try:  # orjson: 5-10x faster JSON for the explanation column of a million rows
    import orjson

    def _dumps(v) -> str:
        return orjson.dumps(v).decode()
except ImportError:  # pragma: no cover
    def _dumps(v) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))

# Tests set this to a callable(chunk_index) to inject a failure between chunks.
AFTER_CHUNK: Callable[[int], None] | None = None
LOCKED_STATUSES = ("confirmed", "publicised", "notified", "filed")
RESULT_COLUMNS = ("root_id", "org_id", "run_id", "person_id", "rank_group", "score", "grade", "code",
                  "eligible_youxiu", "rank", "flags", "talks", "explain")


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
    have: dict[int, AnnualAssessment] = {}
    for part in _chunks(ids, 900):
        for a in db.session.execute(select(AnnualAssessment).where(
                AnnualAssessment.root_id == root_id, AnnualAssessment.year == year,
                AnnualAssessment.org_id.in_(part))).scalars():
            have[a.org_id] = a
    missing = [u for u in units if u.id not in have]
    if missing:
        db.session.execute(insert(AnnualAssessment), [
            {"root_id": u.root_id, "org_id": u.id, "year": year, "status": "open", "major_contribution": False,
             "version": 1, "created_at": utcnow()} for u in missing])
        for part in _chunks([u.id for u in missing], 900):
            for a in db.session.execute(select(AnnualAssessment).where(
                    AnnualAssessment.root_id == root_id, AnnualAssessment.year == year,
                    AnnualAssessment.org_id.in_(part))).scalars():
                have[a.org_id] = a
    return have


def _chunks(seq: Sequence, n: int):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


# -- reading inputs ------------------------------------------------------------

def _load_chunk(conn, root_id: int, unit_ids: list[int], assessment_ids: list[int], year: int) -> dict:
    """All inputs of a chunk of units, grouped by unit then person."""
    P = Person.__table__
    people = conn.execute(
        select(P.c.id, P.c.unit_id, P.c.rank_group, P.c.hire_date, P.c.probation_end, P.c.supervisor_id)
        .where(P.c.root_id == root_id, P.c.unit_id.in_(unit_ids), P.c.active.is_(True))
        .order_by(P.c.unit_id, P.c.id)).all()
    routine: dict[int, dict[int, tuple]] = defaultdict(dict)
    RI = RoutineImport.__table__
    for pid, seq, score, grade in conn.execute(
            select(RI.c.person_id, RI.c.period_no, RI.c.score, RI.c.grade)
            .where(RI.c.root_id == root_id, RI.c.year == year, RI.c.org_id.in_(unit_ids))).all():
        routine[pid][seq] = (score, grade)
    rr = db.metadata.tables.get("routine_result")
    rp = db.metadata.tables.get("routine_period")
    if rr is not None and rp is not None:
        stmt = (select(rr.c.person_id, rp.c.seq, rr.c.score, rr.c.grade)
                .join(rp, and_(rp.c.id == rr.c.period_id, rp.c.root_id == rr.c.root_id))
                .where(rp.c.root_id == root_id, rp.c.year == year, rp.c.org_id.in_(unit_ids),
                       rp.c.state.in_(("publicised", "final")), rr.c.score.is_not(None)))
        for pid, seq, score, grade in conn.execute(stmt).all():
            routine[pid][seq] = (score, grade)   # the routine module wins over an import
    RV = AnnualReview.__table__
    reviews = {r.person_id: r for r in conn.execute(
        select(RV.c.person_id, RV.c.leader_score, RV.c.votes_youxiu, RV.c.votes_chenzhi, RV.c.votes_jibenchenzhi,
               RV.c.votes_buchenzhi).where(RV.c.root_id == root_id, RV.c.assessment_id.in_(assessment_ids))).all()}
    SR, SC = SpecialResult.__table__, SpecialCampaign.__table__
    specials: dict[int, list[tuple]] = defaultdict(list)
    for pid, rtype, grade, points, score in conn.execute(
            select(SR.c.person_id, SC.c.result_type, SR.c.grade, SR.c.points, SR.c.score)
            .join(SC, and_(SC.c.id == SR.c.campaign_id, SC.c.root_id == SR.c.root_id))
            .join(P, and_(P.c.id == SR.c.person_id, P.c.root_id == SR.c.root_id))
            .where(SR.c.root_id == root_id, SR.c.year == year, P.c.unit_id.in_(unit_ids))
            .order_by(SR.c.person_id, SR.c.campaign_id)).all():
        specials[pid].append((rtype, grade, points, score))
    R = AnnualRecord.__table__
    records: dict[int, list[tuple]] = defaultdict(list)
    for row in conn.execute(
            select(R.c.person_id, R.c.kind, R.c.year, R.c.sanction_kind, R.c.start_date, R.c.end_date, R.c.days)
            .where(R.c.root_id == root_id, R.c.org_id.in_(unit_ids), R.c.year.in_((year - 1, year)))
            .order_by(R.c.person_id, R.c.id)).all():
        records[row.person_id].append(row)
    return {"people": people, "routine": routine, "reviews": reviews, "specials": specials, "records": records}


def person_input(row, data: dict, year: int) -> calc.PersonInput:
    pid = row.id
    routine = [data["routine"][pid][k] for k in sorted(data["routine"].get(pid, {}))]
    rv = data["reviews"].get(pid)
    votes = None
    leader = None
    if rv is not None:
        leader = rv.leader_score
        votes = {"youxiu": rv.votes_youxiu, "chenzhi": rv.votes_chenzhi,
                 "jibenchenzhi": rv.votes_jibenchenzhi, "buchenzhi": rv.votes_buchenzhi}
        if not any(votes.values()):
            votes = None
    pts, scores = [], []
    for rtype, grade, points, score in data["specials"].get(pid, ()):
        if points is not None:
            pts.append(float(points))
        elif rtype == "grade" and grade in calc.SPECIAL_GRADE_POINTS:
            pts.append(calc.SPECIAL_GRADE_POINTS[grade])
        if score is not None:
            scores.append(float(score))
        elif rtype == "grade" and grade:
            scores.append({"hao": 95.0, "jiaohao": 85.0, "yiban": 70.0, "jiaocha": 50.0}.get(grade, 70.0))
    leave = 0
    inv_open = inv_retro = refused = False
    sanctions = []
    year_end = dt.date(year, 12, 31)
    for rec in data["records"].get(pid, ()):
        if rec.kind == "leave" and rec.year == year:
            leave += int(rec.days or 0)
        elif rec.kind == "investigation" and rec.year == year:
            if rec.end_date is None:
                inv_open = True
            elif rec.end_date > year_end:
                inv_retro = True
        elif rec.kind == "sanction" and rec.sanction_kind:
            sanctions.append(calc.Sanction(rec.sanction_kind, rec.year))
        elif rec.kind == "refusal" and rec.year == year:
            refused = True
    return calc.PersonInput(
        person_id=pid, rank_group=row.rank_group or "staff", routine=routine, leader_score=leader, democratic=votes,
        special_points=pts, special_scores=scores, probation_end=row.probation_end, hire_date=row.hire_date,
        leave_days=leave, investigation_open=inv_open, investigation_closed_retro=inv_retro and not inv_open,
        sanctions=sanctions, refused=refused)


# -- writing -------------------------------------------------------------------

def _copy_value(v) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, (dict, list)):
        v = json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    s = str(v)
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_json(v) -> str:
    return _dumps(v).replace("\\", "\\\\")


def bulk_write(conn, table, columns: Sequence[str], rows: list[tuple] | None = None,
               lines: list[str] | None = None) -> None:
    """Insert many rows: COPY on PostgreSQL (``lines`` in COPY text format,
    through a temporary table so the row-level security checks of the target
    still apply), executemany elsewhere (``rows``)."""
    if conn.dialect.name == "postgresql":
        if lines is None:
            lines = ["\t".join(_copy_value(v) for v in r) + "\n" for r in rows or []]
        if not lines:
            return
        raw = conn.connection.driver_connection
        cols = ", ".join(columns)
        tmp = f"tmp_{table.name}"
        with raw.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {tmp} (LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DROP")
            cur.execute(f"TRUNCATE {tmp}")
            with cur.copy(f"COPY {tmp} ({cols}) FROM STDIN") as cp:
                for i in range(0, len(lines), 5000):
                    cp.write("".join(lines[i:i + 5000]))
            cur.execute(f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {tmp}")
        return
    if rows:
        conn.execute(insert(table), [dict(zip(columns, r)) for r in rows])


def _num(v) -> str:
    return "\\N" if v is None else repr(v) if isinstance(v, float) else str(v)


def result_body(r) -> str:
    """One result row in COPY text format, without root/org/run (the part
    that must be equal between two runs over the same inputs)."""
    return "\t".join((str(r.person_id), r.rank_group, _num(r.score), r.grade or "\\N", r.code,
                      "t" if r.eligible_youxiu else "f", _num(r.rank), _copy_json(r.flags), _copy_json(r.talks),
                      _copy_json({"components": r.components, "rules": r.rules})))


def digest_bodies(bodies: Iterable[str]) -> str:
    h = hashlib.sha256()
    for b in bodies:
        h.update(b.encode())
        h.update(b"\n")
    return h.hexdigest()


# -- the computation -------------------------------------------------------------

def compute(units: Sequence[OrgNode], year: int, *, progress: Callable | None = None, chunk_units: int = 400,
            actor: str | None = None, job_id: str | None = None, skip_locked: bool = True, pipelined: bool = False,
            policy_of: Callable[[Sequence[OrgNode]], dict[int, dict]] | None = None) -> dict:
    """Compute the annual results of ``units`` for ``year`` (flush, no commit)."""
    units = list(units)
    if not units:
        return {"units": 0, "people": 0, "skipped": [], "runs": {}}
    root_id = units[0].root_id
    assessments = ensure_assessments(units, year)
    skipped = [u.code for u in units if assessments[u.id].status in LOCKED_STATUSES]
    if skipped and not skip_locked:
        raise Invalid({"status": [f"The result of {', '.join(skipped)} is already confirmed; "
                                  "reopen it before computing again."]})
    todo = [u for u in units if assessments[u.id].status not in LOCKED_STATUSES]
    conn = db.session.connection()
    pg = conn.dialect.name == "postgresql"
    pols = (policy_of or (lambda nodes: policies_for(nodes, year)))(todo)
    org_grades = org_grades_for(todo, year)
    # Runs first (ids known before the results are written).
    run_ids = allocate_ids(db.session, "annual_run", len(todo))
    R = AnnualRun.__table__
    seqs: dict[int, int] = {}
    for part in _chunks([assessments[u.id].id for u in todo], 900):
        seqs.update(conn.execute(select(R.c.assessment_id, func.max(R.c.seq)).where(
            R.c.root_id == root_id, R.c.assessment_id.in_(part)).group_by(R.c.assessment_id)).all())
    run_of = {u.id: rid for u, rid in zip(todo, run_ids)}
    total_people = 0
    run_rows, assess_updates, talk_rows = [], [], []
    t_calc = 0.0
    done = 0
    chunks = list(_chunks(todo, chunk_units))
    # On PostgreSQL the work is pipelined: a reader thread loads the next
    # chunk on a second (read-only) connection and a writer thread COPYs the
    # previous chunk on the job's own connection, while this thread computes.
    # Every write still goes through the one transaction, so atomicity holds.
    # Only when every input is committed (the reader works outside this
    # transaction): jobs and the bench; a caller with its own uncommitted
    # inputs (the demo builder) computes sequentially.
    threaded = pipelined and pg and len(chunks) > 1
    reader_conn = loader = writer = None
    if threaded:
        from concurrent.futures import ThreadPoolExecutor

        from ..tenancy.scope import _set_db_scope, current_scope

        reader_conn = db.engine.connect()
        reader_conn.begin()
        _set_db_scope(reader_conn, current_scope())
        loader, writer = ThreadPoolExecutor(1), ThreadPoolExecutor(1)

    def load(part):
        unit_ids = [u.id for u in part]
        return _load_chunk(reader_conn if threaded else conn, root_id, unit_ids,
                           [assessments[u].id for u in unit_ids], year)

    def write(runs, rows, lines):
        conn.execute(insert(R), runs)          # runs before their results (foreign key)
        bulk_write(conn, AnnualResult.__table__, RESULT_COLUMNS, rows=rows, lines=lines)

    next_data = loader.submit(load, chunks[0]) if threaded else None
    pending = None
    try:
        for ci, part in enumerate(chunks):
            if threaded:
                data = next_data.result()
                if ci + 1 < len(chunks):
                    next_data = loader.submit(load, chunks[ci + 1])
            else:
                data = load(part)
            t0 = time.perf_counter()
            by_unit: dict[int, list] = defaultdict(list)
            for row in data["people"]:
                by_unit[row.unit_id].append(row)
            result_rows: list[tuple] = []
            result_lines: list[str] = []
            for u in part:
                a = assessments[u.id]
                pol = pols[u.id]
                og = org_grades.get(u.id, {})
                grade, major = a.org_grade, a.major_contribution
                if "grade" in og:                  # the supervisor's grade (policy slice) wins
                    grade, major = og["grade"], og.get("major", False)
                rows_u = by_unit.get(u.id, [])
                inputs = [person_input(r, data, year) for r in rows_u]
                outcome = calc.compute_unit(inputs, pol, year, org_grade=grade, major_contribution=major,
                                            approved_rate=og.get("approved_rate"), allocated=og.get("allocated"))
                rid = run_of[u.id]
                bodies = [result_body(r) for r in outcome.results]
                if pg:
                    prefix = f"{root_id}\t{u.id}\t{rid}\t"
                    result_lines.extend(prefix + b + "\n" for b in bodies)
                else:
                    result_rows.extend((root_id, u.id, rid, r.person_id, r.rank_group, r.score, r.grade, r.code,
                                        r.eligible_youxiu, r.rank, r.flags, r.talks,
                                        {"components": r.components, "rules": r.rules}) for r in outcome.results)
                sup = {r.id: r.supervisor_id for r in rows_u}
                for r in outcome.results:
                    for kind in r.talks:
                        talk_rows.append((u.id, r.person_id, sup.get(r.person_id), kind))
                run_rows.append({"id": rid, "root_id": root_id, "org_id": u.id, "assessment_id": a.id,
                                 "seq": int(seqs.get(a.id) or 0) + 1, "people": len(bodies), "quota": outcome.quota,
                                 "digest": digest_bodies(bodies), "job_id": job_id, "created_by": actor,
                                 "created_at": utcnow()})
                assess_updates.append({"a_id": a.id, "run": rid, "quota": outcome.quota,
                                       "policy": _policy_extract(pol), "grade": grade, "major": bool(major)})
                total_people += len(bodies)
            t_calc += time.perf_counter() - t0
            runs = run_rows[-len(part):]
            if threaded:
                if pending is not None:
                    pending.result()
                pending = writer.submit(write, runs, result_rows, result_lines)
            else:
                write(runs, result_rows, result_lines if pg else None)
            done += len(part)
            if progress:
                progress(done, len(todo), f"{done}/{len(todo)} units")
            if AFTER_CHUNK is not None:
                AFTER_CHUNK(ci)
            pause = os.environ.get("KAOHE_ANNUAL_PAUSE_AFTER_CHUNK")
            if pause:
                time.sleep(float(pause))
        if pending is not None:
            pending.result()
    finally:
        if threaded:
            loader.shutdown(wait=True)
            writer.shutdown(wait=True)     # never leave a COPY running on the job's connection
            reader_conn.rollback()
            reader_conn.close()
    # Switch the pointers (same transaction as the rows).
    A = AnnualAssessment.__table__
    if assess_updates:
        conn.execute(update(A).where(A.c.id == bindparam("a_id")).values(
            current_run_id=bindparam("run"), quota=bindparam("quota"), policy=bindparam("policy"),
            org_grade=bindparam("grade"), major_contribution=bindparam("major"), status="computed",
            version=A.c.version + 1), assess_updates)
    _prune_runs(conn, root_id, [u["a_id"] for u in assess_updates])
    _raise_talks(conn, root_id, year, talk_rows)
    db.session.expire_all()
    return {"units": len(todo), "people": total_people, "skipped": skipped, "calc_seconds": round(t_calc, 3),
            "runs": {u.code: run_of[u.id] for u in todo[:200]}}


def _policy_extract(pol: dict) -> dict:
    keys = ("annual.", "quota.", "eligibility.", "pay.", "appeal.", "calendar.")
    return {k: v for k, v in pol.items() if k.startswith(keys)}


def _prune_runs(conn, root_id: int, assessment_ids: list[int]) -> None:
    """Keep the current and the previous run of each assessment."""
    R, X = AnnualRun.__table__, AnnualResult.__table__
    for part in _chunks(assessment_ids, 900):
        ranked = (select(R.c.id, func.row_number().over(partition_by=R.c.assessment_id, order_by=R.c.seq.desc())
                         .label("rn")).where(R.c.root_id == root_id, R.c.assessment_id.in_(part)).subquery())
        old = [r for (r,) in conn.execute(select(ranked.c.id).where(ranked.c.rn > 2))]
        for ids in _chunks(old, 900):
            conn.execute(delete(X).where(X.c.root_id == root_id, X.c.run_id.in_(ids)))
            conn.execute(delete(R).where(R.c.root_id == root_id, R.c.id.in_(ids)))


def _raise_talks(conn, root_id: int, year: int, talk_rows: list[tuple]) -> None:
    """Talk tasks the rules demand, for the person's supervising leader; an
    existing task (open or recorded) is left as it is."""
    if not talk_rows:
        return
    T = AnnualTalk.__table__
    persons = sorted({r[1] for r in talk_rows})
    have = set()
    for part in _chunks(persons, 900):
        have.update(conn.execute(select(T.c.person_id, T.c.kind).where(
            T.c.root_id == root_id, T.c.year == year, T.c.person_id.in_(part))).all())
    reasons = {"criticism": "A routine score at or below the low-score line",
               "reminder": "Consecutive routine scores at or below the low-score line"}
    due = local_today() + dt.timedelta(days=15)
    new = [{"root_id": root_id, "org_id": unit, "year": year, "person_id": pid, "leader_person_id": leader,
            "kind": kind, "reason": reasons[kind], "due_on": due, "version": 1, "created_at": utcnow()}
           for unit, pid, leader, kind in talk_rows if (pid, kind) not in have]
    if new:
        conn.execute(insert(T), new)
        _raise_tasks(conn, root_id, year, {(r["person_id"], r["kind"]) for r in new})


TALK_TITLES = {"criticism": "批评教育谈话 (criticism talk)", "reminder": "提醒谈话/诫勉 (reminder talk)"}


def _raise_tasks(conn, root_id: int, year: int, keys: set[tuple[int, str]]) -> None:
    """Mirror new talks as to-dos in the routine slice's generic task list
    (the leader sees them with their other tasks); recording the talk closes
    the task."""
    task = db.metadata.tables.get("routine_task")
    if task is None or not keys:
        return
    T = AnnualTalk.__table__
    persons = sorted({p for p, _k in keys})
    rows = []
    for part in _chunks(persons, 900):
        for tid, org_id, pid, leader, kind, due in conn.execute(select(
                T.c.id, T.c.org_id, T.c.person_id, T.c.leader_person_id, T.c.kind, T.c.due_on).where(
                T.c.root_id == root_id, T.c.year == year, T.c.person_id.in_(part))).all():
            if (pid, kind) in keys:
                rows.append({"root_id": root_id, "org_id": org_id, "kind": f"annual.{kind}_talk",
                             "title": TALK_TITLES[kind], "person_id": pid, "assignee_person_id": leader,
                             "due_on": due, "status": "open", "source_type": "annual_talk", "source_id": tid,
                             "created_at": utcnow()})
    if rows:
        conn.execute(insert(task), rows)
