"""Events (deductions, bonuses, vetoes with their evidence) and the values
of data-fed indicators (metrics) imported from other systems."""
from __future__ import annotations

import datetime as dt

from ..web.messages import N_
from flask import current_app
from sqlalchemy import and_, delete, insert, or_, select

from ..audit.service import current_actor, record
from ..core.db import utcnow
from ..core.errors import Conflict, Invalid
from ..extensions import db
from ..people.models import Person
from . import calc
from .common import M_OUTSIDE, invalid
from .models import Event, Metric, Participant, Period
from .periods import EVENT_STATES, participant, participants, require_state


def _indicator_of(period: Period, part: Participant, code: str) -> dict | None:
    for i in part.personal:
        if i["code"] == code:
            return i
    scheme = period.frozen["schemes"][part.scheme_code]
    in_scheme = any(code in (s.get("indicators") or []) for s in scheme["sections"])
    return period.frozen["library"].get(code) if in_scheme else None


def record_event(period: Period, person_id: int, indicator_code: str, occurred_on: dt.date, evidence: str,
                 points: float | None = None, *, amendment: bool = False) -> Event:
    if not amendment:
        require_state(period, EVENT_STATES, "period", N_("Recording an event"))
    part = participant(period, person_id)
    if part is None:
        raise invalid("person_id", N_("This person does not take part in this period."))
    ind = _indicator_of(period, part, indicator_code)
    if ind is None or ind["kind"] not in calc.EVENT_KINDS:
        raise invalid("indicator_code", N_("Not a deduction, bonus or veto indicator of this person's scheme."))
    if not (period.starts_on <= occurred_on <= period.ends_on):
        raise invalid("occurred_on", M_OUTSIDE % {"start": period.starts_on, "end": period.ends_on})
    if not (evidence or "").strip():
        raise invalid("evidence", N_("Describe the evidence (what happened, where it is documented)."))
    pts = float(points) if points is not None else float(ind.get("per", 0)) if ind["kind"] != "veto" else 0.0
    existing = db.session.execute(select(Event.points).where(
        Event.period_id == period.id, Event.person_id == person_id, Event.indicator_code == indicator_code,
        Event.voided.is_(False))).scalars().all()
    try:
        calc.check_event(ind, existing, pts)
    except calc.SpecError as exc:
        raise Invalid(exc.errors, "The event breaks the indicator's rules.")
    actor = current_actor()
    ev = Event(root_id=period.root_id, org_id=part.org_id, period_id=period.id, person_id=person_id,
               indicator_code=indicator_code, kind=ind["kind"], occurred_on=occurred_on, points=pts,
               evidence=evidence.strip(), recorded_by=actor.id, recorded_by_name=actor.name)
    db.session.add(ev)
    db.session.flush()
    record("routine.event.record", root_id=period.root_id, org_id=part.org_id, target_type="routine_event",
           target_id=ev.id, after={"person": person_id, "indicator": indicator_code, "kind": ev.kind,
                                   "points": pts, "on": occurred_on, "evidence": ev.evidence})
    return ev


def void_event(period: Period, ev: Event, reason: str, *, amendment: bool = False) -> Event:
    if not amendment:
        require_state(period, EVENT_STATES, "period", N_("Voiding an event"))
    if ev.voided:
        raise Conflict({"event": [N_("This event is already void.")]})
    if not (reason or "").strip():
        raise invalid("reason", N_("Give the reason."))
    ev.voided, ev.void_reason = True, reason.strip()
    ev.created_at = utcnow()   # a change after the last computation makes the results stale
    db.session.flush()
    record("routine.event.void", root_id=ev.root_id, org_id=ev.org_id, target_type="routine_event", target_id=ev.id,
           before={"voided": False}, after={"voided": True}, reason=reason)
    return ev


def import_metrics(period: Period, rows: list[dict], source: str, *, amendment: bool = False) -> int:
    """Upsert per-person values for data-fed indicators.  Every row is
    checked before any is written (nothing half written)."""
    if not amendment:
        require_state(period, EVENT_STATES, "period", N_("Importing data"))
    parts = {p.person_id: p for p in participants(period)}
    staff = dict(db.session.execute(select(Person.staff_no, Person.id).where(
        Person.root_id == period.root_id, Person.unit_id == period.org_id)).all())
    errs: dict = {}
    clean = []
    for i, row in enumerate(rows):
        pid = row.get("person_id") or staff.get(str(row.get("staff_no") or ""))
        if pid not in parts:
            errs[f"rows.{i}.person"] = ["Unknown person (staff number or id) in this period."]
            continue
        ind = _indicator_of(period, parts[pid], str(row.get("indicator_code")))
        if ind is None or ind["kind"] != "data":
            errs[f"rows.{i}.indicator_code"] = ["Not a data-fed indicator of this person's scheme."]
            continue
        if not calc._num(row.get("value")):
            errs[f"rows.{i}.value"] = ["A number is required."]
            continue
        clean.append((pid, ind["code"], float(row["value"])))
    if errs:
        raise Invalid(errs, "Nothing was imported: fix the rows named.")
    keys = {(p, c) for p, c, _ in clean}
    if len(keys) != len(clean):
        raise invalid("rows", N_("The same person and indicator appear twice."))
    db.session.execute(delete(Metric).where(Metric.period_id == period.id, or_(*[
        and_(Metric.person_id == p, Metric.indicator_code == c) for p, c in keys])) if keys else Metric.id < 0)
    if clean:
        db.session.execute(insert(Metric), [{"root_id": period.root_id, "org_id": parts[p].org_id,
                                             "period_id": period.id, "person_id": p, "indicator_code": c,
                                             "value": v, "source": source[:80]} for p, c, v in clean])
    # Mark the results stale (a data change after computing).
    if period.computed_at is not None:
        period.computed_at = None
    db.session.flush()
    record("routine.metric.import", root_id=period.root_id, org_id=period.org_id, target_type="routine_period",
           target_id=period.id, after={"rows": len(clean), "source": source})
    return len(clean)


def read_metrics_xlsx(stream) -> list[dict]:
    """Rows from an xlsx with the header staff_no | indicator_code | value."""
    from openpyxl import load_workbook

    from ..core import xlsx_guard

    xlsx_guard.check(stream, config=current_app.config)  # a zip bomb or merged cells: 422 on "file" before openpyxl reads it
    try:
        wb = load_workbook(stream, read_only=True, data_only=True)
    except Exception:
        raise invalid("file", N_("Not a readable .xlsx file."))
    ws = wb.active
    rows_iter = ws.iter_rows(values_only=True)
    header = [str(h or "").strip().lower() for h in next(rows_iter, [])]
    need = ("staff_no", "indicator_code", "value")
    if not all(h in header for h in need):
        raise invalid("file", N_("The first row must name the columns staff_no, indicator_code, value."))
    pos = {h: header.index(h) for h in need}
    out = []
    for row in rows_iter:
        if row is None or all(c is None for c in row):
            continue
        out.append({h: row[pos[h]] if pos[h] < len(row) else None for h in need})
    wb.close()
    return out
