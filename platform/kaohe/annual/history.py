"""A person's annual grades over the whole career, for the multi-year
counters (salary step, 级别, 三等功, dismissal review).

Two things make a career longer than the rows of one unit:

* transfers (``people.transfer_models``): a transferred person has a closed
  row in each earlier unit, where that unit's outcomes stay; the chain is
  followed back from the current row;
* grades of years before the platform, imported from the unit's records
  (``AnnualPriorGrade``, marked imported).

Only (year, grade) is read across units, under the province's scope: what
the personnel file carries to the new unit; the earlier unit's outcomes,
scores and procedure stay visible to that unit only.  One grade per year:
a computed outcome wins over an imported grade, the newest row's over an
earlier row's.  Set-based: a bounded number of queries per 900 people."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..people.transfer_models import PersonTransfer
from ..tenancy.scope import Scope, scoped
from .models import AnnualOutcome, AnnualPriorGrade

CHUNK = 900
MAX_HOPS = 50


def chains(root_id: int, person_ids: list[int]) -> dict[int, list[int]]:
    """{person_id: [person_id, the row it was transferred from, ...]}."""
    out = {p: [p] for p in person_ids}
    frontier = {p: p for p in person_ids}          # row id -> the current row it belongs to
    with scoped(Scope.province(root_id, label="person-history")):
        for _hop in range(MAX_HOPS):
            if not frontier:
                break
            ids = sorted(frontier)
            nxt: dict[int, int] = {}
            for i in range(0, len(ids), CHUNK):
                for new, old in db.session.execute(select(PersonTransfer.person_id, PersonTransfer.from_person_id)
                                                   .where(PersonTransfer.root_id == root_id,
                                                          PersonTransfer.person_id.in_(ids[i:i + CHUNK]))):
                    cur = frontier[new]
                    if old not in out[cur]:
                        out[cur].append(old)
                        nxt[old] = cur
            frontier = nxt
    return out


def career_grades(root_id: int, person_ids: list[int]) -> dict[int, list[tuple[int, str | None, str]]]:
    """{person_id: [(year, grade or None, "computed" | "imported")], oldest first}."""
    chain = chains(root_id, person_ids)
    owner = {row: (cur, depth) for cur, rows in chain.items() for depth, row in enumerate(rows)}
    best: dict[tuple[int, int], tuple[int, str | None, str]] = {}

    def offer(row: int, year: int, grade: str | None, source: str, base: int) -> None:
        cur, depth = owner[row]
        rank = base + depth
        key = (cur, year)
        if key not in best or rank < best[key][0]:
            best[key] = (rank, grade, source)

    ids = sorted(owner)
    with scoped(Scope.province(root_id, label="person-history")):
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            for pid, year, grade in db.session.execute(
                    select(AnnualOutcome.person_id, AnnualOutcome.year, AnnualOutcome.grade)
                    .where(AnnualOutcome.root_id == root_id, AnnualOutcome.person_id.in_(chunk))):
                offer(pid, year, grade, "computed", 0)
            for pid, year, grade in db.session.execute(
                    select(AnnualPriorGrade.person_id, AnnualPriorGrade.year, AnnualPriorGrade.grade)
                    .where(AnnualPriorGrade.root_id == root_id, AnnualPriorGrade.person_id.in_(chunk))):
                offer(pid, year, grade, "imported", 10_000)
    out: dict[int, list[tuple[int, str | None, str]]] = {p: [] for p in person_ids}
    for (cur, year), (_rank, grade, source) in best.items():
        out[cur].append((year, grade, source))
    for rows in out.values():
        rows.sort()
    return out
