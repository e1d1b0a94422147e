"""Leave as date ranges (病假/事假): the one validator and the business
operations for the page, the API and anything else that writes leave, and
each unit's leave summary for a year (calendar and working days, and the
verdict under the policy's measure), in a fixed number of queries.  Flush,
never commit; every change is audited (it can take a person's grade away)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..audit.service import record
from ..core.calendar import WorkCalendar
from ..core.errors import Conflict, Invalid
from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from ..web.messages import N_, register_templates
from .calc import leave as calc
from .models import AnnualLeave, AnnualRecord
from .policy import policy_for
from .service import actor_name

register_templates(*calc.TEMPLATES)

KIND_LABELS = {"sick": ("病假", "Sick leave"), "personal": ("事假", "Personal leave"), "other": ("其他", "Other leave")}


def _others(person_id: int, year: int, root_id: int, exclude: int | None = None) -> list[tuple]:
    stmt = select(AnnualLeave.id, AnnualLeave.start_date, AnnualLeave.end_date).where(
        AnnualLeave.root_id == root_id, AnnualLeave.person_id == person_id, AnnualLeave.year == year)
    if exclude is not None:
        stmt = stmt.where(AnnualLeave.id != exclude)
    return list(db.session.execute(stmt).all())


def _check(unit: OrgNode, person: Person, year, start, end, kind, note, exclude=None) -> None:
    errors: dict = {}
    if person.unit_id != unit.id:
        errors["person_id"] = [N_("This person is not on the unit's roster.")]
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        errors["year"] = [N_("The year is between 2000 and 2100.")]
        raise Invalid(errors)
    if note is not None and len(note) > 2000:
        errors["note"] = [N_("The note is limited to 2,000 characters.")]
    errors.update(calc.range_errors(year, start, end, kind, _others(person.id, year, unit.root_id, exclude)))
    if errors:
        raise Invalid(errors)


def _audit(action, rec: AnnualLeave, before=None, reason=None) -> None:
    record(action, root_id=rec.root_id, org_id=rec.org_id, target_type="person", target_id=rec.person_id,
           before=before, after=None if action.endswith("delete") else _state(rec), reason=reason)


def _state(rec: AnnualLeave) -> dict:
    return {"leave": rec.id, "year": rec.year, "start": rec.start_date, "end": rec.end_date, "kind": rec.kind,
            "note": rec.note}


def add_leave(unit: OrgNode, person: Person, *, year: int, start_date: dt.date | None, end_date: dt.date | None,
              kind: str | None, note: str | None = None) -> AnnualLeave:
    note = (note or "").strip() or None
    _check(unit, person, year, start_date, end_date, kind, note)
    rec = AnnualLeave(root_id=unit.root_id, org_id=unit.id, person_id=person.id, year=year, start_date=start_date,
                      end_date=end_date, kind=kind, note=note, created_by=actor_name())
    db.session.add(rec)
    db.session.flush()
    _audit("annual.leave.add", rec)
    return rec


def update_leave(rec: AnnualLeave, *, start_date: dt.date | None, end_date: dt.date | None, kind: str | None,
                 note: str | None = None, expected_version: int | None = None) -> AnnualLeave:
    unit = db.session.get(OrgNode, rec.org_id)
    person = db.session.get(Person, rec.person_id)
    if expected_version is not None and int(expected_version) != rec.version:
        raise Conflict({"version": [N_("Someone changed this leave first; reload and try again.")],
                        "current": _state(rec)}, "The leave was changed by someone else.")
    note = (note or "").strip() or None
    _check(unit, person, rec.year, start_date, end_date, kind, note, exclude=rec.id)
    before = _state(rec)
    rec.start_date, rec.end_date, rec.kind, rec.note = start_date, end_date, kind, note
    db.session.flush()
    _audit("annual.leave.update", rec, before)
    return rec


def delete_leave(rec: AnnualLeave, reason: str | None = None) -> None:
    before = _state(rec)
    db.session.delete(rec)
    db.session.flush()
    record("annual.leave.delete", root_id=rec.root_id, org_id=rec.org_id, target_type="person",
           target_id=rec.person_id, before=before, reason=(reason or "").strip() or None)


def summary(unit: OrgNode, year: int, people: list[Person] | None = None) -> dict:
    """The unit's leave for ``year``: the policy's measure and limits, and per
    person with leave their ranges, calendar and working days (or the legacy
    day count when they have no range) and whether it is more than half the
    year.  Three queries whatever the headcount."""
    pol = policy_for(unit, year)
    mode = pol.get("eligibility.leave_measure") or "calendar_days"
    limit = int(pol.get("eligibility.leave_days", 183))
    workdays = calc.year_workdays(year, WorkCalendar.from_policy(pol).is_workday)
    ranges: dict[int, list[AnnualLeave]] = {}
    for rec in db.session.execute(select(AnnualLeave).where(
            AnnualLeave.root_id == unit.root_id, AnnualLeave.org_id == unit.id, AnnualLeave.year == year)
            .order_by(AnnualLeave.person_id, AnnualLeave.start_date)).scalars():
        ranges.setdefault(rec.person_id, []).append(rec)
    legacy: dict[int, int] = {}
    for pid, days in db.session.execute(select(AnnualRecord.person_id, AnnualRecord.days).where(
            AnnualRecord.root_id == unit.root_id, AnnualRecord.org_id == unit.id, AnnualRecord.kind == "leave",
            AnnualRecord.year == year)):
        legacy[pid] = legacy.get(pid, 0) + int(days or 0)
    rows = {}
    for pid in sorted(set(ranges) | set(legacy)):
        recs = ranges.get(pid, [])
        if recs:
            cal, work = calc.measure([(r.start_date, r.end_date) for r in recs], workdays)
        else:
            cal, work = legacy.get(pid, 0), None
        rows[pid] = {"person_id": pid, "ranges": recs, "calendar_days": cal, "working_days": work,
                     "legacy_days": legacy.get(pid) if not recs else None,
                     "ignored_legacy_days": legacy.get(pid) if recs else None,
                     "long": calc.is_long(cal, work, len(workdays), mode, limit)}
    return {"year": year, "measure": mode, "limit_days": limit, "year_working_days": len(workdays),
            "half_working_days": len(workdays) / 2, "people": rows}
