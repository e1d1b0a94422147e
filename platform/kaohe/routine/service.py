"""Business operations of routine assessment.  Each validates, changes,
audits and flushes; the request or job commits once.  Every number comes
from the period's frozen policy snapshot."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Iterable

from sqlalchemy import and_, delete, func, insert, or_, select, update

from ..core.clock import local_today
from ..audit.service import current_actor, record
from ..core.calendar import WorkCalendar
from ..core.db import utcnow
from ..core.errors import Conflict, Forbidden, Invalid
from ..extensions import db
from ..people.models import LeaderCharge, Person
from ..tenancy.models import OrgNode
from . import calc
from .models import (Amendment, Assignment, Attendance, CapDecision, Correction, Event, Indicator, Metric,
                     Participant, PeerGroup, PeerMember, Period, Rating, Result, Scheme, Task, WorkRecord)
from .relations import RULES, P, RelationIndex

CYCLES = {"month": 12, "quarter": 4, "half_year": 2}
TRANSITIONS = {
    "draft": ("open",),
    "open": ("rating",),
    "rating": ("review", "open"),
    "review": ("publicised", "rating"),
    "publicised": ("final", "review"),
    "final": (),
}
STATE_LABELS = {"draft": ("草稿", "Draft"), "open": ("进行中", "Open"), "rating": ("评价中", "Rating"),
                "review": ("审核", "Review"), "publicised": ("公示中", "Publicised"), "final": ("已归档", "Final")}
RECORD_STATES = ("open", "rating")          # work records, self-service
RATING_STATES = ("open", "rating")          # ratings
EVENT_STATES = ("open", "rating", "review")  # deductions / bonuses / vetoes
COMPUTE_STATES = ("rating", "review", "publicised", "final")


def today() -> dt.date:
    return local_today()


def _invalid(field: str, message: str):
    return Invalid({field: [message]})


# -- policy -------------------------------------------------------------------

def live_policy(unit: OrgNode, year: int) -> dict:
    """The unit's effective policy now (the defaults of this slice fill keys
    the registry does not know yet)."""
    snap: dict = {}
    try:
        from ..policy.resolve import effective_policy
    except ImportError:  # pragma: no cover - the policy slice not installed
        effective_policy = None
    if effective_policy is not None:
        snap = dict(effective_policy(unit, year).snapshot())
    out = dict(calc.POLICY_DEFAULTS)
    out.update({k: v for k, v in snap.items() if k in calc.POLICY_DEFAULTS or k.startswith(("routine.", "calendar."))})
    return out


def period_policy(period: Period) -> dict:
    pol = dict(calc.POLICY_DEFAULTS)
    pol.update(period.policy or {})
    return pol


# -- indicator library --------------------------------------------------------

def common_indicators(policy: dict) -> dict[str, dict]:
    """The policy's common items ({code, name, category, max_points,
    mandatory}) as indicators: rated 0..max_points in their dimension."""
    out = {}
    for item in policy.get("indicators.common") or []:
        if not isinstance(item, dict) or not item.get("code"):
            continue
        ind = {"code": item["code"], "name": item.get("name"), "name_en": item.get("name_en"),
               "dimension": item.get("dimension") or item.get("category") or "de",
               "kind": item.get("kind") or "scored", "max": item.get("max", item.get("max_points") or 10),
               "mandatory": bool(item.get("mandatory")), "source": "common"}
        for k in ("levels", "per", "cap", "veto", "cap_grade", "formula"):
            if k in item:
                ind[k] = item[k]
        if not calc.validate_indicator(ind):
            out[ind["code"]] = ind
    return out


def library(unit: OrgNode, policy: dict | None = None) -> dict[str, dict]:
    """Common indicators (inherited, cannot be overridden) + the unit's own."""
    policy = policy or live_policy(unit, today().year)
    lib = common_indicators(policy)
    rows = db.session.execute(select(Indicator).where(Indicator.root_id == unit.root_id, Indicator.org_id == unit.id,
                                                      Indicator.active.is_(True)).order_by(Indicator.code)).scalars()
    for ind in rows:
        lib.setdefault(ind.code, ind.as_spec())
    return lib


SPEC_KEYS = ("levels", "max", "per", "cap", "veto", "cap_grade", "formula")


def _indicator_spec(data: dict) -> dict:
    return {k: data[k] for k in SPEC_KEYS if data.get(k) is not None}


def owned_by_unit(unit: OrgNode, obj):
    """An object given for editing must belong to the unit being edited:
    anything else is 'not found' (it may be visible, but not here)."""
    if obj is not None and (obj.root_id != unit.root_id or obj.org_id != unit.id):
        from werkzeug.exceptions import NotFound

        raise NotFound()
    return obj


def save_indicator(unit: OrgNode, data: dict, indicator: Indicator | None = None,
                   expected_version: int | None = None) -> Indicator:
    owned_by_unit(unit, indicator)
    spec = {"code": data.get("code") or (indicator.code if indicator else None), "kind": data["kind"],
            "dimension": data["dimension"], **_indicator_spec(data)}
    errs = calc.validate_indicator(spec)
    if errs:
        raise Invalid(errs)
    if data.get("code") in common_indicators(live_policy(unit, today().year)):
        raise _invalid("code", "This code belongs to a common indicator inherited from above; choose another.")
    if indicator is None:
        dup = db.session.execute(select(Indicator.id).where(Indicator.org_id == unit.id,
                                                            Indicator.code == data["code"])).first()
        if dup:
            raise Conflict({"code": ["The unit already has an indicator with this code."]})
        indicator = Indicator(root_id=unit.root_id, org_id=unit.id, code=data["code"])
        db.session.add(indicator)
        before = None
    else:
        _check_version(indicator, expected_version, lambda o: o.as_spec())
        before = indicator.as_spec()
    indicator.name = data["name"]
    indicator.name_en = data.get("name_en")
    indicator.dimension = data["dimension"]
    indicator.kind = data["kind"]
    indicator.spec = _indicator_spec(data)
    indicator.description = data.get("description")
    if "active" in data:
        indicator.active = bool(data["active"])
    db.session.flush()
    record("routine.indicator.save", root_id=unit.root_id, org_id=unit.id, target_type="routine_indicator",
           target_id=indicator.id, before=before, after=indicator.as_spec())
    return indicator


def _check_version(obj, expected: int | None, dump) -> None:
    if expected is not None and int(expected) != obj.version:
        raise Conflict({"version": [f"Someone else changed this first (now version {obj.version}); "
                                    "review the newer value and try again."],
                        "current": {"version": obj.version, **dump(obj)}},
                       "The record was changed by someone else.")


# -- schemes and assignments --------------------------------------------------

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
    if scheme is None:
        if db.session.execute(select(Scheme.id).where(Scheme.org_id == unit.id, Scheme.code == data["code"])).first():
            raise Conflict({"code": ["The unit already has a scheme with this code."]})
        scheme = Scheme(root_id=unit.root_id, org_id=unit.id, code=data["code"])
        db.session.add(scheme)
        before = None
    else:
        _check_version(scheme, expected_version, scheme_dict)
        before = scheme_dict(scheme)
    scheme.name = data["name"]
    scheme.job_category = data.get("job_category", "general")
    scheme.basis = data["basis"]
    scheme.total = float(data.get("total", 100))
    scheme.sections = data["sections"]
    scheme.rater_weights = data.get("rater_weights")
    scheme.leader_score_mode = data.get("leader_score_mode")
    scheme.democratic_scope = data.get("democratic_scope") or "department"
    db.session.flush()
    record("routine.scheme.save", root_id=unit.root_id, org_id=unit.id, target_type="routine_scheme",
           target_id=scheme.id, before=before, after=scheme_dict(scheme))
    return scheme


