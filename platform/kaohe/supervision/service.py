"""Reminders from a supervising node to a unit below it.  Flush, never commit."""
from __future__ import annotations

from sqlalchemy import select

from ..audit.service import current_actor, record
from ..core.db import utcnow
from ..core.errors import Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from .models import TOPICS, Reminder

MAX_MESSAGE = 2000


def send_reminder(*, from_node: OrgNode, target: OrgNode, topic: str, message: str,
                  snapshot: dict | None = None) -> Reminder:
    errors: dict[str, list[str]] = {}
    if target.root_id != from_node.root_id or not target.path.startswith(from_node.path) or target.id == from_node.id:
        errors["org_id"] = ["A reminder goes to a unit below the supervising node."]
    if target.kind == "department":
        errors.setdefault("org_id", []).append("Send reminders to a unit or an area, not to a department.")
    if topic not in TOPICS:
        errors["topic"] = ["Unknown topic; one of: " + ", ".join(TOPICS) + "."]
    text = (message or "").strip()
    if not text:
        errors["message"] = ["Write what the unit should do."]
    elif len(text) > MAX_MESSAGE:
        errors["message"] = [f"At most {MAX_MESSAGE} characters."]
    if errors:
        raise Invalid(errors)
    actor = current_actor()
    rem = Reminder(root_id=target.root_id, org_id=target.id, from_org_id=from_node.id, sender_id=actor.id,
                   sender_name=actor.name, topic=topic, message=text, snapshot=snapshot)
    db.session.add(rem)
    db.session.flush()
    record("supervision.reminder.send", root_id=target.root_id, org_id=target.id, target_type="reminder",
           target_id=rem.id, after={"to": target.code, "from": from_node.code, "topic": topic, "message": text,
                                    "snapshot": snapshot})
    return rem


def acknowledge(rem: Reminder) -> Reminder:
    if rem.acknowledged_at is not None:
        return rem
    actor = current_actor()
    rem.acknowledged_at = utcnow()
    rem.acknowledged_by = actor.id
    db.session.flush()
    record("supervision.reminder.acknowledge", root_id=rem.root_id, org_id=rem.org_id, target_type="reminder",
           target_id=rem.id, before={"acknowledged": False}, after={"acknowledged": True})
    return rem


def reminders_for_nodes(node_ids: list[int], *, open_only: bool = True, limit: int = 20) -> list[Reminder]:
    """Reminders addressed to these nodes (the ones a person administers)."""
    if not node_ids:
        return []
    stmt = select(Reminder).where(Reminder.org_id.in_(node_ids))
    if open_only:
        stmt = stmt.where(Reminder.acknowledged_at.is_(None))
    return list(db.session.execute(stmt.order_by(Reminder.created_at.desc()).limit(limit)).scalars())


def reminders_below(node: OrgNode, limit: int = 100) -> list[Reminder]:
    """Reminders sent to the node's subtree (what a supervisor sent)."""
    stmt = (select(Reminder).where(Reminder.root_id == node.root_id, Reminder.org_id.in_(
        select(OrgNode.id).where(OrgNode.root_id == node.root_id, OrgNode.path.like(node.path + "%"))))
        .order_by(Reminder.created_at.desc()).limit(limit))
    return list(db.session.execute(stmt).scalars())
