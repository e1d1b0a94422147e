"""Policy operations: validate, change, audit, bump the policy token.
Flush, never commit (the request or job commits once)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterable, Sequence

from sqlalchemy import and_, case, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from ..core.clock import local_today
from ..audit.service import current_actor, record
from ..core import hooks
from ..core.errors import Conflict, Invalid
from ..extensions import db
from ..tenancy.models import OrgKind, OrgNode
from . import calc
from . import registry as reg
from .models import (ALL_YEARS, OrgPerformanceGrade, PolicySetting, QuotaAllocation, QuotaApproval, QuotaPool)
from .resolve import (Layer, _collect_bounds, bound_violation, bump_version, effective_policies, effective_policy,
                      merge_rows, resolve_key)

MIN_YEAR, MAX_YEAR = 2000, 2100


def check_year(year: int | None, *, allow_all: bool = True, field: str = "year") -> int:
    if year is None or year == ALL_YEARS:
        if allow_all:
            return ALL_YEARS
        raise Invalid({field: ["a year is required"]})
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise Invalid({field: ["must be a year such as 2026"]}) from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Invalid({field: [f"must be between {MIN_YEAR} and {MAX_YEAR}"]})
    return year


# -- names for messages ----------------------------------------------------

def path_nodes(node: OrgNode) -> list[OrgNode]:
    """The node's ancestors and itself, province first (one query)."""
    ids = node.path_ids
    rows = {n.id: n for n in db.session.execute(select(OrgNode).where(OrgNode.id.in_(ids))).scalars()}
    return [rows[i] for i in ids if i in rows]


def node_label(n: OrgNode | None) -> str:
    if n is None:
        return "the national default"
    return f"{n.name} ({n.code})"


def _names(node: OrgNode) -> dict[int, OrgNode]:
    return {n.id: n for n in path_nodes(node)}


# -- loading the layers of one key ----------------------------------------

def _rows_on_path(node: OrgNode, key: str, year: int) -> list[PolicySetting]:
    years = (ALL_YEARS,) if year == ALL_YEARS else (ALL_YEARS, year)
    return list(db.session.execute(
        select(PolicySetting).where(PolicySetting.root_id == node.root_id, PolicySetting.org_id.in_(node.path_ids),
                                    PolicySetting.key == key, PolicySetting.year.in_(years))
    ).scalars())


def _layers(node: OrgNode, rows: Sequence[PolicySetting]) -> list[Layer]:
    by_node: dict[int, list] = {}
    for r in rows:
        by_node.setdefault(r.org_id, []).append(r)
    return [merge_rows(nid, by_node[nid]) if nid in by_node else Layer(nid) for nid in node.path_ids]


def _own_row(node: OrgNode, key: str, year: int, rows: Sequence[PolicySetting]) -> PolicySetting | None:
    return next((r for r in rows if r.org_id == node.id and r.year == year and r.key == key), None)


def _row_state(row: PolicySetting | None) -> dict | None:
    if row is None:
        return None
    out: dict[str, Any] = {}
    if row.has_value:
        out["value"] = row.value
    if row.locked:
        out["locked"] = True
    if row.bounds:
        out["bounds"] = {k: v for k, v in row.bounds.items() if v is not None}
    return out or None


def _stamp(row: PolicySetting) -> None:
    actor = current_actor()
    row.updated_by = actor.id
    row.updated_by_name = actor.name
    row.updated_at = dt.datetime.now(dt.timezone.utc)


def _get_or_new(node: OrgNode, key: str, year: int, rows) -> PolicySetting:
    row = _own_row(node, key, year, rows)
    if row is None:
        row = PolicySetting(root_id=node.root_id, org_id=node.id, key=key, year=year, has_value=False,
                            locked=False)
        db.session.add(row)
    return row


def _drop_if_empty(row: PolicySetting) -> None:
    if not row.has_value and not row.locked and row.bounds is None:
        if row.id is not None:
            db.session.delete(row)
        else:
            db.session.expunge(row)


def _audit(action: str, node: OrgNode, key: str, year: int, before, after, reason=None) -> None:
    record(action, root_id=node.root_id, org_id=node.id, target_type="policy_setting",
           target_id=f"{node.id}:{key}:{year}", before=before, after=after, reason=reason)


