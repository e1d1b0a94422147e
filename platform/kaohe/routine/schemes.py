"""A unit's set-up for assessment: schemes (考核方案), who is assessed under
which scheme with which personal indicators (目标责任书), and peer groups."""
from __future__ import annotations

from ..web.messages import N_
from typing import Iterable

from sqlalchemy import delete, insert, select

from ..audit.service import record
from ..core.errors import Conflict, Invalid
from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from . import calc
from .common import check_version, invalid, live_policy, owned_by_unit, today
from .indicators import library
from .models import Assignment, PeerGroup, PeerMember, Scheme


def scheme_dict(s: Scheme, policy: dict | None = None) -> dict:
    policy = policy or calc.POLICY_DEFAULTS
    return {"code": s.code, "name": s.name, "job_category": s.job_category, "basis": s.basis, "total": s.total,
            "sections": s.sections, "rater_weights": s.rater_weights or policy["routine.rater_weights"],
            "leader_score_mode": s.leader_score_mode or policy["routine.leader_score_mode"],
            "democratic_scope": s.democratic_scope}


def save_scheme(unit: OrgNode, data: dict, scheme: Scheme | None = None, expected_version: int | None = None) -> Scheme:
    owned_by_unit(unit, scheme)
    pol = live_policy(unit, today().year)
    lib = library(unit, pol)
    candidate = {"basis": data["basis"], "total": data.get("total", 100), "sections": data["sections"],
                 "rater_weights": data.get("rater_weights") or pol["routine.rater_weights"]}
    try:
        calc.validate_scheme(candidate, lib)
    except calc.SpecError as exc:
        raise Invalid(exc.errors, "The scheme does not add up.")
    active = bool(data.get("active", scheme.active if scheme is not None else True))
    check_mandatory(candidate, lib, active)
    if scheme is None:
        if db.session.execute(select(Scheme.id).where(Scheme.org_id == unit.id, Scheme.code == data["code"])).first():
            raise Conflict({"code": [N_("The unit already has a scheme with this code.")]})
        scheme = Scheme(root_id=unit.root_id, org_id=unit.id, code=data["code"])
        db.session.add(scheme)
        before = None
    else:
        check_version(scheme, expected_version, scheme_dict)
        before = scheme_dict(scheme)
    scheme.name = data["name"]
    scheme.job_category = data.get("job_category", "general")
    scheme.basis = data["basis"]
    scheme.total = float(data.get("total", 100))
    scheme.sections = data["sections"]
    scheme.rater_weights = data.get("rater_weights")
    scheme.leader_score_mode = data.get("leader_score_mode")
    scheme.democratic_scope = data.get("democratic_scope") or "department"
    scheme.active = active
    db.session.flush()
    record("routine.scheme.save", root_id=unit.root_id, org_id=unit.id, target_type="routine_scheme",
           target_id=scheme.id, before=before, after=scheme_dict(scheme))
    return scheme


def check_mandatory(scheme: dict, lib: dict, active: bool = True) -> None:
    """The one validator every way of activating a scheme goes through (page,
    API, period opening): an active scheme rates every mandatory common
    indicator of the province."""
    if not active:
        return
    missing = calc.missing_mandatory(scheme, lib)
    if missing:
        raise Invalid(calc.mandatory_error(missing, lib), "Mandatory indicators are missing.")


def assign(unit: OrgNode, person: Person, scheme: Scheme, personal: list[dict], letter_note: str | None = None,
           expected_version: int | None = None) -> Assignment:
    if person.unit_id != unit.id:
        raise invalid("person_id", N_("The person is not on this unit's roster."))
    if scheme.org_id != unit.id:
        raise invalid("scheme_id", N_("The scheme belongs to another unit."))
    lib = library(unit)
    sections = {s["code"]: s for s in scheme.sections}
    errs: dict = {}
    for i, ind in enumerate(personal):
        if ind.get("section") not in sections or not sections[ind["section"]].get("personal"):
            errs[f"personal.{i}.section"] = ["Personal indicators go into a section marked as personal."]
        if ind.get("code") in lib:
            errs[f"personal.{i}.code"] = ["The code is already used by the indicator library."]
    codes = [i.get("code") for i in personal]
    if len(set(codes)) != len(codes):
        errs["personal"] = ["Personal indicator codes must be unique."]
    if not errs:
        for s in scheme.sections:
            if s.get("personal"):
                errs.update(calc.validate_personal(s, [i for i in personal if i.get("section") == s["code"]],
                                                   scheme.basis))
    if errs:
        raise Invalid(errs)
    a = db.session.execute(select(Assignment).where(Assignment.root_id == unit.root_id,
                                                    Assignment.person_id == person.id)).scalar_one_or_none()
    before = None
    if a is None:
        a = Assignment(root_id=unit.root_id, org_id=unit.id, person_id=person.id, scheme_id=scheme.id)
        db.session.add(a)
    else:
        check_version(a, expected_version, lambda o: {"scheme_id": o.scheme_id, "personal": o.personal})
        before = {"scheme_id": a.scheme_id, "personal": a.personal}
    a.scheme_id = scheme.id
    a.personal = personal
    a.letter_note = letter_note
    db.session.flush()
    record("routine.assignment.save", root_id=unit.root_id, org_id=unit.id, target_type="person",
           target_id=person.id, before=before, after={"scheme": scheme.code, "personal": personal})
    return a


def save_peer_group(unit: OrgNode, name: str, member_ids: list[int], group: PeerGroup | None = None) -> PeerGroup:
    owned_by_unit(unit, group)
    members = _unit_people(unit, member_ids, "member_ids")
    if len(members) < 2:
        raise invalid("member_ids", N_("A peer group needs at least two members."))
    if group is None:
        if db.session.execute(select(PeerGroup.id).where(PeerGroup.org_id == unit.id, PeerGroup.name == name)).first():
            raise Conflict({"name": [N_("The unit already has a peer group with this name.")]})
        group = PeerGroup(root_id=unit.root_id, org_id=unit.id, name=name)
        db.session.add(group)
        db.session.flush()
        before = None
    else:
        before = {"name": group.name, "members": sorted(
            db.session.execute(select(PeerMember.person_id).where(PeerMember.group_id == group.id)).scalars())}
        group.name = name
        db.session.execute(delete(PeerMember).where(PeerMember.group_id == group.id))
    db.session.execute(insert(PeerMember), [{"root_id": unit.root_id, "org_id": unit.id, "group_id": group.id,
                                             "person_id": p.id} for p in members])
    db.session.flush()
    record("routine.peer_group.save", root_id=unit.root_id, org_id=unit.id, target_type="routine_peer_group",
           target_id=group.id, before=before, after={"name": name, "members": sorted(p.id for p in members)})
    return group


def _unit_people(unit: OrgNode, ids: Iterable[int], field: str) -> list[Person]:
    ids = sorted({int(i) for i in ids})
    rows = list(db.session.execute(select(Person).where(Person.root_id == unit.root_id, Person.id.in_(ids),
                                                        Person.unit_id == unit.id)).scalars()) if ids else []
    if len(rows) != len(ids):
        missing = sorted(set(ids) - {p.id for p in rows})
        raise invalid(field, f"Not on this unit's roster: {', '.join(map(str, missing))}.")
    return rows
