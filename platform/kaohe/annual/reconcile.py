"""Reconciling annual outcomes (the grade that counts, its score and the
performance pay) with the audit log (``kaohe audit reconcile``).

The audited after-state of an outcome is folded from, in log order: the
``annual.confirm`` entry of its assessment (``audited``: every outcome's
[score, grade, pay_cents]) and the per-person entries that change one
outcome afterwards (``annual.grade.correct``, ``annual.grade.appeal_change``,
``annual.pay.change``, naming their ``assessment_id``).  A live outcome
whose value differs was changed behind the log's back.

Set-based: assessments in batches; per batch one query for the entries
(the confirmations by id, the per-person entries by the batch's units) and
one for the outcomes, whatever the headcount."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import and_, or_, select

from ..audit.models import AuditEntry
from ..audit.service import register_reconciler
from ..extensions import db
from .models import AnnualAssessment, AnnualOutcome

CONFIRM = "annual.confirm"
PER_PERSON = ("annual.grade.correct", "annual.grade.appeal_change", "annual.pay.change")
FIELDS = ("score", "grade", "pay_cents")
BATCH = 500


@register_reconciler
def reconcile_outcomes(root_ids: Iterable[int] | None = None) -> list[str]:
    ids = list(root_ids) if root_ids is not None else None
    stmt = select(AnnualAssessment.id, AnnualAssessment.org_id).where(
        select(AnnualOutcome.id).where(AnnualOutcome.root_id == AnnualAssessment.root_id,
                                       AnnualOutcome.assessment_id == AnnualAssessment.id).exists())
    if ids is not None:
        stmt = stmt.where(AnnualAssessment.root_id.in_(ids))
    assessments = db.session.execute(stmt.order_by(AnnualAssessment.id)).all()
    out: list[str] = []
    for i in range(0, len(assessments), BATCH):
        out.extend(_batch(assessments[i:i + BATCH], ids))
    return out


def _batch(assessments, root_ids) -> list[str]:
    a_ids = {a for a, _org in assessments}
    orgs = sorted({org for _a, org in assessments})
    entries = (select(AuditEntry.action, AuditEntry.target_id, AuditEntry.after)
               .where(or_(and_(AuditEntry.action == CONFIRM, AuditEntry.target_type == "annual_assessment",
                               AuditEntry.target_id.in_([str(a) for a in sorted(a_ids)])),
                          and_(AuditEntry.action.in_(PER_PERSON), AuditEntry.target_type == "person",
                               AuditEntry.org_id.in_(orgs))))
               .order_by(AuditEntry.id).execution_options(yield_per=1000))
    if root_ids is not None:
        entries = entries.where(AuditEntry.root_id.in_(root_ids))
    audited: dict[tuple[int, int], dict] = {}
    confirmed: set[int] = set()          # assessments whose confirmation carried the after-state
    for action, target_id, after in db.session.execute(entries):
        after = after or {}
        if action == CONFIRM:
            state = after.get("audited")
            if state is None:
                continue
            aid = int(target_id)
            confirmed.add(aid)
            for pid, values in state.items():
                audited[(aid, int(pid))] = dict(zip(FIELDS, values))
        else:
            aid = after.get("assessment_id")
            if aid not in a_ids or not str(target_id).isdigit():
                continue
            cur = audited.setdefault((aid, int(target_id)), {})
            cur.update({k: after[k] for k in FIELDS if k in after})
    O = AnnualOutcome
    live = (select(O.id, O.root_id, O.assessment_id, O.person_id, O.score, O.grade, O.pay_cents)
            .where(O.assessment_id.in_(sorted(a_ids))).order_by(O.assessment_id, O.person_id)
            .execution_options(yield_per=5000))
    if root_ids is not None:
        live = live.where(O.root_id.in_(root_ids))
    out: list[str] = []
    for oid, root, aid, pid, score, grade, pay in db.session.execute(live):
        if aid not in confirmed:
            continue                    # confirmed before confirmations carried their after-state
        want = audited.get((aid, pid))
        if want is None:
            out.append(f"province {root}: annual_outcome {oid}: person {pid} of assessment {aid} was never audited")
            continue
        have = {"score": score, "grade": grade, "pay_cents": pay}
        bad = [k for k in FIELDS if k in want and want[k] != have[k]]
        if bad:
            diff = ", ".join(f"{k} {have[k]} (audited {want[k]})" for k in bad)
            out.append(f"province {root}: annual_outcome {oid}: {diff} differ from the audited after-state")
    return out
