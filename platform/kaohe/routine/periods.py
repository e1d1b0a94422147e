"""Periods and their life cycle (draft → open → rating → review → publicised
→ final), who takes part in one and who rates whom in it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, insert, literal, select, union_all

from ..web.messages import N_, register_templates
from ..audit.service import record
from ..core.calendar import WorkCalendar
from ..core.db import utcnow
from ..core.errors import Conflict, Invalid
from ..extensions import db
from ..people.models import LeaderCharge, Person
from ..policy.resolve import effective_policy
from ..tenancy.models import OrgNode
from .common import check_version, invalid, live_policy, period_policy, today
from . import calc
from .indicators import library
from .models import Assignment, Event, Participant, PeerMember, Period, Rating, Scheme
from .relations import OVERLAP_MODES, P, RelationIndex
from .schemes import scheme_dict

# parametrised messages: pages recognise them in their formatted form and translate them
register_templates(
    N_("The public notice runs until %(end)s; the period can be finalised after it ends."),
    N_("%(n)s tie(s) at the cap line for Good need a decision first."),
    N_("No scheme (or no personal indicators) for: %(names)s."),
)

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
# refusals naming states: the states shown as labels in the reader's language;
# ``what`` (the step refused) is a catalog msgid, N_ at each call of require_state
M_NOT_NOW = N_("%(what)s is accepted only while the period is %(allowed)s; this period is %(state)s.")
M_FINAL = N_("%(what)s is not accepted: this period is final (read-only; corrections go through an amendment).")
M_MOVE = N_("A period in state %(state)s cannot move to %(to)s. Allowed: %(allowed)s.")
M_MOVE_FINAL = N_("A final period is read-only and cannot move to %(to)s; use an amendment.")
_STATES = {"allowed": STATE_LABELS, "state": STATE_LABELS, "to": STATE_LABELS}
register_templates(M_NOT_NOW, M_FINAL, M_MOVE, M_MOVE_FINAL, words=_STATES)


def state_words(*states: str) -> str:
    """States as their English labels joined by " or " (pages show them translated)."""
    return " or ".join(STATE_LABELS.get(s, (s, s))[1] for s in states)


RECORD_STATES = ("open", "rating")          # work records, self-service
RATING_STATES = ("open", "rating")          # ratings
EVENT_STATES = ("open", "rating", "review")  # deductions / bonuses / vetoes
COMPUTE_STATES = ("rating", "review", "publicised", "final")


def period_dates(year: int, cycle: str, seq: int) -> tuple[dt.date, dt.date]:
    months = 12 // CYCLES[cycle]
    start = dt.date(year, (seq - 1) * months + 1, 1)
    end_month = start.month + months
    end = (dt.date(year + 1, 1, 1) if end_month > 12 else dt.date(year, end_month, 1)) - dt.timedelta(days=1)
    return start, end


def create_period(unit: OrgNode, year: int, seq: int, cycle: str | None = None) -> Period:
    if not unit.is_assessment_unit:
        raise invalid("unit_id", N_("Periods are opened by an assessment unit."))
    pol = effective_policy(unit, year)
    effective = pol["routine.cycle"]
    cycle = cycle or effective
    if cycle not in CYCLES:
        raise invalid("cycle", f"The cycle must be one of {', '.join(CYCLES)}.")
    if cycle != effective:
        # The policy governs every use of the setting: a period's kind is the
        # effective (possibly locked) cycle, never a different one.
        raise invalid("cycle", _cycle_refusal(unit, year, cycle, effective, pol))
    if not 1 <= seq <= CYCLES[cycle]:
        raise invalid("seq", f"A {cycle} period number runs from 1 to {CYCLES[cycle]}.")
    if db.session.execute(select(Period.id).where(Period.org_id == unit.id, Period.year == year,
                                                  Period.cycle == cycle, Period.seq == seq)).first():
        raise Conflict({"seq": [N_("This period already exists.")]})
    start, end = period_dates(year, cycle, seq)
    clash = db.session.execute(select(Period).where(
        Period.root_id == unit.root_id, Period.org_id == unit.id, Period.starts_on <= end,
        Period.ends_on >= start).order_by(Period.starts_on)).scalars().first()
    if clash is not None:
        raise Conflict({"seq": [f"与已有考核周期 {clash.label}（{clash.starts_on.isoformat()} – "
                                f"{clash.ends_on.isoformat()}）重叠 / overlaps the existing period {clash.label} "
                                f"({clash.starts_on.isoformat()} – {clash.ends_on.isoformat()})"]},
                       "Periods of one unit must not overlap.")
    period = Period(root_id=unit.root_id, org_id=unit.id, year=year, cycle=cycle, seq=seq, starts_on=start,
                    ends_on=end, state="draft")
    db.session.add(period)
    db.session.flush()
    record("routine.period.create", root_id=unit.root_id, org_id=unit.id, target_type="routine_period",
           target_id=period.id, after={"year": year, "cycle": cycle, "seq": seq})
    return period


def _cycle_refusal(unit: OrgNode, year: int, cycle: str, effective: str, pol) -> str:
    prov = pol.provenance("routine.cycle")
    by_id = prov["locked_by"] or prov["source"]
    by = db.session.get(OrgNode, by_id) if by_id else None
    zh_by = by.name if by else "全国默认"
    en_by = f"{by.name} ({by.code})" if by else "the national default"
    labels = {"month": ("按月", "monthly"), "quarter": ("按季度", "quarterly"), "half_year": ("按半年", "half-yearly")}
    how_zh = "锁定" if prov["locked_by"] else "设定"
    how_en = "locked" if prov["locked_by"] else "set"
    return (f"考核周期为{labels[effective][0]}（{zh_by}{how_zh}），不能创建{labels[cycle][0]}的周期 / "
            f"the routine cycle is {labels[effective][1]} ({how_en} by {en_by}); a {labels[cycle][1]} "
            f"period cannot be created")


def transition(period: Period, to: str, expected_version: int | None = None, *, on: dt.date | None = None) -> Period:
    allowed = TRANSITIONS.get(period.state, ())
    if to not in allowed:
        if allowed:
            message = M_MOVE % {"state": state_words(period.state), "to": state_words(to),
                                "allowed": ", ".join(state_words(s) for s in allowed)}
        else:
            message = M_MOVE_FINAL % {"to": state_words(to)}
        raise Invalid({"state": [message]}, N_("Illegal transition."))
    check_version(period, expected_version, lambda p: {"state": p.state})
    unit = db.session.get(OrgNode, period.org_id)
    before = period.state
    on = on or today()
    if to == "open" and before == "draft":
        _open(period, unit)
    if to in ("review", "publicised"):
        from .inputs import blockers   # inputs builds on this module
        problems = blockers(period)
        if problems:
            raise Invalid({"state": problems}, N_("Inputs are incomplete."))
    if to == "publicised":
        problems = publish_blockers(period)
        if problems:
            raise Invalid({"state": problems}, N_("The period cannot be published yet."))
        pol = period_policy(period)
        cal = WorkCalendar.from_policy(pol)
        period.publicity_from = cal.next_workday(on)
        period.publicity_until = cal.add_workdays(period.publicity_from, int(pol["routine.publicity_working_days"]))
    if to == "final":
        if period.publicity_until and on <= period.publicity_until:
            raise Invalid({"state": [N_("The public notice runs until %(end)s; the period can be finalised after it "
                                        "ends.") % {"end": period.publicity_until.isoformat()}]},
                          N_("The public notice is still running."))
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
        raise invalid("state", N_("Set up at least one assessment scheme before opening a period."))
    for s in schemes:
        missing = calc.missing_mandatory({"sections": s.sections}, lib)
        if missing:
            raise invalid("state", f"Scheme {s.code}: " + calc.mandatory_error(missing, lib)["sections"][0])
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
        names = "、".join(unassigned[:10]) + (f" …（+{len(unassigned) - 10}）" if len(unassigned) > 10 else "")
        raise invalid("state", N_("No scheme (or no personal indicators) for: %(names)s.") % {"names": names})
    if not rows:
        raise invalid("state", N_("Nobody on the roster takes part in this period."))
    period.policy = pol
    period.frozen = {"library": lib, "schemes": {s.code: scheme_dict(s, pol) for s in schemes}}
    period.opened_at = utcnow()
    db.session.execute(insert(Participant), rows)


def publish_blockers(period: Period) -> list[str]:
    problems = []
    if period.computed_at is None:
        problems.append(N_("Compute the results first."))
        return problems
    last_change = max(filter(None, [
        db.session.execute(select(func.max(Rating.submitted_at)).where(Rating.period_id == period.id)).scalar(),
        db.session.execute(select(func.max(Event.created_at)).where(Event.period_id == period.id)).scalar(),
    ]), default=None)
    if last_change is not None and _aware(last_change) > _aware(period.computed_at):
        problems.append(N_("Ratings or events changed after the last computation; compute again."))
    ties = [t for t in (period.compute_summary or {}).get("ties", []) if not t.get("resolved")]
    if ties:
        problems.append(N_("%(n)s tie(s) at the cap line for Good need a decision first.") % {"n": len(ties)})
    return problems


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def require_state(period: Period, states: tuple[str, ...], field: str = "period", what: str = N_("This")) -> None:
    """``what`` names the step refused, a catalog msgid (N_ at the call)."""
    if period.state not in states:
        if period.state == "final":
            message = M_FINAL % {"what": what}
        else:
            message = M_NOT_NOW % {"what": what, "allowed": state_words(*states), "state": state_words(period.state)}
        raise Invalid({field: [message]}, N_("The period does not accept this now."))


# -- participants and relations ---------------------------------------------------

def participants(period: Period) -> list[Participant]:
    return list(db.session.execute(select(Participant).where(Participant.period_id == period.id)
                                   .order_by(Participant.person_id)).scalars())


def participant(period: Period, person_id: int) -> Participant | None:
    return db.session.execute(select(Participant).where(Participant.period_id == period.id,
                                                        Participant.person_id == person_id)).scalar_one_or_none()


def relation_index(period: Period, parts: list[Participant] | None = None, *,
                   only: tuple[int, int] | None = None) -> RelationIndex:
    """Two queries whatever the headcount: participants, then charges and
    peer groups together.  ``only=(rater_id, ratee_id)`` loads just what one check needs."""
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
    # charges and peer memberships in one round trip, tagged by their source
    rows = db.session.execute(union_all(charge_q.add_columns(literal("c").label("src")),
                                        member_q.add_columns(literal("m").label("src")))).all()
    charges = [(r[0], r[1]) for r in rows if r[2] == "c"]
    members = [(r[0], r[1]) for r in rows if r[2] == "m"]
    schemes = (period.frozen or {}).get("schemes", {})
    # a period frozen before the setting existed keeps rating every relation
    overlap = (period.policy or {}).get("routine.rating_overlap", "every_relation")
    return RelationIndex.build(
        [P(p.person_id, None if p.org_id == unit_id else p.org_id, p.position_role, p.scheme_code) for p in parts],
        charges=charges, memberships=members,
        derived_schemes={c for c, s in schemes.items() if s.get("leader_score_mode") == "derived"},
        democratic_unit_schemes={c for c, s in schemes.items() if s.get("democratic_scope") == "unit"},
        rater_kinds={c: _kinds_used(s) for c, s in schemes.items()},
        overlap=overlap if overlap in OVERLAP_MODES else "strongest",
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
