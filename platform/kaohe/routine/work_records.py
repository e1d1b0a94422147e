"""Work records (工作写实): what a person wrote, and the supervising
rater's comment on it (审核评鉴)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..audit.service import record
from ..core.errors import Forbidden
from ..extensions import db
from ..people.models import Person
from .common import check_version, invalid, today
from .models import Period, WorkRecord
from .periods import RECORD_STATES, participant, relation_index, require_state
from .relations import RULES, RelationIndex


def save_work_record(period: Period, person: Person, on_date: dt.date, done: str, plan: str | None,
                     kind: str = "monthly", expected_version: int | None = None) -> WorkRecord:
    require_state(period, RECORD_STATES, "period", "Writing work records")
    if participant(period, person.id) is None:
        raise invalid("person", "You do not take part in this period.")
    if kind not in ("monthly", "daily"):
        raise invalid("kind", "monthly or daily.")
    if kind == "monthly":
        on_date = on_date.replace(day=1)
    if not (period.starts_on <= on_date <= period.ends_on):
        raise invalid("on_date", f"The date must fall inside the period ({period.starts_on} – {period.ends_on}).")
    if on_date > today():
        raise invalid("on_date", "Records are written for the past or the present, not the future.")
    if not (done or "").strip():
        raise invalid("done", "Describe what was done (工作写实).")
    wr = db.session.execute(select(WorkRecord).where(WorkRecord.person_id == person.id, WorkRecord.kind == kind,
                                                     WorkRecord.on_date == on_date)).scalar_one_or_none()
    if wr is None:
        wr = WorkRecord(root_id=person.root_id, org_id=person.org_id, period_id=period.id, person_id=person.id,
                        kind=kind, on_date=on_date)
        db.session.add(wr)
    else:
        check_version(wr, expected_version, lambda o: {"plan": o.plan, "done": o.done})
    wr.plan, wr.done = plan, done.strip()
    db.session.flush()
    return wr


def comment_work_record(period: Period, wr: WorkRecord, rater: Person, comment: str, visible: bool,
                        idx: RelationIndex | None = None) -> WorkRecord:
    require_state(period, ("open", "rating", "review"), "period", "Commenting")
    idx = idx or relation_index(period, only=(rater.id, wr.person_id))
    rule = idx.check(rater.id, wr.person_id, "supervisor")
    if rule is not None:
        raise Forbidden({"rule": [RULES[rule]]}, RULES[rule])
    wr.supervisor_comment, wr.comment_visible = comment, visible
    db.session.flush()
    record("routine.work_record.comment", root_id=wr.root_id, org_id=wr.org_id, target_type="routine_work_record",
           target_id=wr.id, after={"comment": comment, "visible": visible})
    return wr
