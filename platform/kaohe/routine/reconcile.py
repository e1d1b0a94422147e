"""Reconciling routine ratings and results with the audit log: a submitted
rating whose live scores differ from the after-state of its last audit
entry, or a period result whose score or grade differs from the after-state
the period's last computation audited, was changed behind the log's back
(``kaohe audit reconcile``)."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable

from sqlalchemy import select

from ..audit.models import AuditEntry
from ..audit.service import canonical, register_reconciler
from ..extensions import db
from .models import Period, Result, Rating


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


@register_reconciler
def reconcile_results(root_ids: Iterable[int] | None = None) -> list[str]:
    """Period results against the ``audited`` map of the period's latest
    ``routine.period.compute`` entry (every computation, amendments included,
    writes one).  Two streams ordered by period, merged: the periods with their
    latest entry (one row per period) and the results; memory holds one
    period at a time.  A period whose latest computation was audited before
    the entry carried the map is not checked."""
    from sqlalchemy import String as SaString, cast, func

    ids = list(root_ids) if root_ids is not None else None
    latest = (select(AuditEntry.target_id.label("tid"), func.max(AuditEntry.id).label("eid"))
              .where(AuditEntry.target_type == "routine_period", AuditEntry.action == "routine.period.compute")
              .group_by(AuditEntry.target_id))
    if ids is not None:
        latest = latest.where(AuditEntry.root_id.in_(ids))
    latest = latest.subquery()
    periods = (select(Period.id, AuditEntry.after, AuditEntry.lane, AuditEntry.seq)
               .join(latest, latest.c.tid == cast(Period.id, SaString))
               .join(AuditEntry, AuditEntry.id == latest.c.eid)
               .order_by(Period.id).execution_options(yield_per=500))
    results = (select(Result.id, Result.root_id, Result.period_id, Result.person_id, Result.score, Result.grade)
               .order_by(Result.period_id, Result.person_id).execution_options(yield_per=5000))
    if ids is not None:
        periods = periods.where(Period.root_id.in_(ids))
        results = results.where(Result.root_id.in_(ids))
    audited_periods = iter(db.session.execute(periods))
    current = next(audited_periods, None)
    out: list[str] = []
    for rid, root, period_id, person_id, score, grade in db.session.execute(results):
        while current is not None and current[0] < period_id:
            current = next(audited_periods, None)
        if current is None or current[0] != period_id:
            out.append(f"province {root}: routine_result {rid}: period {period_id} has results but no audited "
                       f"computation")
            continue
        state = (current[1] or {}).get("audited")
        if state is None:
            continue        # computed before computations carried their after-state
        want = state.get(str(person_id))
        if want is None:
            out.append(f"province {root}: routine_result {rid}: person {person_id} is not in the audited "
                       f"computation of period {period_id} (lane {current[2]} seq {current[3]})")
        elif [score, grade] != want:
            out.append(f"province {root}: routine_result {rid}: score/grade {score}/{grade} differ from the "
                       f"audited after-state {want[0]}/{want[1]} (lane {current[2]} seq {current[3]})")
    return out