def assign(unit: OrgNode, person: Person, scheme: Scheme, personal: list[dict], letter_note: str | None = None,
           expected_version: int | None = None) -> Assignment:
    if person.unit_id != unit.id:
        raise _invalid("person_id", "The person is not on this unit's roster.")
    if scheme.org_id != unit.id:
        raise _invalid("scheme_id", "The scheme belongs to another unit.")
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
        _check_version(a, expected_version, lambda o: {"scheme_id": o.scheme_id, "personal": o.personal})
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
        raise _invalid("member_ids", "A peer group needs at least two members.")
    if group is None:
        if db.session.execute(select(PeerGroup.id).where(PeerGroup.org_id == unit.id, PeerGroup.name == name)).first():
            raise Conflict({"name": ["The unit already has a peer group with this name."]})
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
        raise _invalid(field, f"Not on this unit's roster: {', '.join(map(str, missing))}.")
    return rows


# -- periods ------------------------------------------------------------------

def period_dates(year: int, cycle: str, seq: int) -> tuple[dt.date, dt.date]:
    months = 12 // CYCLES[cycle]
    start = dt.date(year, (seq - 1) * months + 1, 1)
    end_month = start.month + months
    end = (dt.date(year + 1, 1, 1) if end_month > 12 else dt.date(year, end_month, 1)) - dt.timedelta(days=1)
    return start, end


def create_period(unit: OrgNode, year: int, seq: int, cycle: str | None = None) -> Period:
    if not unit.is_assessment_unit:
        raise _invalid("unit_id", "Periods are opened by an assessment unit (本机关).")
    cycle = cycle or live_policy(unit, year)["routine.cycle"]
    if cycle not in CYCLES:
        raise _invalid("cycle", f"The cycle must be one of {', '.join(CYCLES)}.")
    if not 1 <= seq <= CYCLES[cycle]:
        raise _invalid("seq", f"A {cycle} period number runs from 1 to {CYCLES[cycle]}.")
    if db.session.execute(select(Period.id).where(Period.org_id == unit.id, Period.year == year,
                                                  Period.cycle == cycle, Period.seq == seq)).first():
        raise Conflict({"seq": ["This period already exists."]})
    start, end = period_dates(year, cycle, seq)
    period = Period(root_id=unit.root_id, org_id=unit.id, year=year, cycle=cycle, seq=seq, starts_on=start,
                    ends_on=end, state="draft")
    db.session.add(period)
    db.session.flush()
    record("routine.period.create", root_id=unit.root_id, org_id=unit.id, target_type="routine_period",
           target_id=period.id, after={"year": year, "cycle": cycle, "seq": seq})
    return period


def transition(period: Period, to: str, expected_version: int | None = None, *, on: dt.date | None = None) -> Period:
    allowed = TRANSITIONS.get(period.state, ())
    if to not in allowed:
        names = ", ".join(allowed) if allowed else "none (a final period is read-only; use an amendment)"
        raise Invalid({"state": [f"A period in state '{period.state}' cannot move to '{to}'. Allowed: {names}."]},
                      "Illegal transition.")
    _check_version(period, expected_version, lambda p: {"state": p.state})
    unit = db.session.get(OrgNode, period.org_id)
    before = period.state
    on = on or today()
    if to == "open" and before == "draft":
        _open(period, unit)
    if to == "publicised":
        problems = publish_blockers(period)
        if problems:
            raise Invalid({"state": problems}, "The period cannot be published yet.")
        pol = period_policy(period)
        cal = WorkCalendar.from_policy(pol)
        period.publicity_from = cal.next_workday(on)
        period.publicity_until = cal.add_workdays(period.publicity_from, int(pol["routine.publicity_working_days"]))
    if to == "final":
        if period.publicity_until and on <= period.publicity_until:
            raise Invalid({"state": [f"The publicity (公示) runs until {period.publicity_until.isoformat()}; "
                                     "the period can be finalised after it ends."]}, "Publicity still running.")
        period.finalised_at = utcnow()
    if to == "review" and before == "publicised":
        period.publicity_from = period.publicity_until = None
    period.state = to
    db.session.flush()
    record("routine.period.transition", root_id=period.root_id, org_id=period.org_id, target_type="routine_period",
           target_id=period.id, before={"state": before}, after={"state": to, "publicity_until":
                                                                  period.publicity_until})
    return period


def _open(period: Period, unit: OrgNode) -> None:
    """Freeze the policy, the library, the schemes and the roster."""
    pol = live_policy(unit, period.year)
    lib = library(unit, pol)
    schemes = list(db.session.execute(select(Scheme).where(Scheme.org_id == unit.id, Scheme.active.is_(True))
                                      .order_by(Scheme.code)).scalars())
    if not schemes:
        raise _invalid("state", "Set up at least one scheme (考核方案) before opening a period.")
    by_id = {s.id: s for s in schemes}
    by_category: dict[str, Scheme] = {}
    for s in schemes:
        by_category.setdefault(s.job_category, s)
    people = list(db.session.execute(select(Person).where(Person.root_id == unit.root_id, Person.unit_id == unit.id,
                                                          Person.active.is_(True)).order_by(Person.id)).scalars())
    assignments = {a.person_id: a for a in db.session.execute(
        select(Assignment).where(Assignment.root_id == unit.root_id, Assignment.org_id == unit.id)).scalars()}
    rows, unassigned = [], []
    for p in people:
        a = assignments.get(p.id)
        scheme = by_id.get(a.scheme_id) if a else by_category.get(p.job_category) or by_category.get("general")
        if scheme is None:
            unassigned.append(p.name)
            continue
        needs_personal = any(s.get("personal") for s in scheme.sections)
        personal = (a.personal if a and a.scheme_id == scheme.id else []) or []
        if needs_personal and not personal:
            unassigned.append(p.name)
            continue
        rows.append({"root_id": unit.root_id, "org_id": p.org_id, "period_id": period.id, "person_id": p.id,
                     "position_role": p.position_role, "scheme_code": scheme.code, "personal": personal})
    if unassigned:
        raise _invalid("state", "No scheme (or no personal indicators) for: " + "、".join(unassigned[:10])
                       + (f" and {len(unassigned) - 10} more" if len(unassigned) > 10 else "") + ".")
    if not rows:
        raise _invalid("state", "Nobody on the roster takes part in this period.")
    period.policy = pol
    period.frozen = {"library": lib, "schemes": {s.code: scheme_dict(s, pol) for s in schemes}}
    period.opened_at = utcnow()
    db.session.execute(insert(Participant), rows)


def publish_blockers(period: Period) -> list[str]:
    problems = []
    if period.computed_at is None:
        problems.append("Compute the results first.")
        return problems
    last_change = max(filter(None, [
        db.session.execute(select(func.max(Rating.submitted_at)).where(Rating.period_id == period.id)).scalar(),
        db.session.execute(select(func.max(Event.created_at)).where(Event.period_id == period.id)).scalar(),
    ]), default=None)
    if last_change is not None and _aware(last_change) > _aware(period.computed_at):
        problems.append("Ratings or events changed after the last computation; compute again.")
    ties = [t for t in (period.compute_summary or {}).get("ties", []) if not t.get("resolved")]
    if ties:
        problems.append(f"{len(ties)} tie(s) at the 好 cap line need a decision first.")
    return problems


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def require_state(period: Period, states: tuple[str, ...], field: str = "period", what: str = "This") -> None:
    if period.state not in states:
        label = "final (read-only; corrections go through an amendment)" if period.state == "final" else period.state
        raise Invalid({field: [f"{what} is accepted only while the period is {' or '.join(states)}; "
                               f"this period is {label}."]}, "The period does not accept this now.")


# -- participants and relations ---------------------------------------------------

