"""Are a period's inputs complete?  One check for the API, the pages, the CLI
and the computation.

A person's inputs are complete when every rated or data-fed indicator of
their scheme has a value and every rater kind the rules give them (谁管理谁考核:
supervisor, self, peer, democratic) has answered at least once.  A person
without complete inputs is 未完成: no score, no grade, no rank, no talk task,
nothing the annual builds on.  Unrated inputs are never scored as zero.

The office may record a per-person exemption with a reason (audited, shown on
the period page and to the level above): it lets the period move on to
review and 公示 without that person's missing inputs, and when the only gap
is a rater kind that did not answer (every indicator has a value) the person
is scored from the kinds that did, weights renormalised, and flagged
``exempted``.  Peers or democratic voters fewer than
routine.min_anonymous_raters are never counted (calc.combine_raters); under
routine.anonymous_below_minimum = "incomplete" they also leave the person
未完成 until more answer or the office records an exemption.  A person with an indicator nobody rated stays 未完成 even
when exempted."""
from __future__ import annotations

import re

from sqlalchemy import delete, select

from ..web.messages import N_, register_templates

from ..audit.service import current_actor, record
from ..extensions import db
from ..people.models import Person
from . import calc
from .common import invalid, period_policy
from .models import Event, Exemption, Metric, Participant, Period, Rating
from .periods import participants, relation_index, require_state

EXEMPT_STATES = ("open", "rating", "review")
GATED_STATES = ("review", "publicised")     # moving here needs complete inputs (or exemptions)


def score_inputs(period: Period, parts: list[Participant] | None = None) -> dict[int, dict]:
    """Score every participant from what has been entered (a fixed number of
    queries), each result carrying ``missing_kinds`` (rater kinds the rules
    expect that have not answered) and ``complete``."""
    frozen = period.frozen or {}
    lib, schemes = frozen.get("library", {}), frozen.get("schemes", {})
    pol = period_policy(period)
    free = int(pol["routine.deduction_free_occurrences"])
    min_anonymous = int(pol["routine.min_anonymous_raters"])
    withheld_incomplete = pol["routine.anonymous_below_minimum"] == "incomplete"
    if free:   # the policy's allowance, unless an indicator sets its own
        lib = {c: ({"free": free, **i} if i.get("kind") == "deduction" else i) for c, i in lib.items()}
    parts = parts if parts is not None else participants(period)
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
    expected = expected_kinds(period, parts)
    out: dict[int, dict] = {}
    for p in parts:
        scheme = schemes[p.scheme_code]
        res = calc.score_person(calc.PersonInput(
            person_id=p.person_id, scheme=scheme, library=lib, ratings=ratings.get(p.person_id, ()),
            events=events.get(p.person_id, {}), vetoes=vetoes.get(p.person_id, ()),
            metrics=metrics.get(p.person_id, {}), personal=p.personal, min_anonymous=min_anonymous))
        got = {k for k, _ in ratings.get(p.person_id, ())}
        res["missing_kinds"] = sorted(expected.get(p.person_id, set()) - got)
        res["derived"] = p.position_role in ("head", "deputy") and scheme.get("leader_score_mode") == "derived"
        # routine.anonymous_below_minimum = "incomplete": a withheld group makes the inputs incomplete
        # (more raters, or an exemption: then scored without the group, as in "not_counted")
        res["withheld_blocks"] = withheld_incomplete and bool(res["withheld"])
        res["complete"] = res["derived"] or not (res["unrated"] or res["missing_kinds"] or res["withheld_blocks"])
        out[p.person_id] = res
    return out


def expected_kinds(period: Period, parts: list[Participant]) -> dict[int, set[str]]:
    """The rater kinds the relation rules give each participant."""
    idx = relation_index(period, parts)
    return {p.person_id: {k for _, k in idx.raters_of(p.person_id)} for p in parts}


def exemptions(period: Period) -> dict[int, Exemption]:
    return {e.person_id: e for e in db.session.execute(
        select(Exemption).where(Exemption.period_id == period.id)).scalars()}


def input_status(period: Period) -> list[dict]:
    """Everyone whose inputs are not complete: name, what is missing, and the
    exemption if one was recorded."""
    if period.state == "draft":
        return []
    scored = score_inputs(period)
    ex = exemptions(period)
    names = dict(db.session.execute(select(Person.id, Person.name).where(
        Person.root_id == period.root_id, Person.id.in_(list(scored)))).all()) if scored else {}
    lib = (period.frozen or {}).get("library", {})
    rows = []
    for pid, res in scored.items():
        if res["complete"]:
            continue
        e = ex.get(pid)
        rows.append({"person_id": pid, "name": names.get(pid, "?"), "missing_kinds": res["missing_kinds"],
                     "unrated": res["unrated"], "withheld": res["withheld"] if res["withheld_blocks"] or res["unrated"] else [],
                     "unrated_names": [lib.get(c, {}).get("name") or c for c in res["unrated"]],
                     "exempted": e is not None,
                     "reason": e.reason if e else None, "by": e.by_name if e else None,
                     "at": e.created_at if e else None})
    return sorted(rows, key=lambda r: (r["exempted"], r["name"]))


