"""Reconciling routine ratings with the audit log: a submitted rating whose
live scores differ from the after-state of its last audit entry was changed
behind the log's back (``kaohe audit reconcile``)."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable

from sqlalchemy import select

from ..audit.models import AuditEntry
from ..audit.service import canonical, register_reconciler
from ..extensions import db
from .models import Rating


def _rating_state(scores) -> tuple[Any, str]:
    canon = canonical(scores)
    return canon, hashlib.sha256(json.dumps(scores, sort_keys=True).encode()).hexdigest()[:16]


@register_reconciler
def reconcile_ratings(root_ids: Iterable[int] | None = None) -> list[str]:
    """Rows whose live value differs from the after-state of their last audit
    entry (changed behind the log's back).  One statement per kind: the live
    rows joined with their latest entry (streamed, compared in Python)."""
    from sqlalchemy import and_, cast, func, String as SaString

    out: list[str] = []
    latest = (select(AuditEntry.target_id.label("tid"), func.max(AuditEntry.id).label("eid"))
              .where(AuditEntry.target_type == "routine_rating",
                     AuditEntry.action.in_(("routine.rating.submit", "routine.rating.adjust")))
              .group_by(AuditEntry.target_id))
    if root_ids is not None:
        latest = latest.where(AuditEntry.root_id.in_(list(root_ids)))
    latest = latest.subquery()
    stmt = (select(Rating.id, Rating.root_id, Rating.scores, AuditEntry.after, AuditEntry.seq, AuditEntry.lane)
            .join(latest, latest.c.tid == cast(Rating.id, SaString))
            .join(AuditEntry, AuditEntry.id == latest.c.eid)
            .where(Rating.submitted_at.isnot(None))
            .execution_options(yield_per=5000))
    if root_ids is not None:
        stmt = stmt.where(Rating.root_id.in_(list(root_ids)))
    for rid, root, scores, after, seq, lane in db.session.execute(stmt):
        after = after or {}
        canon, digest = _rating_state(scores)
        if "scores" in after:
            same = after["scores"] == canon
        else:
            same = after.get("scores_digest") == digest
        if not same:
            out.append(f"province {root}: routine_rating {rid}: scores differ from the audited after-state "
                       f"(lane {lane} seq {seq})")
    # Submitted ratings that no audit entry ever described.
    unaudited = (select(Rating.id, Rating.root_id)
                 .where(Rating.submitted_at.isnot(None),
                        ~select(latest.c.tid).where(latest.c.tid == cast(Rating.id, SaString)).exists()))
    if root_ids is not None:
        unaudited = unaudited.where(Rating.root_id.in_(list(root_ids)))
    for rid, root in db.session.execute(unaudited):
        out.append(f"province {root}: routine_rating {rid}: submitted but never audited")
    return out
