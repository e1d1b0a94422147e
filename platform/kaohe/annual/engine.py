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
import gc
import hashlib
import json
import os
import sys
import threading
import time
from collections import defaultdict, deque
from contextlib import contextmanager
from typing import Callable, Iterable, Sequence

from sqlalchemy import ARRAY, BigInteger, and_, any_, bindparam, delete, func, insert, select, update

from ..core import citus
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

    _dumpb = orjson.dumps
except ImportError:  # pragma: no cover
    def _dumpb(v) -> bytes:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":")).encode()

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
    pg = db.session.connection().dialect.name == "postgresql"
    have: dict[int, AnnualAssessment] = {}
    for part in _chunks(ids, _IN_BATCH[pg]):
        for a in db.session.execute(select(AnnualAssessment).where(
                AnnualAssessment.root_id == root_id, AnnualAssessment.year == year,
                _in_ids(AnnualAssessment.org_id, part, pg))).scalars():
            have[a.org_id] = a
    missing = [u for u in units if u.id not in have]
    if missing:
        db.session.execute(insert(AnnualAssessment), [
            {"root_id": u.root_id, "org_id": u.id, "year": year, "status": "open", "major_contribution": False,
             "version": 1, "created_at": utcnow()} for u in missing])
        for part in _chunks([u.id for u in missing], _IN_BATCH[pg]):
            for a in db.session.execute(select(AnnualAssessment).where(
                    AnnualAssessment.root_id == root_id, AnnualAssessment.year == year,
                    _in_ids(AnnualAssessment.org_id, part, pg))).scalars():
                have[a.org_id] = a
    return have


# Ids per query: one array parameter on PostgreSQL, SQLite's parameter limit elsewhere.
_IN_BATCH = {True: 20_000, False: 900}


def _chunks(seq: Sequence, n: int):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


# -- reading inputs ------------------------------------------------------------

def _fetch(conn, stmt) -> list:
    """All rows of ``stmt`` as plain tuples.  On PostgreSQL straight from a
    driver cursor in binary format: the server sends floats, dates and ints
    as they are stored instead of formatting millions of them as text for
    psycopg to parse back (the same Python values), and no SQLAlchemy Row
    objects are made.  Elsewhere SQLAlchemy's rows (which convert SQLite's
    dates)."""
    if conn.dialect.name == "postgresql":
        compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        with conn.connection.driver_connection.cursor(binary=True) as cur:
            cur.execute(str(compiled), compiled.construct_params())
            return cur.fetchall()
    return conn.execute(stmt).all()


def _in_ids(col, ids: list[int], pg: bool):
    """``col IN (ids)``; on PostgreSQL as ``col = ANY(:array)``, one parameter
    instead of hundreds to render, bind and convert for every query."""
    if pg:
        return col == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger)))
    return col.in_(ids)


def _routine_tables():
    rr = db.metadata.tables.get("routine_result")
    rp = db.metadata.tables.get("routine_period")
    return (rr, rp) if rr is not None and rp is not None else (None, None)


def load_periods(conn, root_id: int, year: int) -> dict[int, list[tuple[int, int]]]:
    """The routine slice's periods of ``year`` whose results count
    (publicised or final): {unit id: [(period id, seq)]} in id order.  Read
    once per computation: looking them up again for every chunk made
    PostgreSQL scan all the province's periods per chunk (or, with fresh
    statistics, join every routine result of the province)."""
    rr, rp = _routine_tables()
    if rp is None:
        return {}
    out: dict[int, list[tuple[int, int]]] = {}
    for pid, org_id, seq in _fetch(conn, select(rp.c.id, rp.c.org_id, rp.c.seq).where(
            rp.c.root_id == root_id, rp.c.year == year, rp.c.state.in_(("publicised", "final"))).order_by(rp.c.id)):
        out.setdefault(org_id, []).append((pid, seq))
    return out