M_INCOMPLETE = N_("%(n)s people have incomplete inputs: %(people)s. "
                  "Complete their ratings or record an exemption with a reason for each.")
# what is missing, in the order describe() writes it: (English prefix, Chinese prefix)
_MISSING = (("no rating by ", "缺少评价："), ("no value for ", "缺少指标值："),
            ("fewer raters than the anonymity minimum (not counted): ", "评价人数少于匿名最少人数（不计入得分）："))
_KIND_WORDS = {en: (zh, en) for zh, en in calc.RATER_LABELS.values()}


def _localize_people(text: str) -> str:
    """The people list of M_INCOMPLETE in the reader's language: names as
    they are, what is missing in words, rater kinds as their labels."""
    from ..web.i18n import pick

    m = re.fullmatch(r"(?P<people>.*?)(?: and (?P<more>\d+) more)?", text, re.S)
    found = re.findall(r"\s*([^;()]+?) \(([^()]*)\)", m.group("people"))
    if "; ".join(f"{name} ({what})" for name, what in found) != m.group("people"):
        return text     # a name or indicator with brackets: shown as written rather than cut
    shown = []
    for name, what in found:
        parts = []
        for part in what.split("; "):
            for en, zh in _MISSING:
                if part.startswith(en):
                    items = part[len(en):].split(", ")
                    part = pick(zh, en) + pick("、", ", ").join(
                        pick(*_KIND_WORDS[i]) if i in _KIND_WORDS else i for i in items)
                    break
            parts.append(part)
        shown.append(name + pick("（", " (") + pick("；", "; ").join(parts) + pick("）", ")"))
    out = pick("；", "; ").join(shown)
    if m.group("more"):
        out += pick(f"等，另有 {m.group('more')} 人", f" and {m.group('more')} more")
    return out


register_templates(M_INCOMPLETE, params={"people": _localize_people})


def blockers(period: Period) -> list[str]:
    """Why the period may not move to review or 公示: people with incomplete
    inputs and no recorded exemption (named, with what is missing)."""
    open_rows = [r for r in input_status(period) if not r["exempted"]]
    if not open_rows:
        return []
    shown = "; ".join(f"{r['name']} ({describe(r)})" for r in open_rows[:10])
    more = f" and {len(open_rows) - 10} more" if len(open_rows) > 10 else ""
    return [M_INCOMPLETE % {"n": len(open_rows), "people": shown + more}]


def _kind_words(kinds) -> str:
    return ", ".join(calc.RATER_LABELS.get(k, (k, k))[1] for k in kinds)


def describe(row: dict) -> str:
    """What is missing for one person, in English words (rater kinds as their
    labels, indicators by name); pages translate it (_localize_people)."""
    parts = []
    if row["missing_kinds"]:
        parts.append("no rating by " + _kind_words(row["missing_kinds"]))
    if row["unrated"]:
        parts.append("no value for " + ", ".join(row.get("unrated_names") or row["unrated"]))
    if row.get("withheld"):
        parts.append("fewer raters than the anonymity minimum (not counted): " + _kind_words(row["withheld"]))
    return "; ".join(parts)


def exempt(period: Period, person_id: int, reason: str) -> Exemption:
    require_state(period, EXEMPT_STATES, "period", N_("Recording an exemption"))
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", N_("Record the reason for the exemption (e.g. sick leave for the whole quarter)."))
    status = {r["person_id"]: r for r in input_status(period)}
    row = status.get(int(person_id))
    if row is None:
        raise invalid("person_id", N_("This person takes no part in the period or their inputs are complete; "
                                      "there is nothing to exempt."))
    if row["exempted"]:
        from ..core.errors import Conflict
        raise Conflict({"person_id": [N_("An exemption is already recorded for this person.")]})
    e = Exemption(root_id=period.root_id, org_id=period.org_id, period_id=period.id, person_id=int(person_id),
                  reason=reason, missing={"kinds": row["missing_kinds"], "indicators": row["unrated"], "withheld": row["withheld"]},
                  by_name=current_actor().name)
    db.session.add(e)
    db.session.flush()
    record("routine.exemption.record", root_id=period.root_id, org_id=period.org_id, target_type="routine_period",
           target_id=period.id, after={"person_id": int(person_id), "missing": e.missing}, reason=reason)
    return e


def revoke(period: Period, person_id: int, reason: str) -> None:
    require_state(period, EXEMPT_STATES, "period", N_("Withdrawing an exemption"))
    e = exemptions(period).get(int(person_id))
    if e is None:
        raise invalid("person_id", N_("No exemption is recorded for this person."))
    if not (reason or "").strip():
        raise invalid("reason", N_("Record why the exemption is withdrawn."))
    db.session.execute(delete(Exemption).where(Exemption.id == e.id))
    db.session.flush()
    record("routine.exemption.revoke", root_id=period.root_id, org_id=period.org_id, target_type="routine_period",
           target_id=period.id, before={"person_id": int(person_id), "reason": e.reason}, reason=reason.strip())
