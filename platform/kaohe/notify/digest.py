"""The daily digest for a unit's group chat: how many people still owe a
sign-in, a work record or ratings (from the routine reminders of the run),
and the annual events of the day: 公示 starting, written notices not yet
acknowledged, appeals whose decision is due within three days.  Counts only:
a group chat is no place for names.  A channel on a node receives what
happens in that node's subtree.  A fixed number of queries per run."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from sqlalchemy import func, select

from ..annual.models import AnnualAppeal, AnnualAssessment, AnnualOutcome
from ..core.clock import local_now
from ..extensions import db
from ..routine.reminders import AFTER_REMINDERS
from ..tenancy.models import OrgNode
from .channels import Message
from .models import NotifyChannel
from . import service

APPEAL_WARN_DAYS = 3
ACK_WINDOW_DAYS = 30      # a notice older than this is no longer chased in the chat

_ROUTINE = {"sign_in": "今日未签到 {n} 人 (no sign-in today: {n})",
            "work_record": "工作写实未填写 {n} 人 (work records missing: {n})",
            "rating": "尚有评价未完成 {n} 人 (ratings still to give: {n})"}


def _events(day: dt.date) -> dict[int, list[str]]:
    """Annual event lines per org id (everything in the current scope)."""
    out: dict[int, list[str]] = defaultdict(list)
    for org_id, year, end in db.session.execute(select(
            AnnualAssessment.org_id, AnnualAssessment.year, AnnualAssessment.publicity_end).where(
            AnnualAssessment.publicity_start == day)):
        out[org_id].append(f"{year}年度考核结果公示今日开始，至 {end} 止 (annual results publicised from today"
                           f" until {end})")
    for org_id, n in db.session.execute(select(AnnualOutcome.org_id, func.count()).where(
            AnnualOutcome.notice_on >= day - dt.timedelta(days=ACK_WINDOW_DAYS), AnnualOutcome.notice_on <= day,
            AnnualOutcome.acknowledged_at.is_(None))
            .group_by(AnnualOutcome.org_id)):
        out[org_id].append(f"考核结果通知尚未签收 {n} 人 (written notices not yet acknowledged: {n})")
    for org_id, n, first in db.session.execute(select(
            AnnualAppeal.decider_org_id, func.count(), func.min(AnnualAppeal.decide_by)).where(
            AnnualAppeal.status == "pending", AnnualAppeal.decide_by <= day + dt.timedelta(days=APPEAL_WARN_DAYS))
            .group_by(AnnualAppeal.decider_org_id)):
        out[org_id].append(f"复核/申诉待决定 {n} 件，最早 {first} 到期 (appeals to decide: {n}, first due {first})")
    return out


def queue_digests(reminder_rows: list[dict], day: dt.date) -> int:
    """Queue one digest per channel with something to say; returns how many."""
    channels = list(db.session.execute(select(NotifyChannel).where(NotifyChannel.active.is_(True))).scalars())
    if not channels:
        return 0
    routine: dict[int, Counter] = defaultdict(Counter)
    people: dict[tuple[int, str], set] = defaultdict(set)
    for r in reminder_rows:
        if r["person_id"] not in people[(r["org_id"], r["kind"])]:
            people[(r["org_id"], r["kind"])].add(r["person_id"])
            routine[r["org_id"]][r["kind"]] += 1
    events = _events(day)
    org_ids = set(routine) | set(events) | {c.org_id for c in channels}
    paths = dict(db.session.execute(select(OrgNode.id, OrgNode.path).where(OrgNode.id.in_(org_ids))).all())
    names = dict(db.session.execute(select(OrgNode.id, OrgNode.name).where(
        OrgNode.id.in_({c.org_id for c in channels}))).all())
    slot = f"digest:{local_now().hour:02d}"
    messages = {}
    for ch in channels:
        base = paths.get(ch.org_id)
        if base is None:
            continue
        inside = [o for o in org_ids if (paths.get(o) or "").startswith(base)]
        counts: Counter = Counter()
        for o in inside:
            counts.update(routine.get(o, {}))
        lines = [_ROUTINE[k].format(n=n) for k, n in sorted(counts.items()) if n and k in _ROUTINE]
        for o in sorted(inside):
            lines.extend(events.get(o, []))
        if lines:
            title = f"{names.get(ch.org_id, '')} 考核提醒 {day.isoformat()}"
            messages[ch.id] = [(slot, Message(title, "\n".join(f"- {line}" for line in lines)))]
    service.queue_messages(messages, day)
    return len(messages)


def _after_reminders(rows: list[dict], day: dt.date) -> dict:
    return {"chat_digests": queue_digests(rows, day)}


if _after_reminders.__qualname__ + __name__ not in {h.__qualname__ + h.__module__ for h in AFTER_REMINDERS}:
    AFTER_REMINDERS.append(_after_reminders)