def participants(period: Period) -> list[Participant]:
    return list(db.session.execute(select(Participant).where(Participant.period_id == period.id)
                                   .order_by(Participant.person_id)).scalars())


def participant(period: Period, person_id: int) -> Participant | None:
    return db.session.execute(select(Participant).where(Participant.period_id == period.id,
                                                        Participant.person_id == person_id)).scalar_one_or_none()


def relation_index(period: Period, parts: list[Participant] | None = None, *,
                   only: tuple[int, int] | None = None) -> RelationIndex:
    """Three queries whatever the headcount: participants, charges, peer
    groups.  ``only=(rater_id, ratee_id)`` loads just what one check needs."""
    unit_id = period.org_id
    charge_q = select(LeaderCharge.leader_id, LeaderCharge.department_id).where(
        LeaderCharge.root_id == period.root_id, LeaderCharge.org_id == unit_id)
    member_q = select(PeerMember.group_id, PeerMember.person_id).where(
        PeerMember.root_id == period.root_id, PeerMember.org_id == unit_id)
    if only is not None:
        if parts is None:
            parts = list(db.session.execute(select(Participant).where(
                Participant.period_id == period.id, Participant.person_id.in_(set(only)))).scalars())
        charge_q = charge_q.where(LeaderCharge.leader_id == only[0])
        member_q = member_q.where(PeerMember.person_id.in_(set(only)))
    parts = parts if parts is not None else participants(period)
    charges = db.session.execute(charge_q).all()
    members = db.session.execute(member_q).all()
    schemes = (period.frozen or {}).get("schemes", {})
    return RelationIndex.build(
        [P(p.person_id, None if p.org_id == unit_id else p.org_id, p.position_role, p.scheme_code) for p in parts],
        charges=[(c[0], c[1]) for c in charges], memberships=[(m[0], m[1]) for m in members],
        derived_schemes={c for c, s in schemes.items() if s.get("leader_score_mode") == "derived"},
        democratic_unit_schemes={c for c, s in schemes.items() if s.get("democratic_scope") == "unit"},
        rater_kinds={c: _kinds_used(s) for c, s in schemes.items()},
    )


def _kinds_used(scheme: dict) -> set[str]:
    kinds = {k for k, w in (scheme.get("rater_weights") or {}).items() if float(w) > 0}
    for s in scheme.get("sections", []):
        kinds |= {k for k, w in (s.get("raters") or {}).items() if float(w) > 0}
    return kinds


def rated_indicators(period: Period, part: Participant, kind: str) -> list[dict]:
    """The indicators a rater of this kind scores for this person."""
    frozen = period.frozen or {}
    scheme = frozen["schemes"][part.scheme_code]
    lib = dict(frozen["library"])
    out = []
    for s in scheme["sections"]:
        weights = s.get("raters") or scheme["rater_weights"]
        if float(weights.get(kind, 0)) <= 0:
            continue
        codes = [i["code"] for i in part.personal if i.get("section") == s["code"]] if s.get("personal") \
            else s.get("indicators", [])
        pers = {i["code"]: i for i in part.personal}
        for c in codes:
            ind = pers.get(c) or lib.get(c)
            if ind and ind["kind"] in ("graded", "scored"):
                out.append({**ind, "section": s["code"], "section_name": s.get("name")})
    return out


# -- ratings ------------------------------------------------------------------

def rating_public(r: Rating) -> dict:
    return {"id": r.id, "period_id": r.period_id, "ratee_id": r.ratee_id, "rater_kind": r.rater_kind,
            "scores": r.scores, "comment": r.comment, "comment_visible": r.comment_visible,
            "proposed_grade": r.proposed_grade, "version": r.version}


def submit_rating(period: Period, rater: Person, ratee_id: int, kind: str, scores: dict, *,
                  comment: str | None = None, comment_visible: bool = True, proposed_grade: str | None = None,
                  expected_version: int | None = None, idx: RelationIndex | None = None) -> Rating:
    if kind not in calc.RATER_KINDS:
        raise _invalid("rater_kind", f"One of {', '.join(calc.RATER_KINDS)}.")
    require_state(period, RATING_STATES, "period", "Rating")
    pair = list(db.session.execute(select(Participant).where(
        Participant.period_id == period.id, Participant.person_id.in_({rater.id, ratee_id}))).scalars())
    idx = idx or relation_index(period, pair, only=(rater.id, ratee_id))
    ratee = next((p for p in pair if p.person_id == ratee_id), None)
    if ratee is None:
        raise _invalid("ratee_id", "This person does not take part in this period.")
    rule = idx.check(rater.id, ratee_id, kind)
    if rule is not None:
        raise Forbidden({"rule": [RULES[rule]], "code": [rule]}, RULES[rule])
    inds = {i["code"]: i for i in rated_indicators(period, ratee, kind)}
    errs: dict = {}
    clean: dict = {}
    for code, value in (scores or {}).items():
        if code not in inds:
            errs[f"scores.{code}"] = ["Not an indicator this rater scores for this person."]
            continue
        try:
            calc.rated_value_points(inds[code], value)
        except calc.SpecError as exc:
            errs[f"scores.{code}"] = exc.errors[code]
            continue
        clean[code] = value if inds[code]["kind"] == "graded" else float(value)
    missing = [c for c in inds if c not in (scores or {})]
    if missing:
        errs["scores"] = [f"Score every indicator: missing {', '.join(missing)}."]
    if proposed_grade is not None and proposed_grade not in calc.GRADES:
        errs["proposed_grade"] = [f"One of {', '.join(calc.GRADES)}."]
    if errs:
        raise Invalid(errs)
    existing = db.session.execute(select(Rating).where(
        Rating.period_id == period.id, Rating.ratee_id == ratee_id, Rating.rater_id == rater.id,
        Rating.rater_kind == kind)).scalar_one_or_none()
    anonymous = kind in calc.ANONYMOUS_KINDS
    before = None
    if existing is None:
        if expected_version is not None:
            raise Conflict({"version": ["This rating does not exist yet; submit it without a version."]})
        rating = Rating(root_id=period.root_id, org_id=ratee.org_id, period_id=period.id, ratee_id=ratee_id,
                        rater_id=rater.id, rater_kind=kind)
        db.session.add(rating)
    else:
        if expected_version is None or int(expected_version) != existing.version:
            raise Conflict({"version": [f"This rating was already saved (version {existing.version}); "
                                        "review the newer value and submit again with its version."],
                            "current": rating_public(existing)}, "The rating was changed by someone else.")
        rating = existing
        before = _rating_audit(existing, anonymous)
    rating.scores = clean
    rating.comment = comment
    rating.comment_visible = comment_visible
    rating.proposed_grade = proposed_grade
    rating.submitted_at = utcnow()
    db.session.flush()
    record("routine.rating.submit", root_id=period.root_id, org_id=ratee.org_id, target_type="routine_rating",
           target_id=rating.id, before=before, after=_rating_audit(rating, anonymous))
    return rating


def _rating_audit(r: Rating, anonymous: bool) -> dict:
    """Audit entries of anonymous ratings carry a digest, never the scores
    (the audit log is readable by the unit admin)."""
    if anonymous:
        digest = hashlib.sha256(json.dumps(r.scores, sort_keys=True).encode()).hexdigest()[:16]
        return {"period": r.period_id, "ratee": r.ratee_id, "kind": r.rater_kind, "scores_digest": digest}
    return {"period": r.period_id, "ratee": r.ratee_id, "rater": r.rater_id, "kind": r.rater_kind,
            "scores": r.scores, "comment": r.comment, "proposed_grade": r.proposed_grade}


