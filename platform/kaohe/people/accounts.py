"""Accounts of the people on a roster: link and unlink an account to a person
(one account per person), and what the roster does to the accounts of the
people it changes (who leaves loses the account's sign-in and every token).

The API, the pages and the CLI call these functions; the caller has already
loaded the account and the person in its scope and applied the one
account-management rule (``kaohe.auth.manage``).  Flush, never commit.
"""
from __future__ import annotations

import secrets

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..audit.service import record
from ..auth import service as auth_service
from ..auth.models import ApiToken, RoleGrant, User
from ..auth.roles import Role
from ..core.db import utcnow
from ..core.errors import Conflict, Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import Scope, scoped
from .models import Person


class PersonLinkSchema(Schema):
    """Which person an account is linked to: ``person_id``, or the unit and
    the staff number on its roster.  Shared by the API, the page and the CLI."""

    person_id = fields.Int(validate=validate.Range(min=1))
    unit_id = fields.Int(validate=validate.Range(min=1))
    staff_no = fields.Str(validate=validate.Length(min=1, max=32))

    @validates_schema
    def _one_way(self, data, **kwargs):
        if "person_id" in data:
            return
        if not data.get("unit_id") or not (data.get("staff_no") or "").strip():
            raise ValidationError("Give person_id, or unit_id and staff_no.", "staff_no")


def find_person(data: dict, load) -> Person:
    """The person named by a checked ``PersonLinkSchema`` payload.  ``load``
    is the scoped loader (``get_in_scope``): 404 outside the caller's scope."""
    if "person_id" in data:
        return load(Person, data["person_id"])
    unit = load(OrgNode, data["unit_id"])
    staff_no = data["staff_no"].strip()
    person = db.session.execute(select(Person).where(
        Person.root_id == unit.root_id, Person.unit_id == unit.id, Person.staff_no == staff_no)).scalar_one_or_none()
    if person is None:
        raise Invalid({"staff_no": [f"No person with staff number {staff_no} on this unit's roster."]})
    return person


def _holder_of(person: Person) -> int | None:
    """The account linked to the person, wherever it is homed in the province
    (read under the province's scope: the caller may not see it)."""
    with scoped(Scope.province(person.root_id, label="person-account")):
        return db.session.execute(
            select(User.id).where(User.root_id == person.root_id, User.person_id == person.id)).scalar()


def link(user: User, person: Person) -> None:
    """Link ``user`` to ``person`` and give it the staff role on the person's
    unit (what the staff pages need).  One account per person, one person
    per account: either already taken is a 409."""
    if user.root_id is None or user.root_id != person.root_id:
        raise Invalid({"person_id": ["The person is in another province than the account."]})
    if not person.active:
        raise Invalid({"person_id": ["This person has left the roster; an account cannot be linked to them."]})
    if user.person_id == person.id:
        return
    if user.person_id is not None:
        raise Conflict({"person_id": ["This account is already linked to another person; unlink it first."]})
    holder = _holder_of(person)
    if holder is not None and holder != user.id:
        raise Conflict({"person_id": ["This person already has an account (one account per person)."]})
    user.person_id = person.id
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        user.person_id = None
        raise Conflict({"person_id": ["This person already has an account (one account per person)."]})
    unit = db.session.get(OrgNode, person.unit_id)
    has_staff = db.session.execute(select(RoleGrant.id).where(
        RoleGrant.user_id == user.id, RoleGrant.role == Role.staff.value, RoleGrant.org_id == unit.id)).first()
    if not has_staff:
        auth_service.grant_role(user, Role.staff, unit, check=False)
    record("user.person.link", root_id=person.root_id, org_id=person.org_id, target_type="user", target_id=user.id,
           before={"person_id": None},
           after={"person_id": person.id, "staff_no": person.staff_no, "unit": unit.code, "user": user.username})
    db.session.flush()


def unlink(user: User) -> None:
    """Remove the link (the account keeps its grants; revoke them apart)."""
    if user.person_id is None:
        raise Invalid({"person_id": ["This account is not linked to a person."]})
    old = user.person_id
    person = db.session.get(Person, old)
    user.person_id = None
    record("user.person.unlink", root_id=user.root_id,
           org_id=person.org_id if person is not None else (user.org_id or user.root_id),
           target_type="user", target_id=user.id, before={"person_id": old}, after={"person_id": None})
    db.session.flush()


def deactivate_for_people(root_id: int, org_id: int, person_ids: list[int], reason: str) -> int:
    """The people left the roster: deactivate their accounts, end every
    session and revoke every token (set-based).  Returns how many accounts."""
    if not person_ids:
        return 0
    with scoped(Scope.system("roster-accounts")):
        return _deactivate(root_id, org_id, person_ids, reason)


def _deactivate(root_id: int, org_id: int, person_ids: list[int], reason: str) -> int:
    user_t = User.__table__
    ids: list[int] = []
    for i in range(0, len(person_ids), 1000):
        chunk = person_ids[i:i + 1000]
        ids += list(db.session.execute(select(user_t.c.id).where(
            user_t.c.root_id == root_id, user_t.c.person_id.in_(chunk), user_t.c.active.is_(True)))
            .scalars())
    if not ids:
        return 0
    for i in range(0, len(ids), 1000):
        chunk = ids[i:i + 1000]
        db.session.execute(update(user_t).where(user_t.c.id.in_(chunk))
                           .values(active=False, session_token=secrets.token_hex(16))
                           .execution_options(synchronize_session=False))
        db.session.execute(update(ApiToken.__table__).where(
            ApiToken.__table__.c.user_id.in_(chunk), ApiToken.__table__.c.revoked_at.is_(None))
            .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
    db.session.expire_all()
    record("user.deactivate.roster", root_id=root_id, org_id=org_id, target_type="user",
           target_id=",".join(str(i) for i in ids[:50]), before={"active": True},
           after={"active": False, "accounts": len(ids), "tokens_revoked": True}, reason=reason)
    return len(ids)