def load_specials(conn, root_id: int, year: int) -> dict[int, list[tuple]]:
    """Every special-assessment result of ``year`` in scope: {person id:
    [(result_type, grade, points, score)]} by campaign.  Read once for a
    computation of many chunks (PostgreSQL scans them for any chunk anyway;
    there are few per person)."""
    SR, SC = SpecialResult.__table__, SpecialCampaign.__table__
    out: dict[int, list[tuple]] = {}
    for pid, rtype, grade, points, score in _fetch(
            conn, select(SR.c.person_id, SC.c.result_type, SR.c.grade, SR.c.points, SR.c.score)
            .join(SC, and_(SC.c.id == SR.c.campaign_id, SC.c.root_id == SR.c.root_id))
            .where(SR.c.root_id == root_id, SR.c.year == year)
            .order_by(SR.c.person_id, SR.c.campaign_id)):
        out.setdefault(pid, []).append((rtype, grade, points, score))
    return out


def _load_chunk(conn, root_id: int, unit_ids: list[int], assessment_ids: list[int], year: int,
                periods: dict[int, list[tuple[int, int]]] | None = None,
                all_specials: dict[int, list[tuple]] | None = None) -> dict:
    """All inputs of a chunk of units as plain data (tuples, dicts, lists):
    ``people`` (id, unit_id, rank_group, hire_date, probation_end,
    supervisor_id) ordered by unit then id; per person id ``routine``
    {seq: (score, grade)}, ``reviews`` (leader_score, votes youxiu, chenzhi,
    jibenchenzhi, buchenzhi), ``specials`` [(result_type, grade, points,
    score)] and ``records`` [(kind, year, sanction_kind, start_date,
    end_date, days)]."""
    pg = conn.dialect.name == "postgresql"
    in_units = (lambda col: _in_ids(col, unit_ids, pg))
    P = Person.__table__
    people = _fetch(conn,
                    select(P.c.id, P.c.unit_id, P.c.rank_group, P.c.hire_date, P.c.probation_end, P.c.supervisor_id)
                    .where(P.c.root_id == root_id, in_units(P.c.unit_id), P.c.active.is_(True))
                    .order_by(P.c.unit_id, P.c.id))
    routine: dict[int, dict[int, tuple]] = {}
    RI = RoutineImport.__table__
    for pid, seq, score, grade in _fetch(
            conn, select(RI.c.person_id, RI.c.period_no, RI.c.score, RI.c.grade)
            .where(RI.c.root_id == root_id, RI.c.year == year, in_units(RI.c.org_id))):
        d = routine.get(pid)
        if d is None:
            d = routine[pid] = {}
        d[seq] = (score, grade)
    rr, rp = _routine_tables()
    if periods is None:
        periods = load_periods(conn, root_id, year)
    seq_of = {pid: seq for u in unit_ids for pid, seq in periods.get(u, ())}
    if seq_of:
        # The results of the chunk's periods, by period id (the periods'
        # order, as the former join of periods and results gave them).
        stmt = (select(rr.c.person_id, rr.c.period_id, rr.c.score, rr.c.grade)
                .where(rr.c.root_id == root_id, _in_ids(rr.c.period_id, list(seq_of), pg), rr.c.score.is_not(None))
                .order_by(rr.c.period_id))
        for pid, period_id, score, grade in _fetch(conn, stmt):
            d = routine.get(pid)
            if d is None:
                d = routine[pid] = {}
            d[seq_of[period_id]] = (score, grade)   # the routine module wins over an import
    RV = AnnualReview.__table__
    reviews = {r[0]: r[1:] for r in _fetch(conn, select(
        RV.c.person_id, RV.c.leader_score, RV.c.votes_youxiu, RV.c.votes_chenzhi, RV.c.votes_jibenchenzhi,
        RV.c.votes_buchenzhi).where(RV.c.root_id == root_id, _in_ids(RV.c.assessment_id, assessment_ids, pg)))}
    if all_specials is None:
        SR, SC = SpecialResult.__table__, SpecialCampaign.__table__
        specials: dict[int, list[tuple]] = defaultdict(list)
        for pid, rtype, grade, points, score in _fetch(
                conn, select(SR.c.person_id, SC.c.result_type, SR.c.grade, SR.c.points, SR.c.score)
                .join(SC, and_(SC.c.id == SR.c.campaign_id, SC.c.root_id == SR.c.root_id))
                .join(P, and_(P.c.id == SR.c.person_id, P.c.root_id == SR.c.root_id))
                .where(SR.c.root_id == root_id, SR.c.year == year, in_units(P.c.unit_id))
                .order_by(SR.c.person_id, SR.c.campaign_id)):
            specials[pid].append((rtype, grade, points, score))
    else:
        specials = {r[0]: all_specials[r[0]] for r in people if r[0] in all_specials}
    R = AnnualRecord.__table__
    records: dict[int, list[tuple]] = defaultdict(list)
    for row in _fetch(
            conn, select(R.c.person_id, R.c.kind, R.c.year, R.c.sanction_kind, R.c.start_date, R.c.end_date, R.c.days)
            .where(R.c.root_id == root_id, in_units(R.c.org_id), R.c.year.in_((year - 1, year)))
            .order_by(R.c.person_id, R.c.id)):
        records[row[0]].append(tuple(row[1:]))
    return {"people": people, "routine": routine, "reviews": reviews, "specials": dict(specials),
            "records": dict(records)}


