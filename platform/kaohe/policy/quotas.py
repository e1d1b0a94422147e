"""Excellence quotas of assessment units: each unit's quota with its
arithmetic (policy rate × headcount, org grade, approvals of a higher rate,
allocations handed down the tree), the approvals and the allocations
themselves, audited.  Flush, never commit."""
from __future__ import annotations

from ..web.messages import N_
import datetime as dt
from decimal import Decimal
from typing import Any, Iterable, Sequence

from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import IntegrityError

from ..audit.service import current_actor, record
from ..core import hooks
from ..core.errors import Invalid
from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgKind, OrgNode
from . import calc
from .labels import check_year, node_label, node_ref
from .models import OrgPerformanceGrade, QuotaAllocation, QuotaApproval, QuotaPool
from .org_grades import assessment_units
from .resolve import bump_version, effective_policies, effective_policy


# -- approvals -----------------------------------------------------------------

def approve_rate(unit: OrgNode, year: int, rate: Any, *, reason: str, approver_org: OrgNode) -> QuotaApproval:
    """Record the level above's approval of ``rate`` for ``unit`` in ``year``
    (supersedes an earlier approval)."""
    year = check_year(year, allow_all=False)
    if not unit.is_assessment_unit:
        raise Invalid({"org_id": [f"{node_label(unit)} is not an assessment unit"]})
    if not (reason or "").strip():
        raise Invalid({"reason": [N_("give the reason for the higher rate")]})
    if approver_org.id == unit.id or not unit.path.startswith(approver_org.path):
        raise Invalid({"approver_org_id": [N_("the approval must come from a level above the unit")]})
    try:
        r = Decimal(str(rate))
    except Exception:  # noqa: BLE001
        raise Invalid({"rate": [N_("must be a number between 0 and 1")]}) from None
    if isinstance(rate, bool) or not Decimal(0) < r <= Decimal(1):
        raise Invalid({"rate": [N_("must be a number between 0 and 1")]})
    pol = effective_policy(unit, year)
    hard = Decimal(str(pol["quota.hard_max_rate"]))
    if r > hard:
        src = pol.provenance("quota.hard_max_rate")["source"]
        who = node_label(db.session.get(OrgNode, src)) if src else "the national default"
        raise Invalid({"rate": [f"{calc.pct(r)} is above the hard maximum {calc.pct(hard)} set by {who}"]})
    ceiling = Decimal(str(pol["quota.max_rate_without_approval"]))
    if r <= ceiling:
        raise Invalid({"rate": [f"{calc.pct(r)} needs no approval (the ceiling without approval is "
                                f"{calc.pct(ceiling)})"]})
    previous = db.session.execute(select(QuotaApproval).where(
        QuotaApproval.root_id == unit.root_id, QuotaApproval.org_id == unit.id, QuotaApproval.year == year,
        QuotaApproval.status == "approved")).scalars().all()
    for p in previous:
        p.status = "revoked"
    actor = current_actor()
    row = QuotaApproval(root_id=unit.root_id, org_id=unit.id, year=year, rate=float(r), status="approved",
                        reason=reason.strip(), approver_org_id=approver_org.id, decided_by=actor.id,
                        decided_by_name=actor.name)
    db.session.add(row)
    db.session.flush()
    record("policy.quota_approval.approve", root_id=unit.root_id, org_id=unit.id, target_type="quota_approval",
           target_id=row.id, before={"approved_rates": [p.rate for p in previous]} if previous else None,
           after={"year": year, "rate": float(r), "approver_org_id": approver_org.id}, reason=row.reason)
    return row

def revoke_approval(approval: QuotaApproval, *, reason: str | None = None) -> QuotaApproval:
    if approval.status != "approved":
        raise Invalid({"status": [f"this approval is already {approval.status}"]})
    approval.status = "revoked"
    db.session.flush()
    record("policy.quota_approval.revoke", root_id=approval.root_id, org_id=approval.org_id,
           target_type="quota_approval", target_id=approval.id, before={"status": "approved"},
           after={"status": "revoked"}, reason=reason)
    return approval


# -- quotas --------------------------------------------------------------------