def _check_not_locked_above(node: OrgNode, key: str, layers: list[Layer], names) -> None:
    for lay in layers[:-1]:
        if lay.locked:
            raise Invalid({key: [f"locked by {node_label(names.get(lay.node_id))}: it cannot be changed here"]})


def _check_level(node: OrgNode, setting: reg.Setting) -> None:
    if setting.kind == reg.PROVINCE_ONLY and node.parent_id is not None:
        raise Invalid({setting.key: ["only the province may set this (province-only setting)"]})


def _bound_message(setting, value, bounds, names) -> str | None:
    side = bound_violation(setting, value, bounds)
    if side is None:
        return None
    who = node_label(names.get(bounds.get(f"{side}_by")))
    if side == "allowed":
        return f"{value!r} is not among the values allowed by {who}: {', '.join(map(str, bounds['allowed']))}"
    fmt = calc.pct if setting.is_rate else (lambda x: f"{x:g}")
    limit = fmt(bounds[side])
    word = "below the minimum" if side == "min" else "above the maximum"
    return f"the value is {word} {limit} set by {who}"


def _check_additive(node, setting, value, layers, names) -> None:
    inherited, _ = resolve_key(setting, layers[:-1] + [Layer(node.id)])
    by_code = {i["code"]: i for i in inherited}
    for code in value.get("remove", []):
        item = by_code.get(code)
        if item is None:
            raise Invalid({setting.key: [f"cannot remove {code}: it is not inherited here"]})
        if item.get("mandatory"):
            raise Invalid({setting.key: [f"cannot remove {code}: it is mandatory "
                                         f"(set by {node_label(names.get(item.get('source')))})"]})
    for item in value.get("add", []):
        if item["code"] in by_code:
            raise Invalid({setting.key: [f"item {item['code']} is already inherited from "
                                         f"{node_label(names.get(by_code[item['code']].get('source')))}"]})


# -- settings --------------------------------------------------------------

def set_value(node: OrgNode, key: str, value: Any, *, year: int | None = None, note: str | None = None,
              reason: str | None = None) -> PolicySetting:
    """Override ``key`` at ``node`` (for one year, or all years)."""
    setting = reg.get(key)
    year = check_year(year)
    value = reg.validate_value(key, value)
    _check_level(node, setting)
    rows = _rows_on_path(node, key, year)
    layers = _layers(node, rows)
    names = _names(node)
    _check_not_locked_above(node, key, layers, names)
    if setting.kind == reg.BOUNDED:
        msg = _bound_message(setting, value, _collect_bounds(layers[:-1]), names)
        if msg:
            raise Invalid({key: [msg]})
    if setting.kind == reg.ADDITIVE:
        _check_additive(node, setting, value, layers, names)
    row = _get_or_new(node, key, year, rows)
    before = _row_state(row) if row.id is not None else None
    if row.has_value and row.value == value and (note is None or note == row.note):
        return row
    row.has_value, row.value = True, value
    if note is not None:
        row.note = note or None
    _stamp(row)
    db.session.flush()
    _audit("policy.set", node, key, year, before, _row_state(row), reason)
    bump_version(node.root_id)
    return row


def clear_value(node: OrgNode, key: str, *, year: int | None = None, reason: str | None = None) -> bool:
    """Revert to the inherited value.  Returns False when nothing was set."""
    reg.get(key)
    year = check_year(year)
    rows = _rows_on_path(node, key, year)
    names = _names(node)
    _check_not_locked_above(node, key, _layers(node, rows), names)
    row = _own_row(node, key, year, rows)
    if row is None or not row.has_value:
        return False
    before = _row_state(row)
    row.has_value, row.value = False, None
    _stamp(row)
    after = _row_state(row)
    _drop_if_empty(row)
    db.session.flush()
    _audit("policy.clear", node, key, year, before, after, reason)
    bump_version(node.root_id)
    return True