_GRADE_SCORES = {"hao": 95.0, "jiaohao": 85.0, "yiban": 70.0, "jiaocha": 50.0}


def person_inputs(rows: Sequence[tuple], data: dict, year: int) -> list[calc.PersonInput]:
    """The calc inputs of ``rows`` (person tuples of ``_load_chunk``)."""
    routine, reviews, specials, records = data["routine"], data["reviews"], data["specials"], data["records"]
    year_end = dt.date(year, 12, 31)
    grade_points = calc.SPECIAL_GRADE_POINTS
    PersonInput, Sanction = calc.PersonInput, calc.Sanction
    out = []
    append = out.append
    for pid, _unit, rank_group, hire, probation_end, _sup in rows:
        rt = routine.get(pid)
        if rt is None:
            rt_list = []
        elif len(rt) == 1:
            rt_list = list(rt.values())
        else:
            rt_list = [rt[k] for k in sorted(rt)]
        rv = reviews.get(pid)
        leader = votes = None
        if rv is not None:
            leader, vy, vc, vj, vb = rv
            if vy or vc or vj or vb:
                votes = {"youxiu": vy, "chenzhi": vc, "jibenchenzhi": vj, "buchenzhi": vb}
        pts = scores = ()
        sp = specials.get(pid)
        if sp is not None:
            pts, scores = [], []
            for rtype, grade, points, score in sp:
                if points is not None:
                    pts.append(float(points))
                elif rtype == "grade" and grade in grade_points:
                    pts.append(grade_points[grade])
                if score is not None:
                    scores.append(float(score))
                elif rtype == "grade" and grade:
                    scores.append(_GRADE_SCORES.get(grade, 70.0))
        recs = records.get(pid)
        if recs is None:
            append(PersonInput(pid, rank_group or "staff", rt_list, leader, votes, pts, scores, probation_end, hire))
            continue
        leave = 0
        inv_open = inv_retro = refused = False
        sanctions = []
        for kind, ryear, sanction_kind, _start, end_date, days in recs:
            if kind == "leave" and ryear == year:
                leave += int(days or 0)
            elif kind == "investigation" and ryear == year:
                if end_date is None:
                    inv_open = True
                elif end_date > year_end:
                    inv_retro = True
            elif kind == "sanction" and sanction_kind:
                sanctions.append(Sanction(sanction_kind, ryear))
            elif kind == "refusal" and ryear == year:
                refused = True
        append(PersonInput(pid, rank_group or "staff", rt_list, leader, votes, pts, scores, probation_end, hire,
                           leave, inv_open, inv_retro and not inv_open, sanctions, refused))
    return out


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


def _copy_json(v) -> bytes:
    """``v`` as JSON (orjson's bytes), escaped for COPY text format (JSON
    escapes tabs and newlines itself; only its backslashes need doubling)."""
    return _dumpb(v).replace(b"\\", b"\\\\")


_LIST_JSON: dict[tuple, bytes] = {}