def headcounts(unit_ids: Iterable[int], year: int) -> dict[int, dict[str, calc.Headcount]]:
    """Active people per unit and rank group, and how many take part (people
    still in probation at the end of the year get no grade): one aggregate
    query for any number of units."""
    ids = sorted(set(unit_ids))
    if not ids:
        return {}
    year_end = dt.date(year, 12, 31)
    in_probation = and_(Person.probation_end.is_not(None), Person.probation_end > year_end)
    rows = db.session.execute(
        select(Person.unit_id, Person.rank_group, func.count(Person.id),
               func.sum(case((in_probation, 0), else_=1)))
        .where(Person.unit_id.in_(ids), Person.active.is_(True))
        .group_by(Person.unit_id, Person.rank_group)
    ).all()
    out: dict[int, dict[str, calc.Headcount]] = {i: {} for i in ids}
    for unit_id, group, total, participants in rows:
        group = group if group in ("leader", "staff") else "staff"
        prev = out[unit_id].get(group, calc.Headcount(0, 0))
        out[unit_id][group] = calc.Headcount(prev.total + int(total), prev.participants + int(participants or 0))
    return out

def subtree_headcount(node: OrgNode, year: int) -> dict[str, calc.Headcount]:
    """People of every unit in ``node``'s subtree (one query)."""
    year_end = dt.date(year, 12, 31)
    in_probation = and_(Person.probation_end.is_not(None), Person.probation_end > year_end)
    units = select(OrgNode.id).where(OrgNode.root_id == node.root_id, OrgNode.path.like(node.path + "%"))
    rows = db.session.execute(
        select(Person.rank_group, func.count(Person.id), func.sum(case((in_probation, 0), else_=1)))
        .where(Person.root_id == node.root_id, Person.unit_id.in_(units), Person.active.is_(True))
        .group_by(Person.rank_group)).all()
    out: dict[str, calc.Headcount] = {}
    for group, total, participants in rows:
        group = group if group in ("leader", "staff") else "staff"
        prev = out.get(group, calc.Headcount(0, 0))
        out[group] = calc.Headcount(prev.total + int(total), prev.participants + int(participants or 0))
    return out

def unit_quotas(units: Sequence[OrgNode], year: int) -> list[dict]:
    """Quota of each unit for ``year`` with its arithmetic: a bounded number
    of queries whatever the number of units."""
    year = check_year(year, allow_all=False)
    if not units:
        return []
    ids = [u.id for u in units]
    root_id = units[0].root_id
    policies = effective_policies(units, year)
    grades = {g.org_id: g for g in db.session.execute(select(OrgPerformanceGrade).where(
        OrgPerformanceGrade.root_id == root_id, OrgPerformanceGrade.org_id.in_(ids),
        OrgPerformanceGrade.year == year)).scalars()}
    approvals = {a.org_id: a for a in db.session.execute(select(QuotaApproval).where(
        QuotaApproval.root_id == root_id, QuotaApproval.org_id.in_(ids), QuotaApproval.year == year,
        QuotaApproval.status == "approved")).scalars()}
    allocations = {a.child_id: a for a in db.session.execute(select(QuotaAllocation).where(
        QuotaAllocation.root_id == root_id, QuotaAllocation.child_id.in_(ids),
        QuotaAllocation.year == year)).scalars()}
    counts = headcounts(ids, year)
    out = []
    for u in units:
        g = grades.get(u.id)
        a = approvals.get(u.id)
        alloc = allocations.get(u.id)
        result = calc.compute_quota(policies[u.id], counts.get(u.id, {}), org_grade=g.grade if g else None,
                                    major_contribution=bool(g and g.major_contribution),
                                    approved_rate=a.rate if a else None,
                                    allocated=alloc.count if alloc else None)
        out.append({"unit": u, "grade": g, "approval": a, "allocation": alloc, "result": result,
                    "headcount": counts.get(u.id, {})})
    return out