def lock(node: OrgNode, key: str, *, year: int | None = None, reason: str | None = None) -> list[dict]:
    """Enforce ``node``'s value for everything below: overrides, locks and
    bounds of this key below the node are cleared (and listed in the audit
    entry).  Returns what was cleared."""
    setting = reg.get(key)
    year = check_year(year)
    if setting.kind == reg.PROVINCE_ONLY:
        raise Invalid({key: ["a province-only setting is always enforced; there is nothing to lock"]})
    rows = _rows_on_path(node, key, year)
    names = _names(node)
    _check_not_locked_above(node, key, _layers(node, rows), names)
    row = _get_or_new(node, key, year, rows)
    if row.locked:
        return []
    below_years = None if year == ALL_YEARS else (ALL_YEARS, year)
    stmt = select(PolicySetting, OrgNode.code).join(OrgNode, OrgNode.id == PolicySetting.org_id).where(
        PolicySetting.root_id == node.root_id, PolicySetting.key == key,
        OrgNode.root_id == node.root_id, OrgNode.path.like(node.path + "%"), OrgNode.id != node.id)
    if below_years is not None:
        stmt = stmt.where(PolicySetting.year.in_(below_years))
    cleared = []
    for below, code in db.session.execute(stmt).all():
        if year != ALL_YEARS and below.year == ALL_YEARS:
            # A lock for one year only hides the all-years row of that year;
            # the row still applies to other years, so it stays.
            continue
        cleared.append({"org_id": below.org_id, "code": code, "year": below.year, **(_row_state(below) or {})})
        db.session.delete(below)
    before = _row_state(row) if row.id is not None else None
    row.locked = True
    _stamp(row)
    db.session.flush()
    _audit("policy.lock", node, key, year, before, {**(_row_state(row) or {}), "cleared_below": cleared}, reason)
    bump_version(node.root_id)
    return cleared


def unlock(node: OrgNode, key: str, *, year: int | None = None, reason: str | None = None) -> bool:
    reg.get(key)
    year = check_year(year)
    rows = _rows_on_path(node, key, year)
    names = _names(node)
    _check_not_locked_above(node, key, _layers(node, rows), names)
    row = _own_row(node, key, year, rows)
    if row is None or not row.locked:
        return False
    before = _row_state(row)
    row.locked = False
    _stamp(row)
    after = _row_state(row)
    _drop_if_empty(row)
    db.session.flush()
    _audit("policy.unlock", node, key, year, before, after, reason)
    bump_version(node.root_id)
    return True


def _num_bound(setting: reg.Setting, name: str, x) -> float | None:
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, (int, float, Decimal)):
        raise Invalid({setting.key: [f"{name} must be a number"]})
    lo, hi = setting.number_range or (None, None)
    if lo is not None and not (Decimal(str(lo)) <= Decimal(str(x)) <= Decimal(str(hi))):
        raise Invalid({setting.key: [f"{name} must be between {lo:g} and {hi:g}"]})
    return float(x)


