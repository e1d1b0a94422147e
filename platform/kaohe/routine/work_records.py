"""Work records (工作写实): what a person wrote, and the supervising
rater's comment on it (审核评鉴)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ..web.messages import N_
from ..audit.service import record
from ..core.errors import Conflict, Forbidden
from ..extensions import db
from ..people.models import Person
from .common import M_OUTSIDE, check_version, invalid, today
from .models import Period, WorkRecord
from .periods import RECORD_STATES, participant, relation_index, require_state
from .relations import RULES, RelationIndex


def save_work_record(period: Period, person: Person, on_date: dt.date, done: str, plan: str | None,
                     kind: str = "monthly", expected_version: int | None = None) -> WorkRecord:
    require_state(period, RECORD_STATES, "period", N_("Writing work records"))
    if participant(period, person.id) is None:
        raise invalid("person", N_("You do not take part in this period."))
    if kind not in ("monthly", "daily"):
        raise invalid("kind", N_("monthly or daily."))
    if kind == "monthly":
        on_date = on_date.replace(day=1)
    if not (period.starts_on <= on_date <= period.ends_on):
        raise invalid("on_date", M_OUTSIDE % {"start": period.starts_on, "end": period.ends_on})
    if on_date > today():
        raise invalid("on_date", N_("Records are written for the past or the present, not the future."))
    if not (done or "").strip():
        raise invalid("done", N_("Describe what was done."))
    wr = _existing(person, kind, on_date)
    if wr is None:
        if expected_version:
            raise Conflict({"version": [f"There is no stored record for {on_date.isoformat()} (version "
                                        f"{expected_version} was given); reload and write it again."],
                            "current": None}, "The record does not exist (any more).")
        wr = WorkRecord(root_id=person.root_id, org_id=person.org_id, period_id=period.id, person_id=person.id,
                        kind=kind, on_date=on_date, plan=plan, done=done.strip())
        try:
            # A concurrent writer may create the same record (same person, kind
            # and day) first: that is a conflict with its version, not an overwrite.
            with db.session.begin_nested():
                db.session.add(wr)
                db.session.flush()
        except IntegrityError:
            wr = _existing(person, kind, on_date)
            if wr is None:
                raise
            _exists_conflict(wr)
        return wr
    if expected_version is None:
        _exists_conflict(wr)
    check_version(wr, expected_version, _dump)
    wr.plan, wr.done = plan, done.strip()
    try:
        db.session.flush()
    except StaleDataError:
        # Another writer replaced this version between our read and our
        # update (UPDATE … WHERE version = n matched nothing); the request
        # rolls back.
        raise Conflict({"version": [f"Someone else changed this first (version {expected_version} is no longer "
                                    "current); review the newer value and try again."]},
                       "The record was changed by someone else.") from None
    return wr


def _dump(o: WorkRecord) -> dict:
    return {"plan": o.plan, "done": o.done}


def _existing(person: Person, kind: str, on_date: dt.date) -> WorkRecord | None:
    return db.session.execute(select(WorkRecord).where(
        WorkRecord.root_id == person.root_id, WorkRecord.person_id == person.id, WorkRecord.kind == kind,
        WorkRecord.on_date == on_date).execution_options(populate_existing=True)).scalar_one_or_none()


def _exists_conflict(wr: WorkRecord) -> None:
    """A write without a version that meets a stored record: refused with the
    stored version, so the writer can review it and update it by naming it."""
    raise Conflict({"version": [f"A record for {wr.on_date.isoformat()} already exists (version {wr.version}); "
                                "review it and save again to replace that version."],
                    "current": {"version": wr.version, **_dump(wr)}},
                   "The record already exists.")


def comment_work_record(period: Period, wr: WorkRecord, rater: Person, comment: str, visible: bool,
                        idx: RelationIndex | None = None) -> WorkRecord:
    require_state(period, ("open", "rating", "review"), "period", N_("Commenting"))
    idx = idx or relation_index(period, only=(rater.id, wr.person_id))
    rule = idx.check(rater.id, wr.person_id, "supervisor")
    if rule is not None:
        raise Forbidden({"rule": [RULES[rule]]}, RULES[rule])
    wr.supervisor_comment, wr.comment_visible = comment, visible
    db.session.flush()
    record("routine.work_record.comment", root_id=wr.root_id, org_id=wr.org_id, target_type="routine_work_record",
           target_id=wr.id, after={"comment": comment, "visible": visible})
    return wr
