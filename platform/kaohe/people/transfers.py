"""Transfer a person to another assessment unit (调动): the one operation the
person page, the API and the CLI call.

The person's row in the old unit is closed and a new row opens in the new
unit on the transfer date (see ``transfer_models`` for why); the account, if
any, follows the person: it is linked to the new row, homed in the new unit,
loses its grants on the old unit's subtree, gets the staff role on the new
unit, and (its grants having changed) every session and token ends.  The
caller has loaded the person and the target unit in its scope (404 outside
it) and checked the one rule ``may_transfer`` on both units.  Flush, never
commit; audited in both units' lanes.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..audit.service import current_actor, record
from ..auth import service as auth_service
from ..auth.manage import may_manage
from ..auth.models import RoleGrant, User
from ..auth.roles import Perm, Role
from ..auth.service import has_perm
from ..core.clock import local_today
from ..core.errors import Conflict, Forbidden, Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import Scope, scoped
from ..web.messages import N_, register_templates
from .models import LeaderCharge, Person
from .roster_service import unit_departments
from .transfer_models import PersonTransfer

# What a transfer needs on BOTH units (the old and the new): the roster rule.
TRANSFER_PERM = Perm.unit_admin

# Columns that do not travel with the person to the new row.
_NOT_COPIED = {"id", "root_id", "org_id", "unit_id", "staff_no", "supervisor_id", "active", "created_at",
               "version", "position_role"}
POSITION_ROLES = ("head", "deputy", "dept_head", "staff")
STAFF_NO_TAKEN = N_("The staff number %(staff_no)s is already used on the new unit's roster; give another one.")
register_templates(STAFF_NO_TAKEN)


class TransferSchema(Schema):
    """A transfer request: the new unit, optionally its department, the staff
    number there (default: the same), the post held there and the reason.
    The date is the server's today (an official act is never back-dated)."""

    to_unit_id = fields.Int(required=True, validate=validate.Range(min=1))
    to_org_id = fields.Int(validate=validate.Range(min=1), load_default=None)
    staff_no = fields.Str(validate=validate.Length(min=1, max=32), load_default=None)
    position_role = fields.Str(validate=validate.OneOf(POSITION_ROLES), load_default="staff")
    reason = fields.Str(required=True, validate=validate.Length(min=2, max=500))


def _province_unique_keys() -> set[str]:
    """Copied columns that are unique in the province (e.g. an ID number):
    the value moves to the new row, the closed row gives it up."""
    from sqlalchemy import UniqueConstraint

    table = Person.__table__
    sets = [{c.name for c in ix.columns} for ix in table.indexes if ix.unique]
    sets += [{c.name for c in con.columns} for con in table.constraints if isinstance(con, UniqueConstraint)]
    keys = {c.key for c in Person.__mapper__.column_attrs if c.key not in _NOT_COPIED}
    out: set[str] = set()
    for cols in sets:
        if "unit_id" not in cols and "id" not in cols:
            out |= (cols - {"root_id"}) & keys
    return out


def may_transfer(person_unit: OrgNode, to_unit: OrgNode) -> bool:
    """The one permission rule: the roster permission on both units."""
    return has_perm(TRANSFER_PERM, person_unit) and has_perm(TRANSFER_PERM, to_unit)


def target_units(person: Person, candidates: list[OrgNode]) -> list[OrgNode]:
    """The units a person may be transferred to by the caller (for the form)."""
    return [u for u in candidates if u.is_assessment_unit and u.id != person.unit_id and has_perm(TRANSFER_PERM, u)]


def _account_of(person: Person) -> User | None:
    """The account linked to the person, wherever it is homed (province scope)."""
    with scoped(Scope.province(person.root_id, label="transfer-account")):
        return db.session.execute(select(User).where(
            User.root_id == person.root_id, User.person_id == person.id)).scalar_one_or_none()