def admin_adjust_rating(period: Period, rating: Rating, scores: dict, reason: str, expected_version: int) -> Rating:
    """The office corrects a supervisor/self rating (never an anonymous one)."""
    if rating.rater_kind in calc.ANONYMOUS_KINDS:
        raise Forbidden({"rater_kind": ["Anonymous ratings cannot be edited by the office."]})
    if not (reason or "").strip():
        raise _invalid("reason", "Give the reason for the correction.")
    require_state(period, RATING_STATES + ("review",), "period", "A correction")
    part = participant(period, rating.ratee_id)
    inds = {i["code"]: i for i in rated_indicators(period, part, rating.rater_kind)}
    errs = {}
    for code, value in scores.items():
        if code not in inds:
            errs[f"scores.{code}"] = ["Not an indicator of this rating."]
            continue
        try:
            calc.rated_value_points(inds[code], value)
        except calc.SpecError as exc:
            errs[f"scores.{code}"] = exc.errors[code]
    if errs:
        raise Invalid(errs)
    if int(expected_version) != rating.version:
        raise Conflict({"version": [f"The rater changed this rating first (now version {rating.version})."],
                        "current": rating_public(rating)}, "The rating was changed by someone else.")
    before = _rating_audit(rating, False)
    rating.scores = {**rating.scores, **scores}
    rating.submitted_at = utcnow()
    db.session.flush()
    record("routine.rating.adjust", root_id=period.root_id, org_id=rating.org_id, target_type="routine_rating",
           target_id=rating.id, before=before, after=_rating_audit(rating, False), reason=reason)
    return rating


# -- events and metrics ---------------------------------------------------------

def _indicator_of(period: Period, part: Participant, code: str) -> dict | None:
    for i in part.personal:
        if i["code"] == code:
            return i
    scheme = period.frozen["schemes"][part.scheme_code]
    in_scheme = any(code in (s.get("indicators") or []) for s in scheme["sections"])
    return period.frozen["library"].get(code) if in_scheme else None


def record_event(period: Period, person_id: int, indicator_code: str, occurred_on: dt.date, evidence: str,
                 points: float | None = None, *, amendment: bool = False) -> Event:
    if not amendment:
        require_state(period, EVENT_STATES, "period", "Recording an event")
    part = participant(period, person_id)
    if part is None:
        raise _invalid("person_id", "This person does not take part in this period.")
    ind = _indicator_of(period, part, indicator_code)
    if ind is None or ind["kind"] not in calc.EVENT_KINDS:
        raise _invalid("indicator_code", "Not a deduction, bonus or veto indicator of this person's scheme.")
    if not (period.starts_on <= occurred_on <= period.ends_on):
        raise _invalid("occurred_on", f"The date must fall inside the period ({period.starts_on} – {period.ends_on}).")
    if not (evidence or "").strip():
        raise _invalid("evidence", "Describe the evidence (what happened, where it is documented).")
    pts = float(points) if points is not None else float(ind.get("per", 0)) if ind["kind"] != "veto" else 0.0
    existing = db.session.execute(select(Event.points).where(
        Event.period_id == period.id, Event.person_id == person_id, Event.indicator_code == indicator_code,
        Event.voided.is_(False))).scalars().all()
    try:
        calc.check_event(ind, existing, pts)
    except calc.SpecError as exc:
        raise Invalid(exc.errors, "The event breaks the indicator's rules.")
    actor = current_actor()
    ev = Event(root_id=period.root_id, org_id=part.org_id, period_id=period.id, person_id=person_id,
               indicator_code=indicator_code, kind=ind["kind"], occurred_on=occurred_on, points=pts,
               evidence=evidence.strip(), recorded_by=actor.id, recorded_by_name=actor.name)
    db.session.add(ev)
    db.session.flush()
    record("routine.event.record", root_id=period.root_id, org_id=part.org_id, target_type="routine_event",
           target_id=ev.id, after={"person": person_id, "indicator": indicator_code, "kind": ev.kind,
                                   "points": pts, "on": occurred_on, "evidence": ev.evidence})
    return ev


def void_event(period: Period, ev: Event, reason: str, *, amendment: bool = False) -> Event:
    if not amendment:
        require_state(period, EVENT_STATES, "period", "Voiding an event")
    if ev.voided:
        raise Conflict({"event": ["This event is already void."]})
    if not (reason or "").strip():
        raise _invalid("reason", "Give the reason.")
    ev.voided, ev.void_reason = True, reason.strip()
    ev.created_at = utcnow()   # a change after the last computation makes the results stale
    db.session.flush()
    record("routine.event.void", root_id=ev.root_id, org_id=ev.org_id, target_type="routine_event", target_id=ev.id,
           before={"voided": False}, after={"voided": True}, reason=reason)
    return ev


def import_metrics(period: Period, rows: list[dict], source: str, *, amendment: bool = False) -> int:
    """Upsert per-person values for data-fed indicators.  Every row is
    checked before any is written (nothing half written)."""
    if not amendment:
        require_state(period, EVENT_STATES, "period", "Importing data")
    parts = {p.person_id: p for p in participants(period)}
    staff = dict(db.session.execute(select(Person.staff_no, Person.id).where(
        Person.root_id == period.root_id, Person.unit_id == period.org_id)).all())
    errs: dict = {}
    clean = []
    for i, row in enumerate(rows):
        pid = row.get("person_id") or staff.get(str(row.get("staff_no") or ""))
        if pid not in parts:
            errs[f"rows.{i}.person"] = ["Unknown person (staff number or id) in this period."]
            continue
        ind = _indicator_of(period, parts[pid], str(row.get("indicator_code")))
        if ind is None or ind["kind"] != "data":
            errs[f"rows.{i}.indicator_code"] = ["Not a data-fed indicator of this person's scheme."]
            continue
        if not calc._num(row.get("value")):
            errs[f"rows.{i}.value"] = ["A number is required."]
            continue
        clean.append((pid, ind["code"], float(row["value"])))
    if errs:
        raise Invalid(errs, "Nothing was imported: fix the rows named.")
    keys = {(p, c) for p, c, _ in clean}
    if len(keys) != len(clean):
        raise _invalid("rows", "The same person and indicator appear twice.")
    db.session.execute(delete(Metric).where(Metric.period_id == period.id, or_(*[
        and_(Metric.person_id == p, Metric.indicator_code == c) for p, c in keys])) if keys else Metric.id < 0)
    if clean:
        db.session.execute(insert(Metric), [{"root_id": period.root_id, "org_id": parts[p].org_id,
                                             "period_id": period.id, "person_id": p, "indicator_code": c,
                                             "value": v, "source": source[:80]} for p, c, v in clean])
    # Mark the results stale (a data change after computing).
    if period.computed_at is not None:
        period.computed_at = None
    db.session.flush()
    record("routine.metric.import", root_id=period.root_id, org_id=period.org_id, target_type="routine_period",
           target_id=period.id, after={"rows": len(clean), "source": source})
    return len(clean)


def read_metrics_xlsx(stream) -> list[dict]:
    """Rows from an xlsx with the header staff_no | indicator_code | value."""
    from openpyxl import load_workbook

    from ..core import xlsx_guard

    xlsx_guard.check(stream)  # a zip bomb or merged cells: 422 on "file" before openpyxl reads it
    try:
        wb = load_workbook(stream, read_only=True, data_only=True)
    except Exception:
        raise _invalid("file", "Not a readable .xlsx file.")
    ws = wb.active
    rows_iter = ws.iter_rows(values_only=True)
    header = [str(h or "").strip().lower() for h in next(rows_iter, [])]
    need = ("staff_no", "indicator_code", "value")
    if not all(h in header for h in need):
        raise _invalid("file", "The first row must name the columns staff_no, indicator_code, value.")
    pos = {h: header.index(h) for h in need}
    out = []
    for row in rows_iter:
        if row is None or all(c is None for c in row):
            continue
        out.append({h: row[pos[h]] if pos[h] < len(row) else None for h in need})
    wb.close()
    return out


