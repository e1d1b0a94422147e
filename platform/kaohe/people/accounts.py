"""Accounts of the people on a roster: link and unlink an account to a person
(one account per person), and what the roster does to the accounts of the
people it changes (who leaves loses the account's sign-in and every token).

The API, the pages and the CLI call these functions; the caller has already
loaded the account and the person in its scope and applied the one
account-management rule (``kaohe.auth.manage``).  Flush, never commit.
"""
from __future__ import annotations

from ..web.messages import N_
import datetime as dt
import secrets

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..audit.service import record
from ..auth import service as auth_service
from ..auth.models import ApiToken, RoleGrant, User
from ..auth.namespace import qualify
from ..auth.roles import Role
from ..core.db import utcnow
from ..auth.manage import may_manage
from ..core.errors import Conflict, Forbidden, Invalid
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
        raise Invalid({"person_id": [N_("The person is in another province than the account.")]})
    if not person.active:
        raise Invalid({"person_id": [N_("This person has left the roster; an account cannot be linked to them.")]})
    if user.person_id == person.id:
        return
    if user.person_id is not None:
        raise Conflict({"person_id": [N_("This account is already linked to another person; unlink it first.")]})
    holder = _holder_of(person)
    if holder is not None and holder != user.id:
        raise Conflict({"person_id": [N_("This person already has an account (one account per person).")]})
    user.person_id = person.id
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        user.person_id = None
        raise Conflict({"person_id": [N_("This person already has an account (one account per person).")]})
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
        raise Invalid({"person_id": [N_("This account is not linked to a person.")]})
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


# -- provisioning -------------------------------------------------------------

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I/L: read off paper
CODE_LENGTH = 10
CODE_DAYS = 14
MODES = ("code", "password")


class ProvisionSchema(Schema):
    """A provisioning request: everyone active on the unit's roster, or the
    given staff numbers; activation codes or initial passwords; re-issue
    codes to people who already have an account only when asked."""

    staff_nos = fields.List(fields.Str(validate=validate.Length(min=1, max=32)), load_default=None,
                            validate=validate.Length(max=20000))
    mode = fields.Str(load_default="code", validate=validate.OneOf(MODES))
    reissue = fields.Bool(load_default=False)
    days = fields.Int(load_default=CODE_DAYS, validate=validate.Range(min=1, max=90))


def username_for(rule: str, unit_code: str, staff_no: str, province_code: str | None = None) -> str:
    """The username a person gets by the province's rule (pure), moved into
    the province's namespace when its code is given (``kaohe.auth.namespace``)."""
    name = rule.replace("{unit}", unit_code).replace("{staff_no}", staff_no)[:64]
    return qualify(name, province_code) if province_code is not None else name


def code_digest(code: str) -> str:
    import hashlib

    return hashlib.sha256(code.strip().upper().replace("-", "").replace(" ", "").encode("utf-8")).hexdigest()


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_password() -> str:
    return "".join(secrets.choice(CODE_ALPHABET + "abcdefghjkmnpqrstuvwxyz") for _ in range(12))