def parent_total(parent: OrgNode, year: int) -> tuple[int, list[dict], str]:
    """What ``parent`` has to hand down for ``year``: the count its own parent
    allocated to it, else its rate × the headcount of its whole subtree.
    Returns (total, steps, source)."""
    received = db.session.execute(select(QuotaAllocation).where(
        QuotaAllocation.root_id == parent.root_id, QuotaAllocation.child_id == parent.id,
        QuotaAllocation.year == year).execution_options(populate_existing=True)).scalar_one_or_none()
    if received is not None:
        return received.count, [{"zh": f"上级分配给本级 {received.count} 名",
                                  "en": f"The level above allocated {received.count} to this node"}], "allocation"
    pol = dict(effective_policy(parent, year))
    pol["quota.rank_group_pools"] = False   # the parent's total is one pool
    g = db.session.execute(select(OrgPerformanceGrade).where(
        OrgPerformanceGrade.root_id == parent.root_id, OrgPerformanceGrade.org_id == parent.id,
        OrgPerformanceGrade.year == year)).scalar_one_or_none()
    a = db.session.execute(select(QuotaApproval).where(
        QuotaApproval.root_id == parent.root_id, QuotaApproval.org_id == parent.id, QuotaApproval.year == year,
        QuotaApproval.status == "approved")).scalars().first()
    result = calc.compute_quota(pol, subtree_headcount(parent, year), org_grade=g.grade if g else None,
                                major_contribution=bool(g and g.major_contribution),
                                approved_rate=a.rate if a else None)
    return result.total, result.steps, "computed"

def _lock_pool(parent: OrgNode, year: int) -> QuotaPool:
    """Serialise allocations of one parent and year: the pool row is locked
    FOR UPDATE (created first if missing; a concurrent creator wins and we
    lock its row)."""
    stmt = select(QuotaPool).where(QuotaPool.root_id == parent.root_id, QuotaPool.org_id == parent.id,
                                   QuotaPool.year == year).with_for_update()
    pool = db.session.execute(stmt).scalar_one_or_none()
    if pool is not None:
        return pool
    try:
        with db.session.begin_nested():
            db.session.add(QuotaPool(root_id=parent.root_id, org_id=parent.id, year=year, allocated=0))
    except IntegrityError:
        pass
    return db.session.execute(stmt).scalar_one()

def _lock_chain(parent: OrgNode, child: OrgNode, year: int) -> QuotaPool:
    """Lock the parent's pool, then the child's: top-down, always in that
    order, so allocations cannot deadlock.

    What a node X has to hand down is what its parent gave it, and what it
    handed down are its own allocations: ``allocate(parent(X), X)`` changes
    the first, ``allocate(X, child)`` the second, and both now hold X's pool
    row while they check and write.  So the province lowering a city and the
    city handing its quota to a county queue on the city's pool (without it
    each checked against the other's old data and both could succeed).  The
    child's pool is in the parent's subtree, so a caller scoped to the parent
    can lock it (the pools further up are not visible to it, and are not
    needed).  Returns the parent's pool."""
    pool = _lock_pool(parent, year)
    _lock_pool(child, year)
    return pool

def allocations_of(parent: OrgNode, year: int) -> list[QuotaAllocation]:
    return list(db.session.execute(select(QuotaAllocation).where(
        QuotaAllocation.root_id == parent.root_id, QuotaAllocation.org_id == parent.id,
        QuotaAllocation.year == year)).scalars())

def allocate(parent: OrgNode, child: OrgNode, year: int, count: int, *, note: str | None = None) -> QuotaAllocation | None:
    """Give ``child`` ``count`` of ``parent``'s quota for ``year`` (0 removes
    the allocation).  Refused when the children's total would exceed the
    parent's total, or the child already handed down more than ``count``."""
    year = check_year(year, allow_all=False)
    if child.parent_id != parent.id:
        raise Invalid({"child_id": [f"{node_label(child)} is not a direct child of {node_label(parent)}"]})
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise Invalid({"count": [N_("must be a whole number, 0 or more")]})
    pool = _lock_chain(parent, child, year)
    existing = {a.child_id: a for a in allocations_of(parent, year)}
    total, _steps, _src = parent_total(parent, year)
    try:
        remaining = calc.check_allocation(total, {k: v.count for k, v in existing.items()}, child.id, count)
    except ValueError:
        others = sum(v.count for k, v in existing.items() if k != child.id)
        raise Invalid({"count": [f"{count} would exceed {node_label(parent)}'s total of {total}: "
                                 f"{others} already allocated to others, {max(total - others, 0)} left"]}) from None
    handed_down = db.session.execute(select(func.coalesce(func.sum(QuotaAllocation.count), 0)).where(
        QuotaAllocation.root_id == child.root_id, QuotaAllocation.org_id == child.id,
        QuotaAllocation.year == year)).scalar_one()
    if handed_down > count:
        raise Invalid({"count": [f"{node_label(child)} has already allocated {handed_down} further down"]})
    row = existing.get(child.id)
    before = {"count": row.count} if row else None
    actor = current_actor()
    if count == 0:
        if row is None:
            return None
        db.session.delete(row)
        after = None
        row_out = None
    else:
        if row is None:
            row = QuotaAllocation(root_id=parent.root_id, org_id=parent.id, child_id=child.id, year=year, count=count)
            db.session.add(row)
        elif row.count == count and (note is None or row.note == note):
            return row
        row.count = count
        if note is not None:
            row.note = note or None
        row.allocated_by, row.allocated_by_name = actor.id, actor.name
        row.allocated_at = dt.datetime.now(dt.timezone.utc)
        after = {"count": count}
        row_out = row
    pool.allocated = total - remaining
    pool.changed_at = dt.datetime.now(dt.timezone.utc)
    db.session.flush()
    record("policy.allocation.set", root_id=parent.root_id, org_id=parent.id, target_type="quota_allocation",
           target_id=f"{parent.id}:{child.id}:{year}", before=before,
           after={**(after or {"count": 0}), "child_id": child.id, "year": year, "parent_total": total,
                  "remaining": remaining}, reason=note)
    return row_out

