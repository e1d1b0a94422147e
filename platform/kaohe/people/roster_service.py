"""Roster import operations: keep the upload, check it, write it.

Flush, never commit (the request or the job commits once).  The write is
set-based: one read of the unit's roster, bulk inserts and bulk updates in
batches, one read of the staff-number → id map for the supervisor links, and
an audit entry per batch of changed people with their before/after values.
"""
from __future__ import annotations

import hashlib
from typing import Any, Callable

from flask import current_app
from sqlalchemy import bindparam, delete, insert, select, update

from ..web.messages import N_
from ..audit.service import record
from ..core.db import allocate_ids, utcnow
from ..core.errors import Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from . import accounts, roster_check, roster_format
from .models import LeaderCharge, Person, RosterImport

BATCH = 1000
AUDIT_BATCH = 500
# The person fields an import may set (besides staff_no, the key).
FIELDS = ("name", "gender", "org_id", "post", "rank_group", "job_category", "position_role", "hire_date",
          "probation_end", "active")
DEFAULTS = {"gender": None, "post": None, "rank_group": "staff", "job_category": "general",
            "position_role": "staff", "hire_date": None, "probation_end": None}


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


def unit_context(unit: OrgNode, deactivate_missing: bool = False) -> roster_format.UnitContext:
    depts = {d.code: (d.id, d.name) for d in unit_departments(unit)}
    existing = {r.staff_no: (r.id, r.active, r.position_role) for r in db.session.execute(
        select(Person.staff_no, Person.id, Person.active, Person.position_role)
        .where(Person.root_id == unit.root_id, Person.unit_id == unit.id))}
    return roster_format.UnitContext(unit_code=unit.code, departments=depts, existing=existing, max_rows=max_rows(),
                              deactivate_missing=deactivate_missing)


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
    imp.summary = {"new": report.new_people, "updated": report.updated_people, "charges": report.charges_total}
    imp.checked_at = utcnow()
    imp.status = "valid" if report.ok else "invalid"


def check(imp: RosterImport, progress: Callable | None = None) -> roster_format.Report:
    unit = db.session.get(OrgNode, imp.org_id)
    report = roster_check.check_workbook(imp.content, unit_context(unit, imp.deactivate_missing), progress,
                                         current_app.config)
    _store_report(imp, report)
    db.session.flush()
    return report


def _person_dict(row) -> dict:
    return {f: getattr(row, f) for f in ("id", "staff_no", "supervisor_id") + FIELDS}