def set_bounds(node: OrgNode, key: str, *, min_value=None, max_value=None, allowed=None,
               year: int | None = None, reason: str | None = None) -> PolicySetting:
    """Constrain what the nodes below ``node`` may set for ``key``."""
    setting = reg.get(key)
    year = check_year(year)
    if setting.kind != reg.BOUNDED:
        raise Invalid({key: [f"this setting cannot be bounded (it is {setting.kind.replace('_', '-')})"]})
    if setting.bound == reg.BOUND_CHOICE:
        if min_value is not None or max_value is not None:
            raise Invalid({key: ["bounds of a choice are a list of allowed values, not min/max"]})
        if not isinstance(allowed, (list, tuple)) or not allowed:
            raise Invalid({key: ["allowed must be a non-empty list of values"]})
        bad = [a for a in allowed if a not in setting.choices]
        if bad:
            raise Invalid({key: [f"unknown value(s) {', '.join(map(str, bad))}; choose from "
                                 f"{', '.join(setting.choices)}"]})
        allowed = [c for c in setting.choices if c in allowed]
    else:
        if allowed is not None:
            raise Invalid({key: ["bounds of a number are min and max, not a list of allowed values"]})
        min_value = _num_bound(setting, "min", min_value)
        max_value = _num_bound(setting, "max", max_value)
        if min_value is None and max_value is None:
            raise Invalid({key: ["give a min, a max or both"]})
        if min_value is not None and max_value is not None and min_value > max_value:
            raise Invalid({key: ["min must not be greater than max"]})
    rows = _rows_on_path(node, key, year)
    layers = _layers(node, rows)
    names = _names(node)
    _check_not_locked_above(node, key, layers, names)
    above = _collect_bounds(layers[:-1]) or {}
    # New bounds must sit inside the bounds from above.
    if min_value is not None and "min" in above and min_value < above["min"]:
        raise Invalid({key: [_bound_message(setting, min_value if setting.bound == reg.BOUND_NUMBER
                                            else {"min": min_value}, above, names)]})
    if max_value is not None and "max" in above and max_value > above["max"]:
        raise Invalid({key: [_bound_message(setting, max_value if setting.bound == reg.BOUND_NUMBER
                                            else {"max": max_value}, above, names)]})
    if allowed is not None and "allowed" in above:
        outside = [a for a in allowed if a not in above["allowed"]]
        if outside:
            raise Invalid({key: [f"{', '.join(outside)} not allowed by {node_label(names.get(above['allowed_by']))}"]})
    # Overrides already stored below must fit.
    new = {k: v for k, v in (("min", min_value), ("max", max_value), ("allowed", allowed)) if v is not None}
    for k in ("min", "max"):
        new[f"{k}_by"] = node.id
    new["allowed_by"] = node.id
    below = db.session.execute(
        select(PolicySetting, OrgNode.name, OrgNode.code).join(OrgNode, OrgNode.id == PolicySetting.org_id).where(
            PolicySetting.root_id == node.root_id, PolicySetting.key == key, PolicySetting.has_value.is_(True),
            OrgNode.root_id == node.root_id, OrgNode.path.like(node.path + "%"), OrgNode.id != node.id)
    ).all()
    for r, name, code in below:
        if bound_violation(setting, r.value, new):
            raise Invalid({key: [f"{name} ({code}) already sets a value outside these bounds; change it first"]})
    row = _get_or_new(node, key, year, rows)
    before = _row_state(row) if row.id is not None else None
    if (row.min_value, row.max_value, row.allowed) == (min_value, max_value, allowed):
        return row
    row.min_value, row.max_value, row.allowed = min_value, max_value, allowed
    _stamp(row)
    db.session.flush()
    _audit("policy.bound", node, key, year, before, _row_state(row), reason)
    bump_version(node.root_id)
    return row


def clear_bounds(node: OrgNode, key: str, *, year: int | None = None, reason: str | None = None) -> bool:
    reg.get(key)
    year = check_year(year)
    rows = _rows_on_path(node, key, year)
    _check_not_locked_above(node, key, _layers(node, rows), _names(node))
    row = _own_row(node, key, year, rows)
    if row is None or row.bounds is None:
        return False
    before = _row_state(row)
    row.min_value = row.max_value = row.allowed = None
    _stamp(row)
    after = _row_state(row)
    _drop_if_empty(row)
    db.session.flush()
    _audit("policy.unbound", node, key, year, before, after, reason)
    bump_version(node.root_id)
    return True


def node_settings(node: OrgNode, year: int | None = None) -> dict[str, dict[int, PolicySetting]]:
    """The node's own rows: key → {year: row}."""
    stmt = select(PolicySetting).where(PolicySetting.root_id == node.root_id, PolicySetting.org_id == node.id)
    if year is not None:
        stmt = stmt.where(PolicySetting.year.in_((ALL_YEARS, year)))
    out: dict[str, dict[int, PolicySetting]] = {}
    for r in db.session.execute(stmt).scalars():
        out.setdefault(r.key, {})[r.year] = r
    return out


# -- organisational performance -------------------------------------------

def assessment_units(parent: OrgNode) -> list[OrgNode]:
    """Assessment units strictly below ``parent`` (what a supervisor grades)."""
    return list(db.session.execute(
        select(OrgNode).where(OrgNode.root_id == parent.root_id, OrgNode.path.like(parent.path + "%"),
                              OrgNode.id != parent.id, OrgNode.is_assessment_unit.is_(True))
        .order_by(OrgNode.path)
    ).scalars())


def grade_snapshot(g: OrgPerformanceGrade | None) -> dict | None:
    if g is None:
        return None
    return {"grade": g.grade, "major_contribution": g.major_contribution, "comment": g.comment}


