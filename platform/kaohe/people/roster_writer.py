"""Carrying out a checked roster plan (``roster_plan.Plan``): bulk inserts of
the new people, bulk updates of exactly the listed fields, the supervisor
links, the removals, the 分管 links, and an audit entry per batch of changed
people with their before/after values.

Set-based: a bounded number of statements per thousand people; flushes,
never commits.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from ..audit.service import record
from ..core.db import allocate_ids, utcnow
from ..extensions import db
from ..tenancy.models import OrgNode
from . import accounts, roster_format
from .id_number import mask
from .models import LeaderCharge, Person, RosterImport

BATCH = 1000
AUDIT_BATCH = 500
NEW_COLUMNS = ("name", "gender", "post", "rank_group", "job_category", "position_role", "hire_date",
               "probation_end", "staff_category", "id_number", "birth_date", "political_status", "post_rank",
               "work_start_date")
DEFAULTS = {"rank_group": "staff", "job_category": "general", "position_role": "staff"}
PERSON = Person.__table__
CHARGE = LeaderCharge.__table__


def _audit_value(field: str, v: Any) -> Any:
    """As the audit log keeps it: ID numbers masked (the log is shown on pages)."""
    return mask(v) if field == "id_number" else roster_format.jsonable(v)


class Writer:
    def __init__(self, unit: OrgNode, imp: RosterImport, ctx: roster_format.UnitContext):
        self.unit, self.imp, self.ctx = unit, imp, ctx
        self.id_of = {s: c["id"] for s, c in ctx.current.items()}
        self.inserts: list[dict] = []
        self.updates: dict[tuple, list[dict]] = {}     # columns changed -> rows
        self.audit_before: dict[str, Any] = {}
        self.audit_after: dict[str, Any] = {}
        self.now = utcnow()
        self.reason = f"roster import {imp.id} ({imp.filename})"

    # -- audit --------------------------------------------------------------
    def note(self, staff_no: str, before: dict, after: dict) -> None:
        self.audit_before.setdefault(staff_no, {}).update({k: _audit_value(k, v) for k, v in before.items()})
        self.audit_after.setdefault(staff_no, {}).update({k: _audit_value(k, v) for k, v in after.items()})
        self.flush_audit()

    def flush_audit(self, force: bool = False) -> None:
        if self.audit_after and (force or len(self.audit_after) >= AUDIT_BATCH):
            record("people.roster.changes", root_id=self.unit.root_id, org_id=self.unit.id,
                   target_type="roster_import", target_id=self.imp.id, before=dict(self.audit_before),
                   after=dict(self.audit_after), reason=self.reason)
            self.audit_before.clear()
            self.audit_after.clear()

    # -- people ---------------------------------------------------------------
    def _org(self, code: str | None) -> int:
        return self.ctx.departments[code][0] if code else self.unit.id

    def insert(self, row: dict) -> None:
        rec = {c: row.get(c) for c in NEW_COLUMNS}
        for k, v in DEFAULTS.items():
            if rec.get(k) is None:
                rec[k] = v
        rec.update(root_id=self.unit.root_id, unit_id=self.unit.id, staff_no=row["staff_no"],
                   org_id=row.get("dept_id") or self.unit.id, supervisor_id=None, active=True,
                   created_at=self.now, version=1)
        self.inserts.append(rec)
        self.note(row["staff_no"], {}, {k: rec[k] for k in NEW_COLUMNS + ("org_id",) if rec[k] is not None})
        if len(self.inserts) >= BATCH:
            self.flush_inserts()

    def flush_inserts(self) -> None:
        if not self.inserts:
            return
        ids = allocate_ids(db.session, "person", len(self.inserts))
        for rec, new_id in zip(self.inserts, ids):
            rec["id"] = new_id
            self.id_of[rec["staff_no"]] = new_id
        db.session.execute(insert(PERSON), self.inserts)
        self.inserts.clear()

    def update(self, staff_no: str, changes: dict[str, list]) -> None:
        """Exactly the listed fields (the supervisor comes later, by id)."""
        values = {}
        for f, (_old, new) in changes.items():
            if f == "dept":
                values["org_id"] = self._org(new)
            elif f != "supervisor":
                values[f] = new
        self.note(staff_no, {f: o for f, (o, _n) in changes.items()}, {f: n for f, (_o, n) in changes.items()})
        if values:
            key = tuple(sorted(values))
            self.updates.setdefault(key, []).append({"b_id": self.id_of[staff_no],
                                                     **{"b_" + k: v for k, v in values.items()}})
            if len(self.updates[key]) >= BATCH:
                self._flush_update(key)

    def _flush_update(self, key: tuple) -> None:
        rows = self.updates.pop(key, [])
        if rows:
            stmt = (update(PERSON).where(PERSON.c.id == bindparam("b_id"))
                    .values({**{k: bindparam("b_" + k) for k in key}, "version": PERSON.c.version + 1}))
            db.session.execute(stmt, rows)

    def flush_updates(self) -> None:
        for key in list(self.updates):
            self._flush_update(key)

    def supervisors(self, wanted: dict[str, str | None]) -> int:
        """Supervisor links by staff number, now that everyone has an id."""
        rows = [{"b_id": self.id_of[s], "b_sup": self.id_of.get(sup) if sup else None}
                for s, sup in wanted.items()]
        for i in range(0, len(rows), BATCH):
            db.session.execute(update(PERSON).where(PERSON.c.id == bindparam("b_id"))
                               .values(supervisor_id=bindparam("b_sup"), version=PERSON.c.version + 1),
                               rows[i:i + BATCH])
        return len(rows)

    def remove(self, staff_nos: list[str]) -> int:
        """Off the roster (marked, or missing from the file when asked); their
        accounts lose sign-in and every token.  Returns the accounts count."""
        ids = [self.id_of[s] for s in staff_nos]
        for i in range(0, len(ids), BATCH):
            db.session.execute(update(PERSON).where(PERSON.c.id == bindparam("b_id"))
                               .values(active=False, version=PERSON.c.version + 1),
                               [{"b_id": pid} for pid in ids[i:i + BATCH]])
        for s in staff_nos:
            self.note(s, {"active": True}, {"active": False})
        return accounts.deactivate_for_people(self.unit.root_id, self.unit.id, ids, reason=self.reason)

    # -- 分管 -----------------------------------------------------------------
    def charges(self, listed: list[list]) -> tuple[int, int]:
        """The listed additions and removals of leader–department links."""
        if not listed:
            return 0, 0
        add = [(self.id_of[l], self.ctx.departments[d][0]) for _r, op, l, d in listed if op == "add"]
        drop = {(self.id_of[l], self.ctx.departments[d][0]) for _r, op, l, d in listed if op == "remove"}
        if drop:
            current = {(r.leader_id, r.department_id): r.id for r in db.session.execute(
                select(LeaderCharge.id, LeaderCharge.leader_id, LeaderCharge.department_id)
                .where(LeaderCharge.root_id == self.unit.root_id, LeaderCharge.org_id == self.unit.id))}
            ids = [cid for pair, cid in current.items() if pair in drop]
            for i in range(0, len(ids), BATCH):
                db.session.execute(delete(CHARGE).where(CHARGE.c.id.in_(ids[i:i + BATCH])))
        if add:
            db.session.execute(insert(CHARGE), [
                {"root_id": self.unit.root_id, "org_id": self.unit.id, "leader_id": lid, "department_id": did}
                for lid, did in add])
        record("people.roster.charges", root_id=self.unit.root_id, org_id=self.unit.id,
               target_type="roster_import", target_id=self.imp.id,
               before={"removed": sorted(f"{l}→{d}" for _r, op, l, d in listed if op == "remove")},
               after={"added": [f"{l}→{d}" for _r, op, l, d in listed if op == "add"]})
        return len(add), len(drop)

