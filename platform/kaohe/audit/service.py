"""Writing and verifying the audit chain.  ``record`` flushes, never commits:
the entry lands in the same transaction as the change it describes."""
from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core.db import utcnow
from ..extensions import db
from .models import AuditEntry, AuditHead

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    id: int | None
    name: str


_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("kaohe_actor", default=None)


def set_actor(actor: Actor | None):
    return _actor.set(actor)


def reset_actor(token) -> None:
    _actor.reset(token)


def current_actor() -> Actor:
    actor = _actor.get()
    if actor is not None:
        return actor
    try:
        from flask_login import current_user

        if current_user and current_user.is_authenticated:
            return Actor(current_user.id, current_user.username)
    except Exception:  # outside a request
        pass
    return Actor(None, "system")


def canonical(value: Any) -> Any:
    """JSON-normalised copy: what the database will give back."""
    if value is None:
        return None
    return json.loads(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))


def _ts(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def entry_hash(e: AuditEntry | dict) -> str:
    get = (lambda k: e[k]) if isinstance(e, dict) else (lambda k: getattr(e, k))
    payload = {
        "root_id": get("root_id"), "org_id": get("org_id"), "seq": get("seq"),
        "created_at": _ts(get("created_at")), "actor_id": get("actor_id"), "actor_name": get("actor_name"),
        "action": get("action"), "target_type": get("target_type"), "target_id": get("target_id"),
        "before": get("before"), "after": get("after"), "reason": get("reason"), "prev_hash": get("prev_hash"),
    }
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _lock_head(root_id: int) -> AuditHead:
    stmt = select(AuditHead).where(AuditHead.root_id == root_id).with_for_update()
    head = db.session.execute(stmt).scalar_one_or_none()
    if head is not None:
        return head
    try:
        with db.session.begin_nested():
            db.session.add(AuditHead(root_id=root_id, seq=0, hash=GENESIS))
    except IntegrityError:  # another writer created it first
        pass
    return db.session.execute(stmt).scalar_one()


def record(action: str, *, root_id: int, org_id: int, target_type: str, target_id: Any = None,
           before: Any = None, after: Any = None, reason: str | None = None,
           actor: Actor | None = None) -> AuditEntry:
    """Append one entry to the province's chain (flush, no commit)."""
    actor = actor or current_actor()
    head = _lock_head(root_id)
    entry = AuditEntry(
        root_id=root_id, org_id=org_id, seq=head.seq + 1,
        created_at=utcnow(),
        actor_id=actor.id, actor_name=actor.name, action=action, target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=canonical(before), after=canonical(after), reason=reason, prev_hash=head.hash,
    )
    entry.hash = entry_hash(entry)
    head.seq = entry.seq
    head.hash = entry.hash
    db.session.add(entry)
    db.session.flush()
    return entry


def diff(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys that changed, for compact before/after records."""
    keys = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    return {k: before.get(k) for k in sorted(keys)}, {k: after.get(k) for k in sorted(keys)}


@dataclass
class ChainReport:
    root_id: int
    entries: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(root_ids: Iterable[int] | None = None, batch: int = 5000) -> list[ChainReport]:
    """Recompute every chain.  Reads in id order in batches (constant memory)."""
    if root_ids is None:
        root_ids = [r for (r,) in db.session.execute(select(AuditHead.root_id).order_by(AuditHead.root_id))]
    reports = []
    for root_id in root_ids:
        problems: list[str] = []
        prev, expected_seq, count, last_seq = GENESIS, 1, 0, 0
        stmt = (select(AuditEntry).where(AuditEntry.root_id == root_id).order_by(AuditEntry.seq)
                .execution_options(yield_per=batch))
        for e in db.session.execute(stmt).scalars():
            count += 1
            if e.seq != expected_seq:
                # One problem, one line: the link after a gap breaks by itself.
                problems.append(f"seq {expected_seq}..{e.seq - 1} missing (entries removed)")
            elif e.prev_hash != prev:
                problems.append(f"seq {e.seq}: link to previous entry broken")
            if entry_hash(e) != e.hash:
                problems.append(f"seq {e.seq}: content does not match its hash (entry {e.id} altered)")
            prev, expected_seq, last_seq = e.hash, e.seq + 1, e.seq
        head = db.session.get(AuditHead, root_id)
        if head is not None and (head.seq != last_seq or head.hash != prev):
            problems.append(f"chain ends at seq {last_seq} but head says {head.seq} (entries removed at the end)")
        reports.append(ChainReport(root_id, count, problems))
        db.session.expunge_all()
    return reports