def set_org_grade(unit: OrgNode, year: int, grade: str, *, major_contribution: bool = False,
                  comment: str | None = None, expected_version: int | None = None) -> OrgPerformanceGrade:
    year = check_year(year, allow_all=False)
    if not unit.is_assessment_unit:
        raise Invalid({"org_id": [f"{node_label(unit)} is not an assessment unit"]})
    if grade not in reg.ORG_GRADES:
        raise Invalid({"grade": [f"must be one of {', '.join(reg.ORG_GRADES)}"]})
    row = db.session.execute(select(OrgPerformanceGrade).where(
        OrgPerformanceGrade.root_id == unit.root_id, OrgPerformanceGrade.org_id == unit.id,
        OrgPerformanceGrade.year == year)).scalar_one_or_none()
    if row is not None and expected_version is not None and row.version != expected_version:
        raise Conflict({"version": [f"changed meanwhile (now version {row.version})"]},
                       message="Someone else changed this grade.")
    before = grade_snapshot(row)
    if row is None:
        row = OrgPerformanceGrade(root_id=unit.root_id, org_id=unit.id, year=year)
        db.session.add(row)
    new = {"grade": grade, "major_contribution": bool(major_contribution), "comment": comment or None}
    if before == new:
        return row
    actor = current_actor()
    row.grade, row.major_contribution, row.comment = new["grade"], new["major_contribution"], new["comment"]
    row.graded_by, row.graded_by_name = actor.id, actor.name
    row.graded_at = dt.datetime.now(dt.timezone.utc)
    db.session.flush()
    record("policy.org_grade.set", root_id=unit.root_id, org_id=unit.id, target_type="org_performance_grade",
           target_id=f"{unit.id}:{year}", before=before, after=new)
    return row


def clear_org_grade(unit: OrgNode, year: int) -> bool:
    year = check_year(year, allow_all=False)
    row = db.session.execute(select(OrgPerformanceGrade).where(
        OrgPerformanceGrade.root_id == unit.root_id, OrgPerformanceGrade.org_id == unit.id,
        OrgPerformanceGrade.year == year)).scalar_one_or_none()
    if row is None:
        return False
    before = grade_snapshot(row)
    db.session.delete(row)
    db.session.flush()
    record("policy.org_grade.clear", root_id=unit.root_id, org_id=unit.id, target_type="org_performance_grade",
           target_id=f"{unit.id}:{year}", before=before, after=None)
    return True


# -- approvals -------------------------------------------------------------

def approve_rate(unit: OrgNode, year: int, rate: Any, *, reason: str, approver_org: OrgNode) -> QuotaApproval:
    """Record the level above's approval of ``rate`` for ``unit`` in ``year``
    (supersedes an earlier approval)."""
    year = check_year(year, allow_all=False)
    if not unit.is_assessment_unit:
        raise Invalid({"org_id": [f"{node_label(unit)} is not an assessment unit"]})
    if not (reason or "").strip():
        raise Invalid({"reason": ["give the reason for the higher rate"]})
    if approver_org.id == unit.id or not unit.path.startswith(approver_org.path):
        raise Invalid({"approver_org_id": ["the approval must come from a level above the unit"]})
    try:
        r = Decimal(str(rate))
    except Exception:  # noqa: BLE001
        raise Invalid({"rate": ["must be a number between 0 and 1"]}) from None
    if isinstance(rate, bool) or not Decimal(0) < r <= Decimal(1):
        raise Invalid({"rate": ["must be a number between 0 and 1"]})
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


# -- quotas ----------------------------------------------------------------

def headcounts(unit_ids: Iterable[int], year: int) -> dict[int, dict[str, calc.Headcount]]:
    """Active people per unit and rank group, and how many take part (people
    still in probation at the end of the year get no grade): one aggregate
    query for any number of units."""
    from ..people.models import Person

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
    from ..people.models import Person

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
        QuotaAllocation.year == year)).scalar_one_or_none()
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
        raise Invalid({"count": ["must be a whole number, 0 or more"]})
    pool = _lock_pool(parent, year)
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


# -- a node's policy as data (API, pages, CLI) ----------------------------

def _node_ref(n: OrgNode | None) -> dict | None:
    if n is None:
        return None
    return {"id": n.id, "code": n.code, "name": n.name, "name_en": n.name_en, "kind": n.kind}


