"""Attendance: signing in and out, and corrections approved by the
supervisor.  Days are business days (core.clock)."""
from __future__ import annotations

from ..web.messages import N_
import datetime as dt

from sqlalchemy import select

from ..audit.service import current_actor, record
from ..core import clock
from ..core.db import upsert_insert, utcnow
from ..core.errors import Conflict, Forbidden
from ..extensions import db
from ..people.models import Person
from .common import check_version, invalid, today
from .models import Attendance, Correction, Period


def _final_period_covering(person: Person, day: dt.date) -> Period | None:
    return db.session.execute(select(Period).where(
        Period.root_id == person.root_id, Period.org_id == person.unit_id, Period.state == "final",
        Period.starts_on <= day, Period.ends_on >= day)).scalars().first()


def sign(person: Person, what: str, now: dt.datetime | None = None) -> Attendance:
    now = now or utcnow()
    day = now.astimezone(_tz()).date()
    if _final_period_covering(person, day):
        raise invalid("day", N_("This day belongs to a final period; attendance can no longer change."))
    att = db.session.execute(select(Attendance).where(Attendance.person_id == person.id,
                                                      Attendance.day == day)).scalar_one_or_none()
    if att is None:
        att = Attendance(root_id=person.root_id, org_id=person.org_id, person_id=person.id, day=day)
        db.session.add(att)
    if what == "in":
        if att.sign_in_at is not None:
            raise Conflict({"sign_in": [f"Already signed in today at {att.sign_in_at.astimezone(_tz()):%H:%M}."]})
        att.sign_in_at = now
    else:
        if att.sign_out_at is not None:
            raise Conflict({"sign_out": [f"Already signed out today at {att.sign_out_at.astimezone(_tz()):%H:%M}."]})
        att.sign_out_at = now
    db.session.flush()
    _audit_sign(person.root_id, att.org_id, att.id, what, now)
    return att


def _audit_sign(root_id: int, org_id: int, attendance_id: int, what: str, now: dt.datetime) -> None:
    """A sign-in or -out is the evidence of 勤 the raters weigh: audited like
    its corrections (who, which row, the instant)."""
    record("routine.attendance.sign", root_id=root_id, org_id=org_id, target_type="routine_attendance",
           target_id=attendance_id, after={"sign_in_at" if what == "in" else "sign_out_at": now})


_RETURNED = ("id", "person_id", "day", "sign_in_at", "sign_out_at", "corrected", "org_id")
_SIGN_STMTS: dict = {}


def _sign_stmt(dialect: str, what: str, n_paths: int):
    """``INSERT .. SELECT FROM person .. ON CONFLICT DO UPDATE .. RETURNING``:
    the caller's person (explicitly inside the scope), no final period
    covering the day, and today's row created or completed only when that
    half is still empty -- one statement, built once per dialect and kind (its
    compiled form is then cached by SQLAlchemy)."""
    key = (dialect, what, n_paths)
    stmt = _SIGN_STMTS.get(key)
    if stmt is not None:
        return stmt
    from sqlalchemy import bindparam, exists, literal

    t = Attendance.__table__
    col = "sign_in_at" if what == "in" else "sign_out_at"
    day, now = bindparam("day", type_=t.c.day.type), bindparam("now", type_=t.c[col].type)
    final = exists().where(Period.root_id == Person.root_id, Period.org_id == Person.unit_id,
                           Period.state == "final", Period.starts_on <= day, Period.ends_on >= day)
    from sqlalchemy import or_

    from ..tenancy.models import OrgNode

    source = (select(Person.root_id, Person.org_id, Person.id, day, now, literal(False))
              .where(Person.id == bindparam("person_id"), Person.root_id == bindparam("root_id"), ~final))
    if n_paths:     # n_paths == 0: the whole province
        source = source.where(Person.org_id.in_(select(OrgNode.id).where(
            OrgNode.root_id == bindparam("root_id"),
            or_(*[OrgNode.path.like(bindparam(f"path{i}")) for i in range(n_paths)]))))
    ins = upsert_insert(dialect, t).from_select(
        ["root_id", "org_id", "person_id", "day", col, "corrected"], source)
    stmt = ins.on_conflict_do_update(index_elements=["root_id", "person_id", "day"],
                                     set_={col: ins.excluded[col]}, where=t.c[col].is_(None)
                                     ).returning(*[t.c[c] for c in _RETURNED])
    _SIGN_STMTS[key] = stmt
    return stmt


