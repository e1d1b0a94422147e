"""Roster import operations: keep the upload, check it, write it.

Flush, never commit (the request or the job commits once).  The check
works out the list of every change (``roster_plan``) from one read of the
unit's roster; the import checks again, refuses when the list differs from
the one shown, and carries it out set-based (``roster_writer``: bulk inserts
and updates in batches, an audit entry per batch of changed people).
"""
from __future__ import annotations

import hashlib
import json
from typing import Callable

from flask import current_app
from sqlalchemy import select

from ..web.messages import N_
from ..audit.service import record
from ..core.db import utcnow
from ..core.errors import Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import Scope, scoped
from ..web.messages import N_
from . import accounts, roster_check, roster_format, roster_plan, roster_read
from .models import LeaderCharge, Person, RosterImport
from .roster_writer import Writer as _Writer

BATCH = 1000
# plan field -> person column, where they differ (dept: org_id by code; supervisor: supervisor_id by staff no)
PLAN_COLUMN = {f: f for f in roster_plan.PLAN_FIELDS if f not in ("dept", "supervisor")}


def max_rows() -> int:
    return current_app.config["KAOHE_ROSTER_MAX_ROWS"]


def unit_departments(unit: OrgNode) -> list[OrgNode]:
    """Departments that belong to this unit (not to a unit nested in it)."""
    below = db.session.execute(
        select(OrgNode).where(OrgNode.root_id == unit.root_id, OrgNode.path.like(unit.path + "%"),
                              OrgNode.id != unit.id).order_by(OrgNode.path)
    ).scalars().all()
    nested_units = [n.path for n in below if n.is_assessment_unit]
    return [n for n in below if n.kind == "department" and not any(n.path.startswith(p) for p in nested_units)]


def _current(unit: OrgNode) -> tuple[dict[str, dict], dict[int, str]]:
    """The unit's people in plan terms (one query) and id -> staff number."""
    cols = [Person.id, Person.staff_no, Person.supervisor_id, Person.org_id, Person.name, Person.gender,
            Person.post, Person.rank_group, Person.job_category, Person.position_role, Person.hire_date,
            Person.probation_end, Person.staff_category, Person.id_number, Person.birth_date,
            Person.political_status, Person.post_rank, Person.work_start_date, Person.active]
    rows = db.session.execute(select(*cols).where(Person.root_id == unit.root_id, Person.unit_id == unit.id)).all()
    staff_of = {r.id: r.staff_no for r in rows}
    org_codes = dict(db.session.execute(select(OrgNode.id, OrgNode.code).where(
        OrgNode.root_id == unit.root_id, OrgNode.path.like(unit.path + "%"), OrgNode.id != unit.id)).all())
    current = {}
    for r in rows:
        cur = {f: getattr(r, f) for f in PLAN_COLUMN}
        cur["dept"] = None if r.org_id == unit.id else org_codes.get(r.org_id, f"#{r.org_id}")
        cur["supervisor"] = staff_of.get(r.supervisor_id)
        cur["id"] = r.id
        current[r.staff_no] = cur
    return current, staff_of


def ids_elsewhere(unit: OrgNode):
    """The look-up the check asks once, at the end of its pass: which of these
    ID numbers people of the province's other units hold.  Those units are
    outside a township admin's view, so it reads under the province's scope
    and answers only the numbers (never who holds them)."""
    def lookup(numbers: list[str]) -> set[str]:
        found: set[str] = set()
        with scoped(Scope.province(unit.root_id, label="roster-id-numbers")):
            for i in range(0, len(numbers), BATCH):
                found.update(db.session.execute(select(Person.id_number).where(
                    Person.root_id == unit.root_id, Person.unit_id != unit.id,
                    Person.id_number.in_(numbers[i:i + BATCH]))).scalars())
        return found
    return lookup


def unit_context(unit: OrgNode, deactivate_missing: bool = False) -> roster_format.UnitContext:
    depts = {d.code: (d.id, d.name) for d in unit_departments(unit)}
    current, staff_of = _current(unit)
    existing = {s: (c["id"], c["active"], c["position_role"]) for s, c in current.items()}
    code_of = {v[0]: k for k, v in depts.items()}
    charges = {(staff_of.get(r.leader_id), code_of.get(r.department_id)) for r in db.session.execute(
        select(LeaderCharge.leader_id, LeaderCharge.department_id)
        .where(LeaderCharge.root_id == unit.root_id, LeaderCharge.org_id == unit.id))}
    return roster_format.UnitContext(unit_code=unit.code, departments=depts, existing=existing, max_rows=max_rows(),
                                     deactivate_missing=deactivate_missing, current=current, charges=charges,
                                     ids_elsewhere=ids_elsewhere(unit))


def check_unit(unit: OrgNode) -> None:
    if not unit.is_assessment_unit:
        raise Invalid({"unit_id": [N_("A roster belongs to an assessment unit; this node is not one.")]})


def upload(unit: OrgNode, *, filename: str, data: bytes, deactivate_missing: bool = False,
           user_id: int | None = None) -> RosterImport:
    """Keep the uploaded file; checking happens in a job."""
    check_unit(unit)
    name = (filename or "roster.xlsx").replace("\\", "/").rsplit("/", 1)[-1][:255] or "roster.xlsx"
    imp = RosterImport(root_id=unit.root_id, org_id=unit.id, filename=name, size=len(data or b""),
                       sha256=hashlib.sha256(data or b"").hexdigest(), content=data or b"", status="uploaded",
                       deactivate_missing=bool(deactivate_missing), rows_total=0, error_count=0,
                       created_by=user_id)
    db.session.add(imp)
    db.session.flush()
    return imp