def describe(node: OrgNode, year: int | None = None, *, can_edit: bool = False) -> dict:
    """The effective policy of ``node`` with provenance, grouped by topic,
    with node names resolved and what the node itself may do with each key."""
    year = check_year(year, allow_all=False) if year is not None else local_today().year
    pol = effective_policy(node, year)
    names = {n.id: n for n in path_nodes(node)}
    own = node_settings(node, year)
    groups = []
    for code, label, settings in reg.settings_by_group():
        items = []
        for s in settings:
            prov = pol.provenance(s.key)
            locked_above = pol.locked_above(s.key)
            bounds = prov["bounds"]
            if bounds:
                bounds = dict(bounds)
                for side in ("min", "max", "allowed"):
                    if f"{side}_by" in bounds:
                        bounds[f"{side}_by"] = _node_ref(names.get(bounds[f"{side}_by"]))
            child_bounds = prov["child_bounds"]
            if child_bounds:
                child_bounds = dict(child_bounds)
                for side in ("min", "max", "allowed"):
                    if f"{side}_by" in child_bounds:
                        child_bounds[f"{side}_by"] = _node_ref(names.get(child_bounds[f"{side}_by"]))
            rows = own.get(s.key, {})
            own_state = {str(y): _row_state(r) for y, r in sorted(rows.items()) if _row_state(r)}
            settable = (s.kind != reg.PROVINCE_ONLY or node.parent_id is None) and locked_above is None
            items.append({
                "key": s.key, "kind": s.kind, "group": code, "zh": s.zh, "en": s.en, "unit": s.unit,
                "choices": list(s.choices), "bound": s.bound,
                "value": pol[s.key], "default": reg.default(s.key),
                "source": _node_ref(names.get(prov["source"])) if prov["source"] else None,
                "source_year": prov["source_year"], "inherited": prov["inherited"],
                "locked_by": _node_ref(names.get(prov["locked_by"])) if prov["locked_by"] else None,
                "locked_here": prov["locked_by"] == node.id,
                "bounds": bounds, "child_bounds": child_bounds, "adjusted": prov["adjusted"],
                "contributors": [_node_ref(names.get(c)) for c in prov["contributors"]],
                "own": own_state,
                "editable": bool(can_edit and settable),
                "lockable": bool(can_edit and settable and s.kind != reg.PROVINCE_ONLY),
                "boundable": bool(can_edit and settable and s.kind == reg.BOUNDED),
            })
        groups.append({"code": code, "zh": label[0], "en": label[1], "settings": items})
    return {"node": _node_ref(node), "year": year, "path": [_node_ref(names.get(i)) for i in node.path_ids],
            "groups": groups}


def quota_dicts(units: Sequence[OrgNode], year: int) -> list[dict]:
    out = []
    for q in unit_quotas(units, year):
        r = q["result"]
        hc = q["headcount"]
        out.append({
            "org": _node_ref(q["unit"]), "year": year,
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
        children.append({"child": _node_ref(k), "count": a.count if a else 0, "note": a.note if a else None,
                         "allocated_by_name": a.allocated_by_name if a else None,
                         "allocated_at": a.allocated_at if a else None})
    return {"parent": _node_ref(parent), "year": year, "total": total, "total_source": source,
            "total_steps": steps, "allocated": allocated, "remaining": total - allocated, "children": children}


def org_grade_dicts(parent: OrgNode, year: int) -> list[dict]:
    year = check_year(year, allow_all=False)
    units = assessment_units(parent)
    grades = {g.org_id: g for g in db.session.execute(select(OrgPerformanceGrade).where(
        OrgPerformanceGrade.root_id == parent.root_id, OrgPerformanceGrade.org_id.in_([u.id for u in units]),
        OrgPerformanceGrade.year == year)).scalars()} if units else {}
    out = []
    for u in units:
        g = grades.get(u.id)
        out.append({"org": _node_ref(u), "year": year, "grade": g.grade if g else None,
                    "major_contribution": bool(g and g.major_contribution), "comment": g.comment if g else None,
                    "graded_by_name": g.graded_by_name if g else None, "graded_at": g.graded_at if g else None,
                    "version": g.version if g else None})
    return out