@hooks.on("org.moved")
def _release_on_move(node, old_path, new_path, old_parent_id, **kw) -> None:
    """A node moved away from its parent: the old parent's allocations to it
    (every year) are released back to the old parent, audited.  The new
    parent allocates to it explicitly.  Cached policies key on the path, and
    the token is bumped so nothing stale survives."""
    rows = db.session.execute(select(QuotaAllocation).where(
        QuotaAllocation.root_id == node.root_id, QuotaAllocation.org_id == old_parent_id,
        QuotaAllocation.child_id == node.id)).scalars().all()
    for row in rows:
        pool = db.session.execute(select(QuotaPool).where(
            QuotaPool.root_id == node.root_id, QuotaPool.org_id == old_parent_id, QuotaPool.year == row.year)
            .with_for_update()).scalar_one_or_none()
        if pool is not None:
            pool.allocated = max(0, pool.allocated - row.count)
        record("policy.allocation.release", root_id=node.root_id, org_id=old_parent_id,
               target_type="quota_allocation", target_id=f"{old_parent_id}:{node.id}:{row.year}",
               before={"count": row.count, "child_id": node.id, "year": row.year}, after={"count": 0},
               reason=f"{node.code} moved from {old_path} to {new_path}")
        db.session.delete(row)
    db.session.flush()
    bump_version(node.root_id)


# -- quotas as data (API, pages) -----------------------------------------------

def quota_dicts(units: Sequence[OrgNode], year: int) -> list[dict]:
    out = []
    for q in unit_quotas(units, year):
        r = q["result"]
        hc = q["headcount"]
        out.append({
            "org": node_ref(q["unit"]), "year": year,
            "grade": q["grade"].grade if q["grade"] else None,
            "major_contribution": bool(q["grade"] and q["grade"].major_contribution),
            "headcount": sum(h.total for h in hc.values()),
            "participants": sum(h.participants for h in hc.values()),
            "approval_id": q["approval"].id if q["approval"] else None,
            **r.as_dict(),
        })
    return out

def units_for_quota(node: OrgNode) -> list[OrgNode]:
    """The node itself when it is a unit, and every unit below it."""
    return ([node] if node.is_assessment_unit else []) + assessment_units(node)

def allocation_overview(parent: OrgNode, year: int) -> dict:
    year = check_year(year, allow_all=False)
    total, steps, source = parent_total(parent, year)
    allocs = {a.child_id: a for a in allocations_of(parent, year)}
    kids = list(db.session.execute(select(OrgNode).where(OrgNode.parent_id == parent.id,
                                                         OrgNode.root_id == parent.root_id)
                                   .order_by(OrgNode.sort_order, OrgNode.code)).scalars())
    kids = [k for k in kids if k.kind != OrgKind.department.value]
    allocated = sum(a.count for a in allocs.values())
    children = []
    for k in kids:
        a = allocs.get(k.id)
        children.append({"child": node_ref(k), "count": a.count if a else 0, "note": a.note if a else None,
                         "allocated_by_name": a.allocated_by_name if a else None,
                         "allocated_at": a.allocated_at if a else None})
    return {"parent": node_ref(parent), "year": year, "total": total, "total_source": source,
            "total_steps": steps, "allocated": allocated, "remaining": total - allocated, "children": children}
