"""Results after computation: the office's feedback, amendments of a final
period, and the breakdown as the rated person may see it."""
from __future__ import annotations

import json

from ..web.messages import N_
from sqlalchemy import select

from ..audit.service import current_actor, record
from ..core.errors import Invalid
from ..extensions import db
from . import calc
from .common import invalid, period_policy
from .compute import compute_period
from .events import import_metrics, record_event, void_event
from .models import Amendment, Event, Period, Rating, Result
from .periods import participant, rated_indicators, require_state


def set_feedback(period: Period, result: Result, text: str, by: str) -> Result:
    require_state(period, ("review", "publicised", "final"), "period", N_("Feedback"))
    if not (text or "").strip():
        raise invalid("feedback", N_("Write the feedback."))
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
        raise invalid("period", N_("Amendments are for final periods; change the record directly while it is open."))
    if not (reason or "").strip():
        raise invalid("reason", N_("An amendment needs a reason."))
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
            raise invalid("event_id", N_("No such event in this period."))
        void_event(period, ev, reason, amendment=True)
        person_id, after = ev.person_id, {"voided": ev.id}
    elif what == "rating":
        r = db.session.execute(select(Rating).where(Rating.period_id == period.id,
                                                    Rating.id == int(data["rating_id"]))).scalar_one_or_none()
        if r is None or r.rater_kind in calc.ANONYMOUS_KINDS:
            raise invalid("rating_id", N_("No such supervisor or self rating in this period."))
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
        raise invalid("what", N_("One of event, void_event, rating, metric."))
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
