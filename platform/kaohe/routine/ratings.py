"""Ratings: submitting one (within the rater relations), the office's
correction, and what may be shown of the anonymous kinds."""
from __future__ import annotations

import hashlib
import json
from ..web.messages import N_
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import make_transient_to_detached

from ..audit.service import record
from ..core.db import upsert_insert, utcnow
from ..core.errors import Conflict, Forbidden, Invalid
from ..extensions import db
from . import calc
from .common import M_RATER_FIRST, M_RATING_SAVED, RATING_CHANGED, invalid, period_policy
from .models import Participant, Period, Rating
from .periods import RATING_STATES, participant, rated_indicators, relation_index, require_state
from .relations import RULES, RelationIndex


def rating_public(r: Rating) -> dict:
    return {"id": r.id, "period_id": r.period_id, "ratee_id": r.ratee_id, "rater_kind": r.rater_kind,
            "scores": r.scores, "comment": r.comment, "comment_visible": r.comment_visible,
            "proposed_grade": r.proposed_grade, "version": r.version}


def submit_rating(period: Period, rater_id: int, ratee_id: int, kind: str, scores: dict, *,
                  comment: str | None = None, comment_visible: bool = True, proposed_grade: str | None = None,
                  expected_version: int | None = None, idx: RelationIndex | None = None) -> Rating:
    if kind not in calc.RATER_KINDS:
        raise invalid("rater_kind", f"One of {', '.join(calc.RATER_KINDS)}.")
    require_state(period, RATING_STATES, "period", N_("Rating"))
    pair = list(db.session.execute(select(Participant).where(
        Participant.period_id == period.id, Participant.person_id.in_({rater_id, ratee_id}))).scalars())
    idx = idx or relation_index(period, pair, only=(rater_id, ratee_id))
    ratee = next((p for p in pair if p.person_id == ratee_id), None)
    if ratee is None:
        raise invalid("ratee_id", N_("This person does not take part in this period."))
    rule = idx.check(rater_id, ratee_id, kind)
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
    anonymous = kind in calc.ANONYMOUS_KINDS
    if expected_version is None:
        # A first submission is one INSERT .. ON CONFLICT DO NOTHING: it
        # writes only when there is no rating yet (else it falls through to
        # the version check below, which refuses it).
        rating = _insert_first(period, ratee.org_id, rater_id, ratee_id, kind, clean, comment, comment_visible,
                               proposed_grade)
        if rating is not None:
            record("routine.rating.submit", root_id=period.root_id, org_id=ratee.org_id,
                   target_type="routine_rating", target_id=rating.id, before=None,
                   after=_rating_audit(rating, anonymous))
            return rating
    existing = db.session.execute(select(Rating).where(
        Rating.period_id == period.id, Rating.ratee_id == ratee_id, Rating.rater_id == rater_id,
        Rating.rater_kind == kind)).scalar_one_or_none()
    before = None
    if existing is None:
        if expected_version is not None:
            raise Conflict({"version": [N_("This rating does not exist yet; submit it without a version.")]})
        rating = Rating(root_id=period.root_id, org_id=ratee.org_id, period_id=period.id, ratee_id=ratee_id,
                        rater_id=rater_id, rater_kind=kind)
        db.session.add(rating)
    else:
        if expected_version is None or int(expected_version) != existing.version:
            raise Conflict({"version": [M_RATING_SAVED % {"v": existing.version}],
                            "current": rating_public(existing)}, RATING_CHANGED)
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


def _insert_first(period: Period, org_id: int, rater_id: int, ratee_id: int, kind: str, scores: dict,
                  comment: str | None, comment_visible: bool, proposed_grade: str | None) -> Rating | None:
    """The rating inserted if none exists (None otherwise), as a persistent
    object in the session (no second round trip to load it)."""
    t = Rating.__table__
    values = {"root_id": period.root_id, "org_id": org_id, "period_id": period.id, "ratee_id": ratee_id,
              "rater_id": rater_id, "rater_kind": kind, "scores": scores, "comment": comment,
              "comment_visible": comment_visible, "proposed_grade": proposed_grade, "submitted_at": utcnow(),
              "version": 1}
    new_id = db.session.execute(
        upsert_insert(db.session.get_bind().dialect.name, t).values(**values)
        .on_conflict_do_nothing(index_elements=["root_id", "period_id", "ratee_id", "rater_id", "rater_kind"])
        .returning(t.c.id)).scalar()
    if new_id is None:
        return None
    rating = Rating(id=new_id, **values)
    make_transient_to_detached(rating)
    db.session.add(rating)
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
        raise Forbidden({"rater_kind": [N_("Anonymous ratings cannot be edited by the office.")]})
    if not (reason or "").strip():
        raise invalid("reason", N_("Give the reason for the correction."))
    require_state(period, RATING_STATES + ("review",), "period", N_("A correction"))
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
        raise Conflict({"version": [M_RATER_FIRST % {"v": rating.version}],
                        "current": rating_public(rating)}, RATING_CHANGED)
    before = _rating_audit(rating, False)
    rating.scores = {**rating.scores, **scores}
    rating.submitted_at = utcnow()
    db.session.flush()
    record("routine.rating.adjust", root_id=period.root_id, org_id=rating.org_id, target_type="routine_rating",
           target_id=rating.id, before=before, after=_rating_audit(rating, False), reason=reason)
    return rating


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
