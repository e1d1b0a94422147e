"""Talks the rules demand (批评教育谈话 after a low routine score, 提醒谈话/诫勉
after consecutive low scores): raised in bulk by the computation for the
person's supervising leader, mirrored as to-dos on the routine slice's task
list, and recorded by the leader (which closes the to-do)."""
from __future__ import annotations

from ..web.messages import N_
import datetime as dt

from sqlalchemy import insert, select

from ..audit.service import current_actor, record
from ..core.bulk import chunks
from ..core.clock import local_today
from ..core.db import utcnow
from ..core.errors import Invalid
from ..extensions import db
from ..routine.feed import add_tasks, close_tasks_of
from .calc.eligibility import talk_base
from .models import AnnualTalk

TALK_TITLES = {"criticism": "批评教育谈话 (criticism talk)", "reminder": "提醒谈话/诫勉 (reminder talk)"}
# The to-dos mirroring a talk name it as their source (and as what closed them).
TASK_SOURCE = "annual_talk"


def raise_talks(conn, root_id: int, year: int, talk_rows: list[tuple]) -> None:
    """Talk tasks the rules demand (``talk_rows``: (unit id, person id,
    supervising leader's person id, kind)); an existing task (open or
    recorded) is left as it is."""
    if not talk_rows:
        return
    T = AnnualTalk.__table__
    persons = sorted({r[1] for r in talk_rows})
    have = set()
    for part in chunks(persons, 900):
        have.update(conn.execute(select(T.c.person_id, T.c.kind).where(
            T.c.root_id == root_id, T.c.year == year, T.c.person_id.in_(part))).all())
    reasons = {"criticism": "A routine score at or below the low-score line",
               "reminder": "Consecutive routine scores at or below the low-score line"}

    def reason(kind):
        base, n = talk_base(kind)
        return reasons[base] + (f" (period {n})" if n else "")
    due = local_today() + dt.timedelta(days=15)
    new = [{"root_id": root_id, "org_id": unit, "year": year, "person_id": pid, "leader_person_id": leader,
            "kind": kind, "reason": reason(kind), "due_on": due, "version": 1, "created_at": utcnow()}
           for unit, pid, leader, kind in talk_rows if (pid, kind) not in have]
    if new:
        conn.execute(insert(T), new)
        _raise_tasks(conn, root_id, year, {(r["person_id"], r["kind"]) for r in new})


def _raise_tasks(conn, root_id: int, year: int, keys: set[tuple[int, str]]) -> None:
    """Mirror new talks as to-dos in the routine slice's generic task list
    (the leader sees them with their other tasks); recording the talk closes
    the task."""
    if not keys:
        return
    T = AnnualTalk.__table__
    persons = sorted({p for p, _k in keys})
    rows = []
    for part in chunks(persons, 900):
        for tid, org_id, pid, leader, kind, due in conn.execute(select(
                T.c.id, T.c.org_id, T.c.person_id, T.c.leader_person_id, T.c.kind, T.c.due_on).where(
                T.c.root_id == root_id, T.c.year == year, T.c.person_id.in_(part))).all():
            if (pid, kind) in keys:
                base, n = talk_base(kind)
                rows.append({"root_id": root_id, "org_id": org_id, "kind": f"annual.{base}_talk",
                             "title": TALK_TITLES[base] + (f" · 第{n}期 (period {n})" if n else ""), "person_id": pid, "assignee_person_id": leader,
                             "due_on": due, "source_type": TASK_SOURCE, "source_id": tid})
    add_tasks(conn, rows)


def record_talk(t: AnnualTalk, held_on: dt.date, text: str) -> None:
    if t.held_on is not None:
        raise Invalid({"talk": [N_("The talk is already recorded.")]})
    if len((text or "").strip()) < 10:
        raise Invalid({"record": [N_("Write what was discussed (at least 10 characters).")]})
    if held_on > local_today():
        raise Invalid({"held_on": [N_("The date cannot be in the future.")]})
    t.held_on, t.record, t.recorded_by = held_on, text.strip(), current_actor().name
    close_tasks_of(db.session, t.root_id, TASK_SOURCE, t.id, closed_type=TASK_SOURCE, closed_id=t.id)
    record("annual.talk.record", root_id=t.root_id, org_id=t.org_id, target_type="person", target_id=t.person_id,
           after={"talk": t.id, "kind": t.kind, "held_on": held_on})
    db.session.flush()
