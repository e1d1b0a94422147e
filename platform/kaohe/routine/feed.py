"""What the routine slice hands to the slices above it, set-based: the
results that count towards the annual assessment, and the generic to-do
list other slices put their tasks on (the annual talks).

Reads return plain tuples through ``kaohe.core.bulk.fetch_rows`` (binary
rows on PostgreSQL), so a computation over a province calls them once (the
periods) or once per chunk of units (the results), never per person."""
from __future__ import annotations

import datetime as dt
from typing import Sequence

from sqlalchemy import String, cast, insert, select, update

from ..core.bulk import fetch_rows, in_ids
from ..core.db import utcnow
from .models import Period, Result, Task

# A period's results count once they are publicised (and after).
COUNTING_STATES = ("publicised", "final")


def counting_periods(conn, root_id: int, year: int) -> dict[int, list[tuple[int, int]]]:
    """The periods of ``year`` whose results count (publicised or final):
    {unit id: [(period id, seq)]} in id order.  Read once per computation:
    looking them up again for every chunk made PostgreSQL scan all the
    province's periods per chunk (or, with fresh statistics, join every
    routine result of the province)."""
    P = Period.__table__
    out: dict[int, list[tuple[int, int]]] = {}
    for pid, org_id, seq in fetch_rows(conn, select(P.c.id, P.c.org_id, P.c.seq).where(
            P.c.root_id == root_id, P.c.year == year, P.c.state.in_(COUNTING_STATES)).order_by(P.c.id)):
        out.setdefault(org_id, []).append((pid, seq))
    return out


def scored_results(conn, root_id: int, period_ids: Sequence[int]) -> list[tuple]:
    """The scored results of the periods ``period_ids`` (from
    ``counting_periods``): [(person_id, period_id, score, grade)] in period
    id order; one query."""
    R = Result.__table__
    pg = conn.dialect.name == "postgresql"
    return fetch_rows(conn, select(R.c.person_id, R.c.period_id, R.c.score, R.c.grade)
                      .where(R.c.root_id == root_id, in_ids(R.c.period_id, list(period_ids), pg),
                             R.c.score.is_not(None))
                      .order_by(R.c.period_id))


def no_youxiu_people(conn, root_id: int, period_ids: Sequence[int]) -> set[int]:
    """The people whose result in one of ``period_ids`` carries the routine
    "not 优秀 this year" flag (``calc.streak_flags``: consecutive low
    results); the annual computation bars them from 优秀.  One query."""
    if not period_ids:
        return set()
    R = Result.__table__
    pg = conn.dialect.name == "postgresql"
    return {r[0] for r in fetch_rows(conn, select(R.c.person_id).where(
        R.c.root_id == root_id, in_ids(R.c.period_id, list(period_ids), pg),
        cast(R.c.flags, String).like('%"no_youxiu"%')))}


def add_tasks(conn, rows: list[dict]) -> None:
    """Open many to-dos at once.  Each row: root_id, org_id, kind (dotted,
    e.g. ``annual.criticism_talk``), title, person_id, assignee_person_id,
    due_on, source_type and source_id (what raised it; recording that
    closes it through ``close_tasks_of``)."""
    if rows:
        now = utcnow()
        conn.execute(insert(Task.__table__), [{"status": "open", "created_at": now, **r} for r in rows])


def close_tasks_of(session, root_id: int, source_type: str, source_id: int, *, closed_type: str,
                   closed_id: int, on: dt.datetime | None = None) -> None:
    """Mark the open to-dos raised by (source_type, source_id) done, closed by
    the record (closed_type, closed_id)."""
    T = Task.__table__
    session.execute(update(T).where(
        T.c.root_id == root_id, T.c.source_type == source_type, T.c.source_id == source_id,
        T.c.status == "open").values(status="done", closed_type=closed_type, closed_id=closed_id,
                                     closed_at=on or utcnow()))
