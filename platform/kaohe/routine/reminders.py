"""Reminders (seed 000: a daily check of missed sign-ins; overdue records
and ratings).  Run by the `routine.remind` job / `kaohe routine remind`
under an explicit scope; a fixed number of queries per open period, and
idempotent: one reminder per person, kind and day."""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import insert, select

from ..auth.models import User
from ..core.calendar import WorkCalendar
from ..extensions import db
from .common import period_policy, today
from .completeness import months_so_far
from .models import Attendance, Participant, Period, Rating, RoutineReminder, WorkRecord
from .periods import participants, relation_index

log = logging.getLogger("kaohe.routine")


# Later slices add ``fn(new_rows, day) -> {count_name: n}`` (called in the same transaction).
AFTER_REMINDERS: list = []


def run_reminders(day: dt.date | None = None, progress=lambda *a, **k: None) -> dict:
    day = day or today()
    periods = list(db.session.execute(select(Period).where(Period.state.in_(("open", "rating")))).scalars())
    counts = {"sign_in": 0, "work_record": 0, "rating": 0, "mailed": 0}
    existing = {(pid, kind) for pid, kind in db.session.execute(
        select(RoutineReminder.person_id, RoutineReminder.kind).where(RoutineReminder.day == day))}
    rows: list[dict] = []

    def add(period, person_id, org_id, kind, message):
        if (person_id, kind) in existing:
            return
        existing.add((person_id, kind))
        rows.append({"root_id": period.root_id, "org_id": org_id, "person_id": person_id, "kind": kind,
                     "day": day, "message": message, "mailed": False})
        counts[kind] += 1

    for i, period in enumerate(periods):
        progress(i, len(periods), period.label)
        parts = participants(period)
        cal = WorkCalendar.from_policy(period_policy(period))
        # 1. missing sign-ins on a working day inside the period
        if period.starts_on <= day <= period.ends_on and cal.is_workday(day) and day <= today():
            signed = set(db.session.execute(select(Attendance.person_id).where(
                Attendance.root_id == period.root_id, Attendance.day == day,
                Attendance.sign_in_at.is_not(None))).scalars())
            for p in parts:
                if p.person_id not in signed:
                    add(period, p.person_id, p.org_id, "sign_in",
                        f"{day.isoformat()} 未签到 — no sign-in recorded today; sign in or request a correction.")
        # 2. work records of past months in the period
        due_months = {m for m in months_so_far(period) if m < day.replace(day=1)}
        if due_months:
            have: dict[int, set] = {}
            for pid, d in db.session.execute(select(WorkRecord.person_id, WorkRecord.on_date).where(
                    WorkRecord.period_id == period.id, WorkRecord.kind == "monthly")):
                have.setdefault(pid, set()).add(d)
            for p in parts:
                missing = sorted(due_months - have.get(p.person_id, set()))
                if missing:
                    add(period, p.person_id, p.org_id, "work_record",
                        "工作写实未填写 — work record missing for " + ", ".join(m.strftime("%Y-%m") for m in missing))
        # 3. ratings owed once the period is in rating
        if period.state == "rating":
            idx = relation_index(period, parts)
            given = {(a, b, k) for a, b, k in db.session.execute(select(
                Rating.rater_id, Rating.ratee_id, Rating.rater_kind).where(Rating.period_id == period.id))}
            orgs = {p.person_id: p.org_id for p in parts}
            for rater in idx.people:
                owed = [1 for b, k in idx.ratees_of(rater) if (rater, b, k) not in given]
                if owed:
                    add(period, rater, orgs[rater], "rating",
                        f"{period.label}: 还有 {len(owed)} 项评价未完成 — {len(owed)} rating(s) still to give.")
    if rows:
        db.session.execute(insert(RoutineReminder), rows)
        if current_app.config.get("KAOHE_MAIL_SERVER"):
            counts["mailed"] = _mail(rows)
    for hook in AFTER_REMINDERS:   # e.g. kaohe.notify: a digest to the units' group chats
        counts.update(hook(rows, day) or {})
    progress(len(periods), len(periods), "done")
    return counts


def _mail(rows: list[dict]) -> int:
    """Send the new reminders by mail (only when KAOHE_MAIL_SERVER is set)."""
    person_ids = {r["person_id"] for r in rows}
    emails = dict(db.session.execute(select(User.person_id, User.email).where(
        User.person_id.in_(person_ids), User.email.is_not(None))).all())
    cfg = current_app.config
    sent = 0
    try:
        with smtplib.SMTP(cfg["KAOHE_MAIL_SERVER"], int(cfg.get("KAOHE_MAIL_PORT", 25)), timeout=10) as smtp:
            for r in rows:
                to = emails.get(r["person_id"])
                if not to:
                    continue
                msg = EmailMessage()
                msg["From"] = cfg.get("KAOHE_MAIL_FROM", "kaohe@localhost")
                msg["To"] = to
                msg["Subject"] = "考核提醒 Kaohe reminder"
                msg.set_content(r["message"])
                smtp.send_message(msg)
                sent += 1
    except OSError as exc:  # mail is best effort; the reminder is in the app either way
        log.warning("reminder mail failed: %s", exc)
    return sent
