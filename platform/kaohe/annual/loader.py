"""Reading the inputs of the annual computation, a chunk of units at a
time, in a bounded number of queries whatever the headcount, as plain data
(``batch.person_inputs`` turns them into the calc's inputs)."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import and_, select

from ..core.bulk import fetch_rows, in_ids
from ..people.models import Person
from ..routine.feed import counting_periods, no_youxiu_people, scored_results
from .models import AnnualLeave, AnnualRecord, AnnualReview, RoutineImport, SpecialCampaign, SpecialResult


def load_specials(conn, root_id: int, year: int) -> dict[int, list[tuple]]:
    """Every special-assessment result of ``year`` in scope: {person id:
    [(result_type, grade, points, score)]} by campaign.  Read once for a
    computation of many chunks (PostgreSQL scans them for any chunk anyway;
    there are few per person)."""
    SR, SC = SpecialResult.__table__, SpecialCampaign.__table__
    out: dict[int, list[tuple]] = {}
    for pid, rtype, grade, points, score in fetch_rows(
            conn, select(SR.c.person_id, SC.c.result_type, SR.c.grade, SR.c.points, SR.c.score)
            .join(SC, and_(SC.c.id == SR.c.campaign_id, SC.c.root_id == SR.c.root_id))
            .where(SR.c.root_id == root_id, SR.c.year == year)
            .order_by(SR.c.person_id, SR.c.campaign_id)):
        out.setdefault(pid, []).append((rtype, grade, points, score))
    return out


def load_chunk(conn, root_id: int, unit_ids: list[int], assessment_ids: list[int], year: int,
               periods: dict[int, list[tuple[int, int]]] | None = None,
               all_specials: dict[int, list[tuple]] | None = None) -> dict:
    """All inputs of a chunk of units as plain data (tuples, dicts, lists):
    ``people`` (id, unit_id, rank_group, hire_date, probation_end,
    supervisor_id) ordered by unit then id; per person id ``routine``
    {seq: (score, grade)}, ``reviews`` (leader_score, votes youxiu, chenzhi,
    jibenchenzhi, buchenzhi), ``specials`` [(result_type, grade, points,
    score)] and ``records`` [(kind, year, sanction_kind, start_date,
    end_date, days)], ``no_youxiu`` the people the routine slice flagged
    "not 优秀 this year" in those periods, ``leave`` {person id: [(start, end)]} the leave ranges of the
    year.  ``periods``: the routine slice's counting periods of
    the year (``routine.feed.counting_periods``, read once per computation);
    ``all_specials``: ``load_specials`` when read once for many chunks."""
    pg = conn.dialect.name == "postgresql"
    in_units = (lambda col: in_ids(col, unit_ids, pg))
    P = Person.__table__
    people = fetch_rows(conn,
                    select(P.c.id, P.c.unit_id, P.c.rank_group, P.c.hire_date, P.c.probation_end, P.c.supervisor_id)
                    .where(P.c.root_id == root_id, in_units(P.c.unit_id), P.c.active.is_(True))
                    .order_by(P.c.unit_id, P.c.id))
    routine: dict[int, dict[int, tuple]] = {}
    RI = RoutineImport.__table__
    for pid, seq, score, grade in fetch_rows(
            conn, select(RI.c.person_id, RI.c.period_no, RI.c.score, RI.c.grade)
            .where(RI.c.root_id == root_id, RI.c.year == year, in_units(RI.c.org_id))):
        d = routine.get(pid)
        if d is None:
            d = routine[pid] = {}
        d[seq] = (score, grade)
    if periods is None:
        periods = counting_periods(conn, root_id, year)
    seq_of = {pid: seq for u in unit_ids for pid, seq in periods.get(u, ())}
    if seq_of:
        # The results of the chunk's periods, by period id (the periods'
        # order, as the former join of periods and results gave them).
        for pid, period_id, score, grade in scored_results(conn, root_id, list(seq_of)):
            d = routine.get(pid)
            if d is None:
                d = routine[pid] = {}
            d[seq_of[period_id]] = (score, grade)   # the routine module wins over an import
        no_youxiu = no_youxiu_people(conn, root_id, list(seq_of))
    else:
        no_youxiu = set()
    RV = AnnualReview.__table__
    reviews = {r[0]: r[1:] for r in fetch_rows(conn, select(
        RV.c.person_id, RV.c.leader_score, RV.c.votes_youxiu, RV.c.votes_chenzhi, RV.c.votes_jibenchenzhi,
        RV.c.votes_buchenzhi).where(RV.c.root_id == root_id, in_ids(RV.c.assessment_id, assessment_ids, pg)))}
    if all_specials is None:
        SR, SC = SpecialResult.__table__, SpecialCampaign.__table__
        specials: dict[int, list[tuple]] = defaultdict(list)
        for pid, rtype, grade, points, score in fetch_rows(
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
    for row in fetch_rows(
            conn, select(R.c.person_id, R.c.kind, R.c.year, R.c.sanction_kind, R.c.start_date, R.c.end_date, R.c.days)
            .where(R.c.root_id == root_id, in_units(R.c.org_id), R.c.year.in_((year - 1, year)))
            .order_by(R.c.person_id, R.c.id)):
        records[row[0]].append(tuple(row[1:]))
    L = AnnualLeave.__table__
    leave: dict[int, list[tuple]] = defaultdict(list)
    for pid, start, end in fetch_rows(conn, select(L.c.person_id, L.c.start_date, L.c.end_date).where(
            L.c.root_id == root_id, in_units(L.c.org_id), L.c.year == year).order_by(L.c.person_id, L.c.start_date)):
        leave[pid].append((start, end))
    return {"people": people, "routine": routine, "reviews": reviews, "specials": dict(specials),
            "records": dict(records), "no_youxiu": no_youxiu, "leave": dict(leave)}