def _store_report(imp: RosterImport, report: roster_format.Report) -> None:
    imp.rows_total = report.rows_total
    imp.error_count = report.error_count
    imp.errors = [p.to_dict() for p in report.problems]
    counts = report.plan.counts if report.ok and report.plan is not None else {}
    imp.summary = {"new": report.new_people, "updated": report.updated_people, "charges": report.charges_total,
                   "changes": dict(counts)}
    imp.changes = report.plan.to_dict() if report.ok and report.plan is not None else None
    imp.checked_at = utcnow()
    imp.status = "valid" if report.ok else "invalid"


def check(imp: RosterImport, progress: Callable | None = None) -> roster_format.Report:
    unit = db.session.get(OrgNode, imp.org_id)
    report = roster_check.check_workbook(imp.content, unit_context(unit, imp.deactivate_missing), progress,
                                         current_app.config)
    _store_report(imp, report)
    db.session.flush()
    return report


class Changed(Invalid):
    """The roster changed between the check and the import: the file's list
    of changes is not the one the user saw.  The new list is stored."""


def apply(imp: RosterImport, progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Check again (the roster may have changed since), refuse when the list
    of changes differs from the one the check showed, then carry out exactly
    that list.  Raises Invalid when the file is not clean (or the list
    changed): nothing is written."""
    if imp.status == "imported":
        raise Invalid({"import": [N_("This file was already imported.")]})
    unit = db.session.get(OrgNode, imp.org_id)
    check_unit(unit)
    ctx = unit_context(unit, imp.deactivate_missing)
    data = imp.content
    if hashlib.sha256(data).hexdigest() != imp.sha256:
        raise Invalid({"file": [N_("The stored file does not match its checksum.")]})
    total = 0

    def step(done, msg):
        if progress:
            progress(done, max(total, done), msg)

    listed = imp.changes
    report = roster_check.check_workbook(data, ctx, lambda n: step(n, "checking"), current_app.config)
    _store_report(imp, report)
    if not report.ok:
        db.session.flush()
        raise Invalid({"file": [f"The workbook has {report.error_count} problem(s); nothing was imported."]})
    if listed is not None and not _within(imp.changes, listed):
        db.session.flush()
        raise Changed({"file": [N_("The roster changed since the check: look at the new list of changes and "
                                   "import again.")]})
    total = report.rows_total * 2
    plan = report.plan
    writer = _Writer(unit, imp, ctx)
    # New people: their values come from the file (the list names them).
    new_rows = {e[2] for e in plan.people if e[1] == "new"}
    sup_wanted: dict[str, str | None] = {}
    charge_leaders: set[str] = set()
    wb = roster_check.open_workbook(data, current_app.config)
    done = 0
    try:
        for row in roster_read.iter_people(wb, ctx):
            done += 1
            if row["staff_no"] in new_rows:
                writer.insert(row)
                if row.get("supervisor_staff_no"):
                    sup_wanted[row["staff_no"]] = row["supervisor_staff_no"]
            if done % BATCH == 0:
                step(report.rows_total + done, "writing")
        charge_rows = roster_read.iter_charges(wb, ctx)
        if charge_rows is not None:
            charge_leaders = {leader for leader, _d, remove in charge_rows if not remove}
    finally:
        wb.close()
    writer.flush_inserts()
    for _r, op, staff_no, _n, detail in plan.people:
        if op == "update":
            writer.update(staff_no, detail)
            if "supervisor" in detail:
                sup_wanted[staff_no] = detail["supervisor"][1]
    writer.flush_updates()
    counts = dict(created=len(new_rows), updated=plan.counts["updated"], unchanged=plan.counts["unchanged"],
                  reactivated=plan.counts["reactivated"], moved=plan.counts["moved"],
                  cleared=plan.counts["cleared"])
    counts["supervisors_changed"] = writer.supervisors(sup_wanted)
    gone = [staff_no for _r, op, staff_no, _n, _d in plan.people if op == "remove"]
    counts["deactivated"] = len(gone)
    counts["accounts_deactivated"] = writer.remove(gone)
    added, removed = writer.charges(plan.charges)
    counts["charges_added"], counts["charges_removed"] = added, removed
    # leaders in charge of departments and people newly named as supervisors rate: leader role
    raters = charge_leaders | {s for s in sup_wanted.values() if s}
    if raters:
        counts["leader_roles_granted"] = accounts.grant_leader_role(
            unit, {writer.id_of[s] for s in raters if s in writer.id_of},
            reason=f"roster import {imp.id} ({imp.filename})")
    writer.flush_audit(force=True)
    imp.status = "imported"
    imp.imported_at = utcnow()
    imp.summary = dict(imp.summary or {}, **counts)
    record("people.roster.import", root_id=unit.root_id, org_id=unit.id, target_type="roster_import",
           target_id=imp.id, after={"file": imp.filename, "sha256": imp.sha256, "rows": report.rows_total,
                                    **counts})
    db.session.flush()
    step(total, "done")
    return counts


def _within(plan: dict, listed: dict) -> bool:
    """Every change of ``plan`` is one the check listed (the user saw).  Equal
    lists pass; so does an empty one (a retried import whose first run was
    written, or a roster already matching), and a part of the list (some of
    it made meanwhile, the rest still as shown)."""
    def entries(p):
        return {json.dumps(e, sort_keys=True, ensure_ascii=False, default=str)
                for e in (p or {}).get("people", []) + (p or {}).get("charges", [])}
    return entries(plan) <= entries(listed)


def latest_imports(unit: OrgNode, limit: int = 10) -> list[RosterImport]:
    return list(db.session.execute(
        select(RosterImport).where(RosterImport.root_id == unit.root_id, RosterImport.org_id == unit.id)
        .order_by(RosterImport.id.desc()).limit(limit)).scalars())