def transfer(person: Person, to_unit: OrgNode, data: dict, *, to_org: OrgNode | None = None,
             check_manage: bool = True) -> PersonTransfer:
    """Move ``person`` to ``to_unit`` (``to_org``: a department of it, or the
    unit itself).  Everything is checked before the first write."""
    from_unit = db.session.get(OrgNode, person.unit_id)
    if to_unit.root_id != person.root_id:
        raise Invalid({"to_unit_id": [N_("The unit is in another province.")]})
    if not to_unit.is_assessment_unit:
        raise Invalid({"to_unit_id": [N_("A person is transferred to an assessment unit.")]})
    if to_unit.id == person.unit_id:
        raise Invalid({"to_unit_id": [N_("The person is already on this unit's roster.")]})
    if not person.active:
        raise Invalid({"person_id": [N_("This person is no longer on the roster (left or transferred).")]})
    to_org = to_org or to_unit
    if to_org.id != to_unit.id and to_org.id not in {d.id for d in unit_departments(to_unit)}:
        raise Invalid({"to_org_id": [N_("The department is not one of the new unit's departments.")]})
    staff_no = (data.get("staff_no") or person.staff_no).strip()
    taken = db.session.execute(select(Person.id).where(
        Person.root_id == to_unit.root_id, Person.unit_id == to_unit.id, Person.staff_no == staff_no)).first()
    if taken:
        raise Conflict({"staff_no": [STAFF_NO_TAKEN % {"staff_no": staff_no}]})
    user = _account_of(person)
    if user is not None and check_manage and not may_manage(user):
        raise Forbidden({"person_id": [N_("The person's account holds more than you may manage; "
                                          "ask an administrator above you.")]})
    today = local_today()

    # The new row: the same person, the new unit, no supervisor yet.
    copy = {c.key: getattr(person, c.key) for c in Person.__mapper__.column_attrs if c.key not in _NOT_COPIED}
    person.active = False
    moved = {k: copy[k] for k in _province_unique_keys() if copy.get(k) is not None}
    if moved:                  # one value per province: the closed row gives it to the new one
        for k in moved:
            setattr(person, k, None)
        db.session.flush()
    new = Person(root_id=person.root_id, org_id=to_org.id, unit_id=to_unit.id, staff_no=staff_no, active=True,
                 position_role=data.get("position_role") or "staff", **copy)
    db.session.add(new)
    charges = [c for c, in db.session.execute(select(LeaderCharge.department_id).where(
        LeaderCharge.root_id == person.root_id, LeaderCharge.leader_id == person.id)).all()]
    if charges:
        db.session.execute(delete(LeaderCharge).where(LeaderCharge.root_id == person.root_id,
                                                      LeaderCharge.leader_id == person.id)
                           .execution_options(synchronize_session=False))
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict({"staff_no": [STAFF_NO_TAKEN % {"staff_no": staff_no}]})

    revoked: list[dict] = []
    if user is not None:
        revoked = _move_account(user, new, from_unit, to_unit, to_org)
    row = PersonTransfer(root_id=person.root_id, org_id=to_unit.id, person_id=new.id, from_person_id=person.id,
                         from_unit_id=from_unit.id, from_org_id=person.org_id, to_org_id=to_org.id,
                         from_staff_no=person.staff_no, staff_no=staff_no, transfer_date=today,
                         reason=data["reason"].strip(), account_id=user.id if user is not None else None,
                         grants_revoked=revoked or None, created_by=current_actor().name)
    db.session.add(row)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict({"person_id": [N_("This person was transferred at the same time by someone else; reload.")]})
    detail = {"person": person.name, "from_person_id": person.id, "person_id": new.id,
              "from_unit": from_unit.code, "to_unit": to_unit.code, "to_org": to_org.code,
              "from_staff_no": person.staff_no, "staff_no": staff_no, "date": today.isoformat(),
              "charges_removed": charges, "account": user.username if user is not None else None,
              "moved_to_new_row": sorted(moved),
              "grants_revoked": revoked}
    for org_id in sorted({from_unit.id, to_unit.id}):     # a stable lane order (no deadlocks)
        record("person.transfer", root_id=person.root_id, org_id=org_id, target_type="person", target_id=new.id,
               before={"person_id": person.id, "unit": from_unit.code, "staff_no": person.staff_no, "active": True},
               after=detail, reason=row.reason)
    db.session.flush()
    return row


def _move_account(user: User, new: Person, from_unit: OrgNode, to_unit: OrgNode, to_org: OrgNode) -> list[dict]:
    """The account follows the person; returns the revoked grants."""
    with scoped(Scope.province(user.root_id, label="transfer-grants")):
        grants = db.session.execute(select(RoleGrant).where(RoleGrant.user_id == user.id)).scalars().all()
        paths = dict(db.session.execute(select(OrgNode.id, OrgNode.path).where(
            OrgNode.id.in_({g.org_id for g in grants if g.org_id is not None} or {0}))).all())
        codes = dict(db.session.execute(select(OrgNode.id, OrgNode.code).where(
            OrgNode.id.in_(set(paths) or {0}))).all())
        old = [g for g in grants if g.org_id is not None and paths.get(g.org_id, "").startswith(from_unit.path)]
        revoked = [{"role": g.role, "org": codes.get(g.org_id)} for g in old]
        for g in old:
            db.session.delete(g)
        before = {"person_id": user.person_id, "org_id": user.org_id}
        user.person_id = new.id
        user.org_id = to_org.id
        db.session.flush()
        have = {g.role for g in grants if g.org_id == to_unit.id and g not in old}
        added = []
        wanted = [Role.staff] + ([Role.leader] if new.position_role in ("head", "deputy") else [])
        for role in wanted:
            if role.value not in have:
                db.session.add(RoleGrant(user_id=user.id, role=role.value, org_id=to_unit.id, root_id=to_unit.root_id,
                                         granted_by=None))
                added.append(role.value)
        db.session.flush()
        if revoked or added:
            auth_service.revoke_all_credentials(user)
        record("user.transfer", root_id=user.root_id, org_id=to_unit.id, target_type="user", target_id=user.id,
               before=before, after={"person_id": new.id, "org_id": to_org.id, "granted": added,
                                     "revoked": revoked, "credentials_revoked": bool(revoked or added)})
    return revoked