# -- attendance -----------------------------------------------------------------

def _final_period_covering(person: Person, day: dt.date) -> Period | None:
    return db.session.execute(select(Period).where(
        Period.root_id == person.root_id, Period.org_id == person.unit_id, Period.state == "final",
        Period.starts_on <= day, Period.ends_on >= day)).scalars().first()


def sign(person: Person, what: str, now: dt.datetime | None = None) -> Attendance:
    now = now or utcnow()
    day = now.astimezone(_tz()).date()
    if _final_period_covering(person, day):
        raise _invalid("day", "This day belongs to a final period; attendance can no longer change.")
    att = db.session.execute(select(Attendance).where(Attendance.person_id == person.id,
                                                      Attendance.day == day)).scalar_one_or_none()
    if att is None:
        att = Attendance(root_id=person.root_id, org_id=person.org_id, person_id=person.id, day=day)
        db.session.add(att)
    if what == "in":
        if att.sign_in_at is not None:
            raise Conflict({"sign_in": [f"Already signed in today at {att.sign_in_at.astimezone(_tz()):%H:%M}."]})
        att.sign_in_at = now
    else:
        if att.sign_out_at is not None:
            raise Conflict({"sign_out": [f"Already signed out today at {att.sign_out_at.astimezone(_tz()):%H:%M}."]})
        att.sign_out_at = now
    db.session.flush()
    return att


def _tz():
    from ..core.clock import tz

    return tz()


def request_correction(person: Person, day: dt.date, reason: str, sign_in_at: dt.datetime | None,
                       sign_out_at: dt.datetime | None) -> Correction:
    if day > today():
        raise _invalid("day", "A correction is for a past day (or today).")
    if _final_period_covering(person, day):
        raise _invalid("day", "This day belongs to a final period; attendance can no longer be corrected.")
    if not (reason or "").strip():
        raise _invalid("reason", "Give the reason (e.g. a meeting or training away from the office).")
    if sign_in_at is None and sign_out_at is None:
        raise _invalid("sign_in_at", "Give the sign-in time, the sign-out time, or both.")
    for name, t in (("sign_in_at", sign_in_at), ("sign_out_at", sign_out_at)):
        if t is not None and t.astimezone(_tz()).date() != day:
            raise _invalid(name, "The time must be on the day being corrected.")
    if sign_in_at and sign_out_at and sign_out_at <= sign_in_at:
        raise _invalid("sign_out_at", "Sign-out must be after sign-in.")
    if person.supervisor_id is None:
        raise _invalid("person", "You have no supervisor on the roster to approve a correction; ask the office.")
    if db.session.execute(select(Correction.id).where(Correction.person_id == person.id, Correction.day == day,
                                                      Correction.status == "pending")).first():
        raise Conflict({"day": ["A correction for this day is already waiting for approval."]})
    c = Correction(root_id=person.root_id, org_id=person.org_id, person_id=person.id, day=day, reason=reason.strip(),
                   sign_in_at=sign_in_at, sign_out_at=sign_out_at)
    db.session.add(c)
    db.session.flush()
    record("routine.correction.request", root_id=person.root_id, org_id=person.org_id,
           target_type="routine_correction", target_id=c.id,
           after={"day": day, "in": sign_in_at, "out": sign_out_at, "reason": c.reason})
    return c


def decide_correction(c: Correction, decider: Person | None, approve: bool, note: str | None,
                      expected_version: int | None = None) -> Correction:
    person = db.session.get(Person, c.person_id)
    if decider is None or person.supervisor_id != decider.id:
        raise Forbidden({"rule": ["Only the person's supervisor approves or rejects an attendance correction."]})
    if c.status != "pending":
        raise Conflict({"status": [f"This request was already {c.status}."]})
    _check_version(c, expected_version, lambda o: {"status": o.status})
    if approve and _final_period_covering(person, c.day):
        raise _invalid("day", "This day belongs to a final period; attendance can no longer be corrected.")
    if not approve and not (note or "").strip():
        raise _invalid("note", "Say why the request is rejected.")
    c.status = "approved" if approve else "rejected"
    c.decided_by = current_actor().id
    c.decided_at = utcnow()
    c.decision_note = note
    before = None
    if approve:
        att = db.session.execute(select(Attendance).where(Attendance.person_id == person.id,
                                                          Attendance.day == c.day)).scalar_one_or_none()
        if att is None:
            att = Attendance(root_id=person.root_id, org_id=person.org_id, person_id=person.id, day=c.day)
            db.session.add(att)
        else:
            before = {"in": att.sign_in_at, "out": att.sign_out_at}
        if c.sign_in_at:
            att.sign_in_at = c.sign_in_at
        if c.sign_out_at:
            att.sign_out_at = c.sign_out_at
        att.corrected = True
    db.session.flush()
    record("routine.correction." + c.status, root_id=c.root_id, org_id=c.org_id, target_type="routine_correction",
           target_id=c.id, before=before, after={"status": c.status, "day": c.day, "in": c.sign_in_at,
                                                 "out": c.sign_out_at, "note": note})
    return c


# -- work records ---------------------------------------------------------------

def save_work_record(period: Period, person: Person, on_date: dt.date, done: str, plan: str | None,
                     kind: str = "monthly", expected_version: int | None = None) -> WorkRecord:
    require_state(period, RECORD_STATES, "period", "Writing work records")
    if participant(period, person.id) is None:
        raise _invalid("person", "You do not take part in this period.")
    if kind not in ("monthly", "daily"):
        raise _invalid("kind", "monthly or daily.")
    if kind == "monthly":
        on_date = on_date.replace(day=1)
    if not (period.starts_on <= on_date <= period.ends_on):
        raise _invalid("on_date", f"The date must fall inside the period ({period.starts_on} – {period.ends_on}).")
    if on_date > today():
        raise _invalid("on_date", "Records are written for the past or the present, not the future.")
    if not (done or "").strip():
        raise _invalid("done", "Describe what was done (工作写实).")
    wr = db.session.execute(select(WorkRecord).where(WorkRecord.person_id == person.id, WorkRecord.kind == kind,
                                                     WorkRecord.on_date == on_date)).scalar_one_or_none()
    if wr is None:
        wr = WorkRecord(root_id=person.root_id, org_id=person.org_id, period_id=period.id, person_id=person.id,
                        kind=kind, on_date=on_date)
        db.session.add(wr)
    else:
        _check_version(wr, expected_version, lambda o: {"plan": o.plan, "done": o.done})
    wr.plan, wr.done = plan, done.strip()
    db.session.flush()
    return wr


def comment_work_record(period: Period, wr: WorkRecord, rater: Person, comment: str, visible: bool,
                        idx: RelationIndex | None = None) -> WorkRecord:
    require_state(period, ("open", "rating", "review"), "period", "Commenting")
    idx = idx or relation_index(period, only=(rater.id, wr.person_id))
    rule = idx.check(rater.id, wr.person_id, "supervisor")
    if rule is not None:
        raise Forbidden({"rule": [RULES[rule]]}, RULES[rule])
    wr.supervisor_comment, wr.comment_visible = comment, visible
    db.session.flush()
    record("routine.work_record.comment", root_id=wr.root_id, org_id=wr.org_id, target_type="routine_work_record",
           target_id=wr.id, after={"comment": comment, "visible": visible})
    return wr


# -- computation ------------------------------------------------------------------