def _copy_json_list(v: list) -> bytes:
    """``_copy_json`` of a short list of strings (flags, talks), memoised."""
    key = tuple(v)
    try:
        return _LIST_JSON[key]
    except KeyError:
        b = _copy_json(v)
        if len(_LIST_JSON) < 4096:
            _LIST_JSON[key] = b
        return b
    except TypeError:      # unhashable items
        return _copy_json(v)


def bulk_write(conn, table, columns: Sequence[str], rows: list[tuple] | None = None,
               lines: list | None = None) -> None:
    """Insert many rows: COPY on PostgreSQL (``lines`` in COPY text format,
    str or UTF-8 bytes, each one or more whole lines; through a temporary
    table so the row-level security checks of the target still apply),
    executemany elsewhere (``rows``)."""
    if conn.dialect.name == "postgresql":
        if lines is None:
            lines = ["\t".join(_copy_value(v) for v in r) + "\n" for r in rows or []]
        if not lines:
            return
        raw = conn.connection.driver_connection
        utf8 = raw.info.encoding in ("utf-8", "utf8")
        cols = ", ".join(columns)
        tmp = f"tmp_{table.name}"
        with raw.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {tmp} (LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DROP")
            cur.execute(f"TRUNCATE {tmp}")
            with cur.copy(f"COPY {tmp} ({cols}) FROM STDIN") as cp:
                batch, size = [], 0
                for line in lines:
                    if isinstance(line, str):
                        line = line.encode()
                    elif not utf8:
                        line = line.decode()       # psycopg encodes str to the connection's encoding
                    batch.append(line)
                    size += len(line)
                    if size >= 1 << 20:
                        cp.write(batch[0][:0].join(batch))
                        batch, size = [], 0
                if batch:
                    cp.write(batch[0][:0].join(batch))
            if citus.is_citus(conn):    # Citus would COPY into the shards, which RLS refuses
                citus.insert_from_temp(cur, conn, table, columns, tmp)
            else:
                cur.execute(f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {tmp}")
        return
    if rows:
        conn.execute(insert(table), [dict(zip(columns, r)) for r in rows])


NULL = "\\N"


def result_body(r) -> bytes:
    """One result row in COPY text format (UTF-8), without root/org/run (the
    part that must be equal between two runs over the same inputs)."""
    s, k = r.score, r.rank
    head = "\t".join((str(r.person_id), r.rank_group, NULL if s is None else repr(s) if isinstance(s, float) else str(s),
                      r.grade or NULL, r.code, "t" if r.eligible_youxiu else "f",
                      NULL if k is None else repr(k) if isinstance(k, float) else str(k), ""))
    return b"".join((head.encode(), _copy_json_list(r.flags), b"\t", _copy_json_list(r.talks), b"\t",
                     _dumpb({"components": r.components, "rules": r.rules}).replace(b"\\", b"\\\\")))


def digest_bodies(bodies: Iterable) -> str:
    """sha256 over every body (str or UTF-8 bytes) followed by a newline."""
    h = hashlib.sha256()
    update = h.update
    for b in bodies:
        update(b if type(b) is bytes else b.encode())
        update(b"\n")
    return h.hexdigest()


def compute_units(specs: Sequence[tuple], data: dict, year: int, root_id: int, copy_lines: bool) -> list[tuple]:
    """The per-person work of one chunk, as a pure function of plain data
    (no database, no Flask).

    ``specs``: per unit (unit_id, run_id, policy dict, org_grade,
    major_contribution, approved_rate, allocated).  Returns per unit
    (unit_id, people, digest, quota, payload, talks): ``payload`` is the
    unit's result rows in COPY text format (one bytes object) when
    ``copy_lines``, else the rows as tuples in RESULT_COLUMNS order;
    ``talks`` [(person_id, supervisor_id, kind)]."""
    by_unit: dict[int, list] = {}
    for row in data["people"]:
        u = by_unit.get(row[1])
        if u is None:
            by_unit[row[1]] = [row]
        else:
            u.append(row)
    out = []
    for unit_id, run_id, pol, grade, major, approved_rate, allocated in specs:
        rows_u = by_unit.get(unit_id, ())
        outcome = calc.compute_unit(person_inputs(rows_u, data, year), pol, year, org_grade=grade,
                                    major_contribution=major, approved_rate=approved_rate, allocated=allocated)
        results = outcome.results
        bodies = [result_body(r) for r in results]
        # Row by row: hashing one large buffer would release the GIL and
        # leave this thread queueing for it behind the reader and writer.
        digest = digest_bodies(bodies)
        if copy_lines:
            if bodies:
                prefix = f"{root_id}\t{unit_id}\t{run_id}\t".encode()
                payload = b"".join((prefix, (b"\n" + prefix).join(bodies), b"\n"))
            else:
                payload = b""
        else:
            payload = [(root_id, unit_id, run_id, r.person_id, r.rank_group, r.score, r.grade, r.code,
                        r.eligible_youxiu, r.rank, r.flags, r.talks, {"components": r.components, "rules": r.rules})
                       for r in results]
        talks = []
        if any(r.talks for r in results):
            sup = {row[0]: row[5] for row in rows_u}
            talks = [(r.person_id, sup.get(r.person_id), kind) for r in results for kind in r.talks]
        out.append((unit_id, len(results), digest, outcome.quota, payload, talks))
    return out


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
      they would otherwise wait up to 5 ms behind the computing thread."""
    global _batch_depth, _batch_saved
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
        R.c.root_id == root_id, _in_ids(R.c.assessment_id, [assessed[u.id][0] for u in refs],
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
        raise Invalid({"status": [f"The result of {', '.join(skipped)} is already confirmed; "
                                  "reopen it before computing again."]})
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
            shared.extend((load_periods(c, root_id, year),
                           load_specials(c, root_id, year) if len(chunk_refs) > 1 else None))
        part = chunk_refs[ci]
        return _load_chunk(c, root_id, [u.id for u in part], [assessed[u.id][0] for u in part], year, *shared)

    pols = None if policy_of is None else policy_of(todo)
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
        out = _compute_chunks(conn, root_id, year, len(chunk_refs), prepare, load, loads, loader, writer, threaded,
                              pg, progress=progress, actor=actor, job_id=job_id, n_units=len(todo))
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


def _compute_chunks(conn, root_id, year, n_chunks, prepare, load, loads, loader, writer, threaded, pg, *, progress,
                    actor, job_id, n_units) -> dict:
    R = AnnualRun.__table__
    A = AnnualAssessment.__table__
    total_people = 0
    pending = None
    talk_rows: list[tuple] = []
    a_ids: list[int] = []
    t_calc = 0.0
    done = 0

    update_stmt = update(A).where(A.c.id == bindparam("a_id")).values(
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
            outs = compute_units(specs, data, year, root_id, pg)
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
    _raise_talks(conn, root_id, year, talk_rows)
    db.session.expire_all()
    return {"units": n_units, "people": total_people, "calc_seconds": round(t_calc, 3), "run_of": run_of}


def _policy_extract(pol: dict) -> dict:
    keys = ("annual.", "quota.", "eligibility.", "pay.", "appeal.", "calendar.")
    return {k: v for k, v in pol.items() if k.startswith(keys)}


def _prune_runs(conn, root_id: int, assessment_ids: list[int]) -> None:
    """Keep the current and the previous run of each assessment."""
    R, X = AnnualRun.__table__, AnnualResult.__table__
    pg = conn.dialect.name == "postgresql"
    for part in _chunks(assessment_ids, _IN_BATCH[pg]):
        ranked = (select(R.c.id, func.row_number().over(partition_by=R.c.assessment_id, order_by=R.c.seq.desc())
                         .label("rn")).where(R.c.root_id == root_id, _in_ids(R.c.assessment_id, part, pg)).subquery())
        old = [r for (r,) in conn.execute(select(ranked.c.id).where(ranked.c.rn > 2))]
        for ids in _chunks(old, _IN_BATCH[pg]):
            conn.execute(delete(X).where(X.c.root_id == root_id, _in_ids(X.c.run_id, ids, pg)))
            conn.execute(delete(R).where(R.c.root_id == root_id, _in_ids(R.c.id, ids, pg)))


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