def apply(imp: RosterImport, progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Check again (the roster may have changed since), then write it all.
    Raises Invalid when the file is not clean: nothing is written."""
    if imp.status == "imported":
        raise Invalid({"import": ["This file was already imported."]})
    unit = db.session.get(OrgNode, imp.org_id)
    check_unit(unit)
    ctx = unit_context(unit, imp.deactivate_missing)
    data = imp.content
    if hashlib.sha256(data).hexdigest() != imp.sha256:
        raise Invalid({"file": ["The stored file does not match its checksum."]})
    total = 0

    def step(done, msg):
        if progress:
            progress(done, max(total, done), msg)

    report = roster_check.check_workbook(data, ctx, lambda n: step(n, "checking"), current_app.config)
    _store_report(imp, report)
    if not report.ok:
        db.session.flush()
        raise Invalid({"file": [f"The workbook has {report.error_count} problem(s); nothing was imported."]})
    total = report.rows_total * 2

    person_t = Person.__table__
    cols = [getattr(Person, f) for f in ("id", "staff_no", "supervisor_id") + FIELDS]
    existing = {r.staff_no: _person_dict(r) for r in db.session.execute(
        select(*cols).where(Person.root_id == unit.root_id, Person.unit_id == unit.id))}
    staff_of_id = {p["id"]: s for s, p in existing.items()}
    counts = {"created": 0, "updated": 0, "unchanged": 0, "reactivated": 0, "deactivated": 0,
              "supervisors_changed": 0, "charges_added": 0, "charges_removed": 0}
    audit_before: dict[str, Any] = {}
    audit_after: dict[str, Any] = {}

    def flush_audit(force: bool = False):
        if audit_after and (force or len(audit_after) >= AUDIT_BATCH):
            record("people.roster.changes", root_id=unit.root_id, org_id=unit.id, target_type="roster_import",
                   target_id=imp.id, before=dict(audit_before), after=dict(audit_after),
                   reason=f"roster import {imp.id} ({imp.filename})")
            audit_before.clear()
            audit_after.clear()

    def note(staff_no, before, after):
        b = audit_before.setdefault(staff_no, {})
        a = audit_after.setdefault(staff_no, {})
        b.update(before)
        a.update(after)
        flush_audit()

    inserts: list[dict] = []
    updates: list[dict] = []
    now = utcnow()
    upd_stmt = (update(person_t).where(person_t.c.id == bindparam("b_id"))
                .values({**{f: bindparam("b_" + f) for f in FIELDS}, "version": person_t.c.version + 1}))

    def write_batch():
        if inserts:
            ids = allocate_ids(db.session, "person", len(inserts))
            for row, new_id in zip(inserts, ids):
                row["id"] = new_id
            db.session.execute(insert(person_t), inserts)
            inserts.clear()
        if updates:
            db.session.execute(upd_stmt, updates)
            updates.clear()

    wb = roster_check.open_workbook(data, current_app.config)
    seen: set[str] = set()
    sup_pairs: list[tuple[str, str | None]] = []
    has_sup_column = False
    done = 0
    try:
        for row in roster_check.iter_people(wb, ctx):
            staff_no = row["staff_no"]
            seen.add(staff_no)
            if "supervisor_staff_no" in row:
                has_sup_column = True
                sup_pairs.append((staff_no, row["supervisor_staff_no"]))
            given = {k: v for k, v in row.items() if k in FIELDS}
            if "dept_id" in row:
                given["org_id"] = row["dept_id"] or unit.id
            given["active"] = True
            old = existing.get(staff_no)
            if old is None:
                rec = dict(DEFAULTS)
                rec.update({k: v for k, v in given.items() if v is not None or k not in DEFAULTS})
                for k, v in DEFAULTS.items():
                    if rec.get(k) is None:
                        rec[k] = v
                rec.setdefault("org_id", unit.id)
                rec.update(root_id=unit.root_id, unit_id=unit.id, staff_no=staff_no, supervisor_id=None,
                           created_at=now, version=1)
                inserts.append(rec)
                counts["created"] += 1
                note(staff_no, {}, {k: rec.get(k) for k in FIELDS})
            else:
                new = {f: old[f] for f in FIELDS}
                for k, v in given.items():
                    if k in ("rank_group", "job_category", "position_role") and v is None:
                        v = DEFAULTS[k]
                    new[k] = v
                before, after = _diff({f: old[f] for f in FIELDS}, new)
                if after:
                    if "active" in after:
                        counts["reactivated"] += 1
                    counts["updated"] += 1
                    updates.append({"b_id": old["id"], **{"b_" + f: new[f] for f in FIELDS}})
                    note(staff_no, before, after)
                else:
                    counts["unchanged"] += 1
            done += 1
            if len(inserts) + len(updates) >= BATCH:
                write_batch()
            if done % BATCH == 0:
                step(report.rows_total + done, "writing")
        write_batch()
        charge_rows = roster_check.iter_charges(wb, ctx)
        charge_pairs = list(charge_rows) if charge_rows is not None else None
    finally:
        wb.close()

    # Supervisor links, now that every person has an id.
    id_of = dict(db.session.execute(
        select(Person.staff_no, Person.id).where(Person.root_id == unit.root_id, Person.unit_id == unit.id)).all())
    staff_of_id.update({v: k for k, v in id_of.items()})
    sup_updates = []
    if has_sup_column:
        for staff_no, sup in sup_pairs:
            old_sup = existing[staff_no]["supervisor_id"] if staff_no in existing else None
            new_sup = id_of.get(sup) if sup else None
            if old_sup != new_sup:
                sup_updates.append({"b_id": id_of[staff_no], "b_sup": new_sup})
                note(staff_no, {"supervisor": staff_of_id.get(old_sup)}, {"supervisor": sup})
    for i in range(0, len(sup_updates), BATCH):
        db.session.execute(update(person_t).where(person_t.c.id == bindparam("b_id"))
                           .values(supervisor_id=bindparam("b_sup"), version=person_t.c.version + 1),
                           sup_updates[i:i + BATCH])
    counts["supervisors_changed"] = len(sup_updates)

    # People not in the file leave the roster, when asked.
    if imp.deactivate_missing:
        gone = [p for s, p in existing.items() if s not in seen and p["active"]]
        for i in range(0, len(gone), BATCH):
            chunk = gone[i:i + BATCH]
            db.session.execute(update(person_t).where(person_t.c.id == bindparam("b_id"))
                               .values(active=False, version=person_t.c.version + 1),
                               [{"b_id": p["id"]} for p in chunk])
            for p in chunk:
                note(p["staff_no"], {"active": True}, {"active": False})
        counts["deactivated"] = len(gone)
        # Who leaves the roster loses the account's sign-in and every token.
        counts["accounts_deactivated"] = accounts.deactivate_for_people(
            unit.root_id, unit.id, [p["id"] for p in gone], reason=f"roster import {imp.id} ({imp.filename})")

    # 分管: the sheet's rows are added; only a row marked "删除" ends a charge
    # (an empty or partial sheet never removes what it leaves out).
    if charge_pairs:
        wanted = {(id_of[leader], dept) for leader, dept, remove in charge_pairs if not remove}
        unwanted = {(id_of[leader], dept) for leader, dept, remove in charge_pairs if remove and leader in id_of}
        current = {(r.leader_id, r.department_id): r.id for r in db.session.execute(
            select(LeaderCharge.id, LeaderCharge.leader_id, LeaderCharge.department_id)
            .where(LeaderCharge.root_id == unit.root_id, LeaderCharge.org_id == unit.id))}
        removed = [cid for pair, cid in current.items() if pair in unwanted and pair not in wanted]
        added = sorted(wanted - set(current))
        charge_t = LeaderCharge.__table__
        for i in range(0, len(removed), BATCH):
            db.session.execute(delete(charge_t).where(charge_t.c.id.in_(removed[i:i + BATCH])))
        if added:
            db.session.execute(insert(charge_t), [
                {"root_id": unit.root_id, "org_id": unit.id, "leader_id": lid, "department_id": did}
                for lid, did in added])
        counts["charges_added"], counts["charges_removed"] = len(added), len(removed)
        # The leaders named there get the leader role (their accounts, if linked).
        counts["leader_roles_granted"] = accounts.grant_leader_role(
            unit, {lid for lid, _d in wanted}, reason=f"roster import {imp.id} ({imp.filename})")
        if added or removed:
            dept_code = {v[0]: k for k, v in ctx.departments.items()}
            record("people.roster.charges", root_id=unit.root_id, org_id=unit.id, target_type="roster_import",
                   target_id=imp.id,
                   before={"removed": sorted(f"{staff_of_id.get(l)}→{dept_code.get(d)}"
                                             for (l, d), c in current.items() if c in set(removed))},
                   after={"added": [f"{staff_of_id.get(l)}→{dept_code.get(d)}" for l, d in added]})

    flush_audit(force=True)
    imp.status = "imported"
    imp.imported_at = utcnow()
    imp.summary = dict(imp.summary or {}, **counts)
    record("people.roster.import", root_id=unit.root_id, org_id=unit.id, target_type="roster_import",
           target_id=imp.id, after={"file": imp.filename, "sha256": imp.sha256, "rows": report.rows_total,
                                    **counts})
    db.session.flush()
    step(total, "done")
    return counts


def _diff(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def latest_imports(unit: OrgNode, limit: int = 10) -> list[RosterImport]:
    return list(db.session.execute(
        select(RosterImport).where(RosterImport.root_id == unit.root_id, RosterImport.org_id == unit.id)
        .order_by(RosterImport.id.desc()).limit(limit)).scalars())