def compute_period(period: Period, progress=lambda done, total, msg=None: None, *, amendment: bool = False) -> dict:
    """Score everyone in the period: a fixed number of queries whatever the
    headcount (participants, ratings, events, metrics, charges, history,
    decisions; then bulk writes)."""
    if not amendment:
        require_state(period, COMPUTE_STATES[:2], "period", "Computing")
    pol = period_policy(period)
    frozen = period.frozen or {}
    lib, schemes = frozen.get("library", {}), frozen.get("schemes", {})
    parts = participants(period)
    total = len(parts)
    progress(0, total, "loading")
    ratings: dict[int, list] = {}
    for ratee, kind, scores in db.session.execute(select(Rating.ratee_id, Rating.rater_kind, Rating.scores)
                                                  .where(Rating.period_id == period.id)):
        ratings.setdefault(ratee, []).append((kind, scores))
    events: dict[int, dict[str, list[float]]] = {}
    vetoes: dict[int, list[str]] = {}
    for pid, code, kind, pts in db.session.execute(select(Event.person_id, Event.indicator_code, Event.kind,
                                                          Event.points).where(Event.period_id == period.id,
                                                                              Event.voided.is_(False))):
        if kind == "veto":
            vetoes.setdefault(pid, []).append(code)
        else:
            events.setdefault(pid, {}).setdefault(code, []).append(pts)
    metrics: dict[int, dict[str, float]] = {}
    for pid, code, value in db.session.execute(select(Metric.person_id, Metric.indicator_code, Metric.value)
                                               .where(Metric.period_id == period.id)):
        metrics.setdefault(pid, {})[code] = value
    charges: dict[int, set[int]] = {}
    for leader, dept in db.session.execute(select(LeaderCharge.leader_id, LeaderCharge.department_id).where(
            LeaderCharge.root_id == period.root_id, LeaderCharge.org_id == period.org_id)):
        charges.setdefault(leader, set()).add(dept)
    history = _history(period)
    decisions = {d.group_key: d.chosen for d in db.session.execute(
        select(CapDecision).where(CapDecision.period_id == period.id)).scalars()}
    progress(0, total, "scoring")

    unit_id = period.org_id
    out: dict[int, dict] = {}
    for i, p in enumerate(parts, start=1):
        scheme = schemes[p.scheme_code]
        derived = p.position_role in ("head", "deputy") and scheme.get("leader_score_mode") == "derived"
        res = calc.score_person(calc.PersonInput(
            person_id=p.person_id, scheme=scheme, library=lib, ratings=ratings.get(p.person_id, ()),
            events=events.get(p.person_id, {}), vetoes=vetoes.get(p.person_id, ()),
            metrics=metrics.get(p.person_id, {}), personal=p.personal))
        res["derived"] = derived
        out[p.person_id] = res
        if i % 50 == 0:
            progress(i, total, "scoring")
    # Leaders' scores derived from those they lead (seed 003).
    derived_ids = [pid for pid, r in out.items() if r["derived"]]
    if derived_ids:
        dept_of = {p.person_id: p.org_id for p in parts if p.org_id != unit_id and not out[p.person_id]["derived"]}
        staff_scores = {pid: out[pid]["score"] for pid in dept_of}
        roles = {p.person_id: p.position_role for p in parts}
        d = calc.derived_leader_scores(staff_scores, dept_of,
                                       {pid: charges.get(pid, set()) for pid in derived_ids if roles[pid] == "deputy"},
                                       [pid for pid in derived_ids if roles[pid] == "head"])
        for pid in derived_ids:
            r = out[pid]
            if r["veto"] and r["veto"]["mode"] == "zero":
                continue
            r["score"] = d.get(pid) if d.get(pid) is not None else 0.0
            r["derived_from"] = "departments in charge" if roles[pid] == "deputy" else "deputies"
    bands = pol["routine.grade_bands"]
    grades = {pid: calc.grade_for(r["score"], bands, (r["veto"] or {}).get("cap_grade")) for pid, r in out.items()}
    # The 好 cap per department or per unit.
    scope = pol["routine.good_cap_scope"]
    groups: dict[str, dict[int, tuple[float, str]]] = {}
    for p in parts:
        key = "unit" if scope == "unit" else f"org:{p.org_id}"
        groups.setdefault(key, {})[p.person_id] = (out[p.person_id]["score"], grades[p.person_id])
    ties = []
    quotas = {}
    for key, members in groups.items():
        outcome = calc.apply_good_cap(members, float(pol["routine.good_cap_rate"]), decisions.get(key))
        grades.update(outcome.grades)
        quotas[key] = {"n": len(members), "quota": outcome.quota,
                       "hao": sum(1 for pid in members if outcome.grades[pid] == "hao")}
        if outcome.tie:
            ties.append({"group": key, **outcome.tie})
    tie_ids = {pid for t in ties if not t.get("resolved") for pid in t["candidates"]}
    ranks = calc.competition_ranks({pid: r["score"] for pid, r in out.items()})
    now = utcnow()
    rows, task_rows = [], []
    flag_counts: dict[str, int] = {}
    supervisors = dict(db.session.execute(select(Person.id, Person.supervisor_id).where(
        Person.root_id == period.root_id, Person.unit_id == unit_id)).all())
    due = WorkCalendar.from_policy(pol).add_workdays(today(), 10)
    for p in parts:
        r = out[p.person_id]
        flags = calc.streak_flags(history.get(p.person_id, []) + [r["score"]], low=float(pol["routine.low_score"]),
                                  high=float(pol["routine.high_score"]), low_streak=int(pol["routine.low_streak"]),
                                  high_streak=int(pol["routine.high_streak"]))
        if p.person_id in tie_ids:
            flags.append("cap_tie")
        if r["veto"]:
            flags.append("veto")
        if r["derived"]:
            flags.append("derived")
        elif r["missing_raters"] or r["unrated"]:
            flags.append("incomplete")
        for f in flags:
            flag_counts[f] = flag_counts.get(f, 0) + 1
        rows.append({"root_id": period.root_id, "org_id": p.org_id, "period_id": period.id,
                     "person_id": p.person_id, "score": r["score"], "grade": grades[p.person_id],
                     "rank": ranks[p.person_id], "rank_of": total, "breakdown": r, "flags": flags,
                     "computed_at": now})
        if "criticism_talk" in flags:
            task_rows.append(_task_row(period, p, "routine.criticism_talk",
                                       f"批评谈话 Criticism talk: {period.label}", supervisors.get(p.person_id), due))
        if "reminder_talk" in flags:
            task_rows.append(_task_row(period, p, "routine.reminder_talk",
                                       f"提醒/诫勉谈话 Reminder talk: {period.label}", None, due, role="unit_admin"))
    # Keep the feedback already given across recomputation.
    feedback = {pid: (fb, by) for pid, fb, by in db.session.execute(
        select(Result.person_id, Result.feedback, Result.feedback_by).where(Result.period_id == period.id))}
    for row in rows:
        fb = feedback.get(row["person_id"])
        row["feedback"], row["feedback_by"] = fb if fb else (None, None)
    db.session.execute(delete(Result).where(Result.period_id == period.id))
    if rows:
        db.session.execute(insert(Result), rows)
    # Tasks raised by this period are re-derived: existing ones that still
    # apply keep their id, open ones that no longer apply are cancelled,
    # closed ones stay as they are.
    existing = {(k, pid): (tid, st) for tid, k, pid, st in db.session.execute(
        select(Task.id, Task.kind, Task.person_id, Task.status).where(
            Task.source_type == "routine_period", Task.source_id == period.id, Task.status != "cancelled"))}
    wanted = {(t["kind"], t["person_id"]) for t in task_rows}
    stale = [tid for key, (tid, st) in existing.items() if st == "open" and key not in wanted]
    if stale:
        db.session.execute(update(Task).where(Task.id.in_(stale)).values(
            status="cancelled", note="no longer applies after recomputation", closed_at=now))
    task_rows = [t for t in task_rows if (t["kind"], t["person_id"]) not in existing]
    if task_rows:
        db.session.execute(insert(Task), task_rows)
    summary = {"people": total, "ties": ties, "quotas": quotas, "flags": flag_counts,
               "grades": {g: sum(1 for x in grades.values() if x == g) for g in calc.GRADES},
               "incomplete": flag_counts.get("incomplete", 0), "tasks": len(task_rows)}
    period.computed_at = now
    period.compute_summary = summary
    db.session.flush()
    record("routine.period.compute", root_id=period.root_id, org_id=period.org_id, target_type="routine_period",
           target_id=period.id, after={k: v for k, v in summary.items() if k != "quotas"})
    progress(total, total, "done")
    return summary


