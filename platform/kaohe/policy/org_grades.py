"""Organisational-performance grades of assessment units (set by the level
that assesses them), audited.  Flush, never commit."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..audit.service import current_actor, record
from ..core.errors import Conflict, Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from . import registry as reg
from .labels import check_year, node_label, node_ref
from .models import OrgPerformanceGrade


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

def org_grade_dicts(parent: OrgNode, year: int) -> list[dict]:
    year = check_year(year, allow_all=False)
    units = assessment_units(parent)
    grades = {g.org_id: g for g in db.session.execute(select(OrgPerformanceGrade).where(
        OrgPerformanceGrade.root_id == parent.root_id, OrgPerformanceGrade.org_id.in_([u.id for u in units]),
        OrgPerformanceGrade.year == year)).scalars()} if units else {}
    out = []
    for u in units:
        g = grades.get(u.id)
        out.append({"org": node_ref(u), "year": year, "grade": g.grade if g else None,
                    "major_contribution": bool(g and g.major_contribution), "comment": g.comment if g else None,
                    "graded_by_name": g.graded_by_name if g else None, "graded_at": g.graded_at if g else None,
                    "version": g.version if g else None})
    return out