def sign_now(person_id: int | None, what: str, now: dt.datetime | None = None) -> dict:
    """Sign the caller's person in or out (the API's hot path): one
    statement when it succeeds, the person (in the caller's scope), the
    final-period rule and "already signed" checked by that statement; the
    reasons are looked up only when it writes nothing.  Returns the row."""
    from ..tenancy.scope import current_scope, org_filter

    now = now or utcnow()
    day = now.astimezone(_tz()).date()
    scope = current_scope()
    if person_id is None or scope.root_id is None or not scope.paths:
        raise Forbidden({"account": [N_("This account is not linked to a person on a roster.")]})
    dialect = db.session.get_bind().dialect.name
    # Layer 1, explicitly: the person must be inside the caller's scope
    # (province and subtree in the statement's WHERE; RLS checks it again).
    paths = () if scope.whole_root else scope.paths
    params = {"day": day, "now": now, "person_id": person_id, "root_id": scope.root_id,
              **{f"path{i}": p + "%" for i, p in enumerate(paths)}}
    row = db.session.execute(_sign_stmt(dialect, what, len(paths)), params).first()
    if row is not None:
        out = dict(zip(_RETURNED, row))
        _audit_sign(scope.root_id, out["org_id"], out["id"], what, now)
        return out
    person = db.session.execute(select(Person).where(Person.id == person_id, Person.root_id == scope.root_id,
                                                     org_filter(Person.org_id, scope))).scalar_one_or_none()
    if person is None:
        raise Forbidden({"account": [N_("This account is not linked to a person on a roster.")]})
    sign(person, what, now)     # raises the rule that refused it (final period, already signed)
    raise Conflict({"sign_" + what: ["Attendance changed while signing; try again."]})


def _tz():
    return clock.tz()


def request_correction(person: Person, day: dt.date, reason: str, sign_in_at: dt.datetime | None,
                       sign_out_at: dt.datetime | None) -> Correction:
    if day > today():
        raise invalid("day", N_("A correction is for a past day (or today)."))
    if _final_period_covering(person, day):
        raise invalid("day", N_("This day belongs to a final period; attendance can no longer be corrected."))
    if not (reason or "").strip():
        raise invalid("reason", N_("Give the reason (e.g. a meeting or training away from the office)."))
    if sign_in_at is None and sign_out_at is None:
        raise invalid("sign_in_at", N_("Give the sign-in time, the sign-out time, or both."))
    for name, t in (("sign_in_at", sign_in_at), ("sign_out_at", sign_out_at)):
        if t is not None and t.astimezone(_tz()).date() != day:
            raise invalid(name, N_("The time must be on the day being corrected."))
    # instants, stored in UTC: SQLite keeps no offset, so a local wall-clock
    # time stored as such came back 8 hours late
    sign_in_at, sign_out_at = (t.astimezone(dt.timezone.utc) if t is not None else None
                               for t in (sign_in_at, sign_out_at))
    if sign_in_at and sign_out_at and sign_out_at <= sign_in_at:
        raise invalid("sign_out_at", N_("Sign-out must be after sign-in."))
    if person.supervisor_id is None:
        raise invalid("person", N_("You have no supervisor on the roster to approve a correction; ask the office."))
    if db.session.execute(select(Correction.id).where(Correction.person_id == person.id, Correction.day == day,
                                                      Correction.status == "pending")).first():
        raise Conflict({"day": [N_("A correction for this day is already waiting for approval.")]})
    c = Correction(root_id=person.root_id, org_id=person.org_id, person_id=person.id, day=day, reason=reason.strip(),
                   sign_in_at=sign_in_at, sign_out_at=sign_out_at)
    db.session.add(c)
    db.session.flush()
    record("routine.correction.request", root_id=person.root_id, org_id=person.org_id,
           target_type="routine_correction", target_id=c.id,
           after={"day": day, "in": sign_in_at, "out": sign_out_at, "reason": c.reason})
    return c


def decide_correction(c: Correction, decider: Person | None, approve: bool, note: str | None,
                      expected_version: int | None = None) -> Correction:
    person = db.session.get(Person, c.person_id)
    if decider is None or person.supervisor_id != decider.id:
        raise Forbidden({"rule": [N_("Only the person's supervisor approves or rejects an attendance correction.")]})
    if c.status != "pending":
        raise Conflict({"status": [N_("This request was already approved.") if c.status == "approved"
                                   else N_("This request was already rejected.")]})
    check_version(c, expected_version, lambda o: {"status": o.status})
    if approve and _final_period_covering(person, c.day):
        raise invalid("day", N_("This day belongs to a final period; attendance can no longer be corrected."))
    if not approve and not (note or "").strip():
        raise invalid("note", N_("Say why the request is rejected."))
    c.status = "approved" if approve else "rejected"
    c.decided_by = current_actor().id
    c.decided_at = utcnow()
    c.decision_note = note
    before = None
    if approve:
        att = db.session.execute(select(Attendance).where(Attendance.person_id == person.id,
                                                          Attendance.day == c.day)).scalar_one_or_none()
        if att is None:
            att = Attendance(root_id=person.root_id, org_id=person.org_id, person_id=person.id, day=c.day)
            db.session.add(att)
        else:
            before = {"in": att.sign_in_at, "out": att.sign_out_at}
        if c.sign_in_at:
            att.sign_in_at = c.sign_in_at
        if c.sign_out_at:
            att.sign_out_at = c.sign_out_at
        att.corrected = True
    db.session.flush()
    record("routine.correction." + c.status, root_id=c.root_id, org_id=c.org_id, target_type="routine_correction",
           target_id=c.id, before=before, after={"status": c.status, "day": c.day, "in": c.sign_in_at,
                                                 "out": c.sign_out_at, "note": note})
    return c