def _task_row(period, p, kind, title, assignee_person, due, role=None) -> dict:
    return {"root_id": period.root_id, "org_id": period.org_id, "kind": kind, "title": title,
            "person_id": p.person_id, "assignee_person_id": assignee_person, "assignee_role": role,
            "assignee_org_id": period.org_id if role else None, "due_on": due, "status": "open",
            "source_type": "routine_period", "source_id": period.id, "created_at": utcnow()}


def _history(period: Period) -> dict[int, list[float]]:
    """Scores of the consecutive earlier periods of the same cycle (oldest
    first), in one query."""
    prev = db.session.execute(select(Period.id, Period.year, Period.seq).where(
        Period.org_id == period.org_id, Period.cycle == period.cycle, Period.state.in_(("publicised", "final")),
        or_(Period.year < period.year, and_(Period.year == period.year, Period.seq < period.seq)))
        .order_by(Period.year.desc(), Period.seq.desc()).limit(5)).all()
    # only an unbroken chain of periods counts as "consecutive"
    chain, y, s = [], period.year, period.seq
    n = CYCLES[period.cycle]
    for pid, py, ps in prev:
        y, s = (y, s - 1) if s > 1 else (y - 1, n)
        if (py, ps) != (y, s):
            break
        chain.append(pid)
    if not chain:
        return {}
    order = {pid: i for i, pid in enumerate(reversed(chain))}
    hist: dict[int, list[tuple[int, float]]] = {}
    for per, person, score in db.session.execute(select(Result.period_id, Result.person_id, Result.score)
                                                 .where(Result.period_id.in_(chain))):
        if score is not None:
            hist.setdefault(person, []).append((order[per], score))
    out = {}
    for person, items in hist.items():
        items.sort()
        # a gap (absent in an intermediate period) breaks the chain
        seq = [s for _, s in items]
        if [o for o, _ in items] == list(range(len(chain) - len(items), len(chain))):
            out[person] = seq
    return out


def resolve_tie(period: Period, group_key: str, chosen: list[int], reason: str) -> CapDecision:
    require_state(period, ("rating", "review"), "period", "Resolving a tie")
    tie = next((t for t in (period.compute_summary or {}).get("ties", []) if t["group"] == group_key), None)
    if tie is None:
        raise _invalid("group", "There is no tie in this group at the last computation.")
    chosen = sorted({int(c) for c in chosen})
    if not set(chosen) <= set(tie["candidates"]) or len(chosen) != tie["slots"]:
        raise _invalid("chosen", f"Choose exactly {tie['slots']} of the tied people for 好.")
    if not (reason or "").strip():
        raise _invalid("reason", "Record the reason for the decision.")
    d = db.session.execute(select(CapDecision).where(CapDecision.period_id == period.id,
                                                     CapDecision.group_key == group_key)).scalar_one_or_none()
    if d is None:
        d = CapDecision(root_id=period.root_id, org_id=period.org_id, period_id=period.id, group_key=group_key)
        db.session.add(d)
    d.candidates, d.chosen, d.reason = tie["candidates"], chosen, reason.strip()
    d.decided_by = current_actor().name
    db.session.flush()
    record("routine.cap_tie.resolve", root_id=period.root_id, org_id=period.org_id, target_type="routine_period",
           target_id=period.id, after={"group": group_key, "chosen": chosen, "candidates": tie["candidates"]},
           reason=reason)
    compute_period(period)
    return d


def set_feedback(period: Period, result: Result, text: str, by: str) -> Result:
    require_state(period, ("review", "publicised", "final"), "period", "Feedback")
    if not (text or "").strip():
        raise _invalid("feedback", "Write the feedback.")
    before = result.feedback
    result.feedback, result.feedback_by = text.strip(), by
    db.session.flush()
    record("routine.result.feedback", root_id=result.root_id, org_id=result.org_id, target_type="routine_result",
           target_id=result.id, before={"feedback": before}, after={"feedback": result.feedback})
    return result


def amend(period: Period, what: str, data: dict, reason: str) -> Amendment:
    """A correction after final: applies one change, records why, and
    re-derives the results (and the tasks that depend on them)."""
    if period.state != "final":
        raise _invalid("period", "Amendments are for final periods; change the record directly while it is open.")
    if not (reason or "").strip():
        raise _invalid("reason", "An amendment needs a reason.")
    before_results = {pid: (s, g) for pid, s, g in db.session.execute(
        select(Result.person_id, Result.score, Result.grade).where(Result.period_id == period.id))}
    person_id = data.get("person_id")
    required = {"event": ("person_id", "indicator_code", "occurred_on"), "void_event": ("event_id",),
                "rating": ("rating_id", "scores"), "metric": ("indicator_code", "value")}.get(what, ())
    missing = {k: ["Required for this kind of amendment."] for k in required if data.get(k) in (None, "", {})}
    if what == "metric" and not (data.get("person_id") or data.get("staff_no")):
        missing["person_id"] = ["Give the person (person_id or staff_no)."]
    if missing:
        raise Invalid(missing)
    if what == "event":
        ev = record_event(period, int(data["person_id"]), data["indicator_code"], data["occurred_on"],
                          data.get("evidence") or reason, data.get("points"), amendment=True)
        after = {"event": ev.id}
    elif what == "void_event":
        ev = db.session.execute(select(Event).where(Event.period_id == period.id, Event.id == int(data["event_id"]))
                                ).scalar_one_or_none()
        if ev is None:
            raise _invalid("event_id", "No such event in this period.")
        void_event(period, ev, reason, amendment=True)
        person_id, after = ev.person_id, {"voided": ev.id}
    elif what == "rating":
        r = db.session.execute(select(Rating).where(Rating.period_id == period.id,
                                                    Rating.id == int(data["rating_id"]))).scalar_one_or_none()
        if r is None or r.rater_kind in calc.ANONYMOUS_KINDS:
            raise _invalid("rating_id", "No such supervisor or self rating in this period.")
        part = participant(period, r.ratee_id)
        inds = {i["code"]: i for i in rated_indicators(period, part, r.rater_kind)}
        errs = {}
        for code, value in (data.get("scores") or {}).items():
            try:
                if code not in inds:
                    raise calc.SpecError({code: ["Not an indicator of this rating."]})
                calc.rated_value_points(inds[code], value)
            except calc.SpecError as exc:
                errs[f"scores.{code}"] = exc.errors[code]
        if errs or not data.get("scores"):
            raise Invalid(errs or {"scores": ["Give the corrected scores."]})
        r.scores = {**r.scores, **data["scores"]}
        person_id, after = r.ratee_id, {"rating": r.id, "scores": data["scores"]}
    elif what == "metric":
        import_metrics(period, [data], "amendment", amendment=True)
        after = {"metric": data}
    else:
        raise _invalid("what", "One of event, void_event, rating, metric.")
    summary = compute_period(period, amendment=True)
    changed = {pid: {"before": before_results.get(pid), "after": (s, g)} for pid, s, g in db.session.execute(
        select(Result.person_id, Result.score, Result.grade).where(Result.period_id == period.id))
        if before_results.get(pid) != (s, g)}
    a = Amendment(root_id=period.root_id, org_id=period.org_id, period_id=period.id, person_id=person_id,
                  what=what, reason=reason.strip(), before={"results": {str(k): v["before"] for k, v in changed.items()}},
                  after={**after, "results": {str(k): v["after"] for k, v in changed.items()}},
                  by_name=current_actor().name)
    db.session.add(a)
    db.session.flush()
    record("routine.period.amend", root_id=period.root_id, org_id=period.org_id, target_type="routine_period",
           target_id=period.id, before=a.before, after=a.after, reason=reason)
    return a


