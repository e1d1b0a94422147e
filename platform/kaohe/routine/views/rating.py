"""The rating form: a rater scores one person in one kind (supervisor, self,
peer, democratic), within the rater relations."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ...auth.roles import Perm
from ...auth.service import has_perm
from ...core.errors import Conflict, Forbidden, KaoheError
from ...extensions import db
from ...people.models import Person
from ...tenancy.models import OrgNode
from ...tenancy.scope import get_in_scope
from .. import calc
from ..completeness import todo_for
from ..models import Period, Rating, WorkRecord
from ..periods import RATING_STATES, participant, rated_indicators, relation_index
from ..ratings import submit_rating
from ..relations import RULES
from .common import bp, current_person, error_messages, render


@bp.route("/periods/<int:period_id>/rate/<int:person_id>/<kind>", methods=["GET", "POST"])
def rate(period_id, person_id, kind):
    period = get_in_scope(Period, period_id)
    rater = current_person()
    if kind not in calc.RATER_KINDS:
        abort(404)
    ratee = get_in_scope(Person, person_id)
    part = participant(period, ratee.id)
    if part is None:
        abort(404)
    idx = relation_index(period, only=(rater.id, ratee.id))
    rule = idx.check(rater.id, ratee.id, kind)
    if rule is not None:
        raise Forbidden(RULES[rule])
    inds = rated_indicators(period, part, kind)
    existing = db.session.execute(select(Rating).where(Rating.period_id == period.id, Rating.ratee_id == ratee.id,
                                                       Rating.rater_id == rater.id, Rating.rater_kind == kind)
                                  ).scalar_one_or_none()
    errors, conflict = {}, None
    values = dict(existing.scores) if existing else {}
    comment = existing.comment if existing else ""
    if request.method == "POST":
        form = request.form
        scores = {}
        for ind in inds:
            v = form.get(f"s_{ind['code']}", "").strip()
            if v == "":
                continue
            scores[ind["code"]] = v if ind["kind"] == "graded" else _num(v)
        values, comment = scores, form.get("comment") or None
        if kind == "supervisor" and not has_perm(Perm.rate, db.session.get(OrgNode, period.org_id)):
            raise Forbidden(_("Your account may not give supervisor ratings."))
        try:
            submit_rating(period, rater.id, ratee.id, kind, scores, comment=comment,
                                  comment_visible=form.get("comment_visible") == "on",
                                  proposed_grade=form.get("proposed_grade") or None,
                                  expected_version=form.get("version", type=int), idx=idx)
            db.session.commit()
            flash(_("Rating saved for %(name)s.", name=ratee.name), "ok")
            return redirect(url_for("routine.me") + "#todo")
        except Conflict as exc:
            db.session.rollback()
            conflict = exc.errors.get("current")
            errors = {"_": exc.errors.get("version", [exc.message])}
            existing = db.session.execute(select(Rating).where(Rating.id == conflict["id"])).scalar_one() \
                if conflict else existing
        except KaoheError as exc:
            db.session.rollback()
            errors = error_messages(exc)
    records = []
    if kind == "supervisor":   # 审核评鉴: the rater sees what the person recorded
        records = db.session.execute(select(WorkRecord).where(WorkRecord.period_id == period.id,
                                                              WorkRecord.person_id == ratee.id)
                                     .order_by(WorkRecord.on_date)).scalars().all()
    return render("routine/rate.html", period=period, ratee=ratee, kind=kind, inds=inds, existing=existing,
                  records=records, todo=todo_for(period, rater.id),
                  values=values, comment=comment, errors=errors, conflict=conflict,
                  anonymous=kind in calc.ANONYMOUS_KINDS,
                  editable=period.state in RATING_STATES), 409 if conflict else 422 if errors else 200


def _num(v: str):
    try:
        return float(v)
    except ValueError:
        return v