def provision(unit: OrgNode, data: dict, rule: str, *, check_manage: bool = True) -> list[dict]:
    """Accounts for the people of ``unit`` (all active, or ``staff_nos``):
    one per person, username by ``rule``, staff role on the unit (and leader
    role for its head, deputies, department heads and anyone who supervises), and a one-time activation code (only
    its SHA-256 kept, expiring) or an initial password that must be changed
    at the first sign-in.  Idempotent: a person with an account gets no
    second one, and a new code only with ``reissue``.  Returns a row per
    person for the sheet (the codes appear only here).  Audited."""
    from ..auth.passwords import hash_password

    stmt = select(Person).where(Person.root_id == unit.root_id, Person.unit_id == unit.id, Person.active.is_(True))
    wanted = data.get("staff_nos")
    if wanted is not None:
        wanted = [s.strip() for s in wanted if s.strip()]
        stmt = stmt.where(Person.staff_no.in_(wanted))
    people = db.session.execute(stmt.order_by(Person.org_id, Person.staff_no)).scalars().all()
    if wanted is not None:
        missing = sorted(set(wanted) - {p.staff_no for p in people})
        if missing:
            raise Invalid({"staff_nos": [f"Not active on this unit's roster: {', '.join(missing[:20])}."]})
    if not people:
        raise Invalid({"staff_nos": [N_("Nobody on this unit's roster to provision.")]})
    ids = [p.id for p in people]
    with scoped(Scope.province(unit.root_id, label="provision")):
        have = {u.person_id: u for u in db.session.execute(
            select(User).where(User.root_id == unit.root_id, User.person_id.in_(ids))).scalars()}
    prov_code = auth_service.province_code(unit)
    names = {username_for(rule, unit.code, p.staff_no, prov_code): p for p in people if p.id not in have}
    taken = set()
    if names:
        taken = set(db.session.execute(select(func.lower(User.username)).where(
            func.lower(User.username).in_([n.lower() for n in names])).execution_options(kaohe_unscoped=True))
            .scalars())
    if taken:
        raise Conflict({"username": [f"Usernames by the rule are taken by other accounts: {', '.join(sorted(taken)[:20])}."]})
    mode, reissue = data.get("mode", "code"), bool(data.get("reissue"))
    expires = utcnow() + dt.timedelta(days=data.get("days", CODE_DAYS))
    depts = {n.id: n for n in db.session.execute(select(OrgNode).where(
        OrgNode.id.in_({p.org_id for p in people}))).scalars()}
    rows: list[dict] = []
    created: list[User] = []

    def secret_for(user: User) -> dict:
        if mode == "password":
            pw = new_password()
            user.password_hash = hash_password(pw)
            user.activation_hash = None
            user.activation_expires_at = None
            user.must_change_password = True
            return {"password": pw, "code": None, "expires_at": None}
        code = new_code()
        user.activation_hash = code_digest(code)
        user.activation_expires_at = expires
        user.must_change_password = True
        return {"password": None, "code": code, "expires_at": expires}

    for p in people:
        dept = depts.get(p.org_id)
        row = {"person_id": p.id, "staff_no": p.staff_no, "name": p.name,
               "department": dept.name if dept is not None else "", "department_en": dept.name_en if dept else "",
               "department_id": p.org_id}
        user = have.get(p.id)
        if user is None:
            user = User(username=username_for(rule, unit.code, p.staff_no, prov_code), display_name=p.name,
                        password_hash="!" + secrets.token_hex(16), session_token=secrets.token_hex(16),
                        root_id=unit.root_id, org_id=p.org_id, person_id=p.id, active=True)
            row.update(status="created", **secret_for(user))
            created.append(user)
            db.session.add(user)
        elif reissue and user.active:
            if check_manage and not may_manage(user):
                raise Forbidden({"reissue": [f"You may not manage the account {user.username}."]})
            row.update(status="reissued", **secret_for(user))
            auth_service.revoke_all_credentials(user)
        else:
            row.update(status="existing" if user.active else "inactive", password=None, code=None, expires_at=None)
        row["username"] = user.username
        rows.append(row)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict({"username": [N_("Another provisioning of these people ran at the same time; try again.")]})
    if created:
        grants = [{"user_id": u.id, "role": Role.staff.value, "org_id": unit.id, "root_id": unit.root_id}
                  for u in created]
        # Whoever rates others as their supervisor needs the leader role (Perm.rate): the head,
        # deputies, department heads, and anyone the roster names as someone's supervisor.
        supervisors = set(db.session.execute(select(Person.supervisor_id).where(
            Person.unit_id == unit.id, Person.active.is_(True), Person.supervisor_id.is_not(None)
        ).distinct()).scalars())
        leaders = {p.id for p in people if p.position_role in ("head", "deputy", "dept_head")} | supervisors
        grants += [{"user_id": u.id, "role": Role.leader.value, "org_id": unit.id, "root_id": unit.root_id}
                   for u in created if u.person_id in leaders]
        db.session.add_all([RoleGrant(**g) for g in grants])
    record("user.provision", root_id=unit.root_id, org_id=unit.id, target_type="org", target_id=unit.id,
           after={"mode": mode, "reissue": reissue,
                  "created": [r["username"] for r in rows if r["status"] == "created"],
                  "reissued": [r["username"] for r in rows if r["status"] == "reissued"]})
    db.session.flush()
    return rows


def activate(username: str, code: str, password: str) -> User:
    """A person activates the account with the code from the sheet and sets
    a password.  The code works once and until it expires."""
    from ..auth.passwords import hash_password

    from ..tenancy.scope import apply_scope

    name = (username or "").strip().lower()[:64]
    # Only the account being activated is visible while checking it.
    apply_scope(Scope(login_name=name, label="activate"))
    user = db.session.execute(select(User).where(func.lower(User.username) == name)).scalar_one_or_none()
    if user is None or not user.active or not user.activation_hash or not code or \
            not secrets.compare_digest(user.activation_hash, code_digest(code)):
        raise Invalid({"code": [N_("Wrong username or activation code, or the code was already used.")]})
    expires = user.activation_expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.timezone.utc)
    if expires is None or expires <= utcnow():
        raise Invalid({"code": [N_("This activation code has expired; ask your unit's administrator for a new one.")]})
    auth_service.establish(user)       # the account's own scope from here on
    user.password_hash = hash_password(password)
    user.activation_hash = None
    user.activation_expires_at = None
    user.must_change_password = False
    auth_service.revoke_all_credentials(user)
    if user.root_id is not None:
        record("user.activate", root_id=user.root_id, org_id=user.org_id or user.root_id, target_type="user",
               target_id=user.id, after={"activated": True})
    db.session.flush()
    return user


def grant_leader_role(unit: OrgNode, person_ids: set[int], reason: str) -> int:
    """Leaders named in the roster's 分管 data get the leader role on the
    unit for the accounts linked to them (set-based; returns how many grants
    were added)."""
    if not person_ids:
        return 0
    with scoped(Scope.province(unit.root_id, label="leader-roles")):
        users = dict(db.session.execute(select(User.id, User.username).where(
            User.root_id == unit.root_id, User.person_id.in_(sorted(person_ids)), User.active.is_(True))).all())
        if not users:
            return 0
        have = set(db.session.execute(select(RoleGrant.user_id).where(
            RoleGrant.user_id.in_(sorted(users)), RoleGrant.role == Role.leader.value,
            RoleGrant.org_id == unit.id)).scalars())
        missing = sorted(set(users) - have)
        if missing:
            db.session.add_all([RoleGrant(user_id=uid, role=Role.leader.value, org_id=unit.id, root_id=unit.root_id)
                                for uid in missing])
            db.session.flush()
            record("grant.roster_leaders", root_id=unit.root_id, org_id=unit.id, target_type="org",
                   target_id=unit.id, after={"role": Role.leader.value, "users": [users[u] for u in missing]},
                   reason=reason)
    return len(missing)