# -- views of state -------------------------------------------------------------------

def todo_for(period: Period, rater_id: int, idx: RelationIndex | None = None) -> list[dict]:
    idx = idx or relation_index(period)
    done = {(r, k): v for r, k, v in db.session.execute(select(Rating.ratee_id, Rating.rater_kind, Rating.version)
                                                        .where(Rating.period_id == period.id,
                                                               Rating.rater_id == rater_id))}
    names = dict(db.session.execute(select(Person.id, Person.name).where(
        Person.root_id == period.root_id, Person.unit_id == period.org_id)).all())
    out = []
    for pid, kind in idx.ratees_of(rater_id):
        out.append({"person_id": pid, "name": names.get(pid, "?"), "kind": kind, "done": (pid, kind) in done,
                    "version": done.get((pid, kind))})
    order = {k: i for i, k in enumerate(calc.RATER_KINDS)}
    return sorted(out, key=lambda t: (t["done"], order[t["kind"]], t["name"]))


def completeness(period: Period) -> dict:
    """Who has not written, not rated, not been rated: a bounded number of
    queries, then the rules in Python."""
    parts = participants(period)
    idx = relation_index(period, parts)
    names = dict(db.session.execute(select(Person.id, Person.name).where(
        Person.root_id == period.root_id, Person.unit_id == period.org_id)).all())
    org_names = dict(db.session.execute(select(OrgNode.id, OrgNode.name).where(
        OrgNode.root_id == period.root_id, OrgNode.path.like(f"%/{period.org_id}/%"))).all())
    given = db.session.execute(select(Rating.rater_id, Rating.ratee_id, Rating.rater_kind)
                               .where(Rating.period_id == period.id)).all()
    given_set = {(a, b, k) for a, b, k in given}
    months = _months_so_far(period)
    records = {}
    for pid, d in db.session.execute(select(WorkRecord.person_id, WorkRecord.on_date).where(
            WorkRecord.period_id == period.id, WorkRecord.kind == "monthly")):
        records.setdefault(pid, set()).add(d)
    rows = []
    for p in parts:
        todo = idx.ratees_of(p.person_id)
        owed = [(b, k) for b, k in todo if (p.person_id, b, k) not in given_set]
        expected_in = idx.raters_of(p.person_id)
        got_sup = any((a, p.person_id, "supervisor") in given_set for a, k in expected_in if k == "supervisor")
        needs_sup = any(k == "supervisor" for _, k in expected_in)
        rows.append({"person_id": p.person_id, "name": names.get(p.person_id, "?"),
                     "org": org_names.get(p.org_id, ""), "role": p.position_role,
                     "records": len(records.get(p.person_id, set()) & months), "records_due": len(months),
                     "self_done": (p.person_id, p.person_id, "self") in given_set if any(
                         k == "self" for _, k in todo) else None,
                     "to_rate": len(todo), "rated": len(todo) - len(owed),
                     "supervisor_rated": got_sup if needs_sup else None,
                     "raters_expected": len(expected_in),
                     "raters_done": sum(1 for a, k in expected_in if (a, p.person_id, k) in given_set)})
    return {"rows": rows, "totals": {
        "people": len(rows),
        "records_missing": sum(1 for r in rows if r["records"] < r["records_due"]),
        "raters_owing": sum(1 for r in rows if r["rated"] < r["to_rate"]),
        "not_rated_by_supervisor": sum(1 for r in rows if r["supervisor_rated"] is False)}}


def _months_so_far(period: Period) -> set[dt.date]:
    out, d = set(), period.starts_on
    last = min(period.ends_on, today())
    while d <= last:
        out.add(d)
        d = (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


def anonymous_summary(period: Period, ratee_id: int) -> dict:
    """What a rated person sees of peer and democratic ratings: per kind the
    number of responses and, once at least routine.min_anonymous_raters have
    responded, the mean per indicator (never one rater's values)."""
    pol = period_policy(period)
    minimum = int(pol["routine.min_anonymous_raters"])
    out = {}
    for kind in calc.ANONYMOUS_KINDS:
        rows = db.session.execute(select(Rating.scores).where(
            Rating.period_id == period.id, Rating.ratee_id == ratee_id, Rating.rater_kind == kind)).scalars().all()
        entry: dict[str, Any] = {"responses": len(rows), "minimum": minimum, "shown": len(rows) >= minimum}
        if entry["shown"]:
            part = participant(period, ratee_id)
            inds = {i["code"]: i for i in rated_indicators(period, part, kind)}
            means = {}
            for code, ind in inds.items():
                vals = [calc.rated_value_points(ind, r[code]) for r in rows if code in r]
                if vals:
                    means[code] = calc.r2(sum(vals) / len(vals))
            entry["means"] = means
        out[kind] = entry
    return out


def public_breakdown(period: Period, breakdown: dict) -> dict:
    """The breakdown as the rated person may see it: anonymous rater means
    only where at least the minimum number responded."""
    minimum = int(period_policy(period)["routine.min_anonymous_raters"])
    b = json.loads(json.dumps(breakdown))
    for s in b.get("sections", []):
        for item in s.get("items", []):
            counts = item.get("counts") or {}
            means = item.get("raters") or {}
            for kind in calc.ANONYMOUS_KINDS:
                if kind in means and counts.get(kind, 0) < minimum:
                    means.pop(kind)
                    counts.pop(kind, None)
    return b


def voters(period: Period, ratee_id: int | None = None) -> dict:
    """For the office: who has voted in the anonymous kinds (not what)."""
    stmt = select(Rating.rater_id, Rating.ratee_id, Rating.rater_kind).where(
        Rating.period_id == period.id, Rating.rater_kind.in_(calc.ANONYMOUS_KINDS))
    if ratee_id is not None:
        stmt = stmt.where(Rating.ratee_id == ratee_id)
    out: dict[str, set] = {}
    for rater, ratee, kind in db.session.execute(stmt):
        out.setdefault(kind, set()).add(rater)
    return {k: sorted(v) for k, v in out.items()}


def my_tasks(person_id: int | None, user_id: int | None, admin_org_ids: Iterable[int] = ()) -> list[Task]:
    conds = []
    if person_id:
        conds.append(Task.assignee_person_id == person_id)
    if user_id:
        conds.append(Task.assignee_user_id == user_id)
    ids = list(admin_org_ids)
    if ids:
        conds.append(and_(Task.assignee_role == "unit_admin", Task.assignee_org_id.in_(ids)))
    if not conds:
        return []
    return list(db.session.execute(select(Task).where(Task.status == "open", or_(*conds))
                                   .order_by(Task.due_on, Task.id).limit(200)).scalars())


def close_task(task: Task, closed_type: str | None = None, closed_id: int | None = None,
               note: str | None = None, status: str = "done") -> Task:
    if task.status != "open":
        raise Conflict({"status": [f"The task is already {task.status}."]})
    if status not in ("done", "cancelled"):
        raise _invalid("status", "done or cancelled.")
    task.status, task.closed_type, task.closed_id, task.note = status, closed_type, closed_id, note
    task.closed_at = utcnow()
    db.session.flush()
    record("routine.task.close", root_id=task.root_id, org_id=task.org_id, target_type="routine_task",
           target_id=task.id, after={"status": status, "closed_by": closed_type, "closed_id": closed_id, "note": note})
    return task
