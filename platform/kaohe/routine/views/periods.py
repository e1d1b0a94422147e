"""The assessment office's pages for one period: the completeness board,
transitions, computation, events, data imports, ties, feedback,
amendments, and one person's result."""
from __future__ import annotations

import datetime as dt

from ...web.messages import N_
from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ...auth.roles import Perm
from ...auth.service import has_perm
from ...core.errors import Forbidden, Invalid, KaoheError
from ...extensions import db
from ...jobs import queue
from ...jobs.api import job_status
from ...people.models import Person
from ...tenancy.models import OrgNode
from ...tenancy.scope import current_scope, get_in_scope
from ...web.forms import parse_form
from ...web.i18n import pick
from .. import calc, calc_grades
from ..common import period_policy, today
from ..completeness import completeness
from ..compute import resolve_tie
from ..inputs import exempt, input_status, revoke
from ..events import import_metrics, read_metrics_xlsx, record_event, void_event
from ..models import Amendment, Event, Period, Rating, Result, Task
from ..periods import COMPUTE_STATES, STATE_LABELS, participants, publish_blockers, require_state, transition
from ..ratings import anonymous_summary, voters
from ..results import amend, set_feedback
from ..schemas import EventInSchema
from .common import bp, error_messages, render


def _gap_describer(period: Period):
    """What a person's inputs still lack, in the page's language (the API and
    the CLI say it in English: inputs.describe)."""
    names = {c: i.get("name") or c for c, i in ((period.frozen or {}).get("library") or {}).items()}

    def kinds(ks):
        return pick("、", ", ").join(pick(*calc.RATER_LABELS.get(k, (k, k))) for k in ks)

    def describe(row: dict) -> str:
        parts = []
        if row["missing_kinds"]:
            parts.append(_("no rating by %(kinds)s", kinds=kinds(row["missing_kinds"])))
        if row["unrated"]:
            parts.append(_("no value for %(items)s", items=pick("、", ", ").join(names.get(c, c) for c in row["unrated"])))
        if row.get("withheld"):
            parts.append(_("fewer raters than the anonymity minimum: %(who)s", who=kinds(row["withheld"])))
        return pick("；", "; ").join(parts)
    return describe


def _admin_period(period_id: int) -> tuple[Period, OrgNode]:
    period = get_in_scope(Period, period_id)
    unit = db.session.get(OrgNode, period.org_id)
    if not has_perm(Perm.unit_admin, unit):
        raise Forbidden()
    return period, unit


@bp.route("/periods/<int:period_id>", methods=["GET"])
def period_page(period_id):
    period, unit = _admin_period(period_id)
    board = completeness(period) if period.state != "draft" else None
    results = db.session.execute(select(Result, Person.name, OrgNode.name).join(
        Person, Person.id == Result.person_id).join(OrgNode, OrgNode.id == Result.org_id).where(
        Result.period_id == period.id).order_by(Result.rank, Person.staff_no)).all()
    events = db.session.execute(select(Event, Person.name).join(Person, Person.id == Event.person_id).where(
        Event.period_id == period.id).order_by(Event.occurred_on.desc(), Event.id.desc())).all()
    parts = participants(period) if period.state != "draft" else []
    names = dict(db.session.execute(select(Person.id, Person.name).where(Person.unit_id == unit.id)).all())
    event_inds = [i for i in (period.frozen or {}).get("library", {}).values() if i["kind"] in calc.EVENT_KINDS]
    job_id = request.args.get("job")
    job = job_status(job_id) if job_id else None
    amendments = db.session.execute(select(Amendment).where(Amendment.period_id == period.id)
                                    .order_by(Amendment.id.desc())).scalars().all()
    pol = period_policy(period)
    who_voted = voters(period)
    # the results export runs through the supervision slice's export jobs (always registered by the shell)
    export_url = url_for("supervision.export_start", kind="routine.results", org_id=unit.id, year=period.year,
                         period=f"{period.cycle}-{period.seq}") if results else None
    return render("routine/period.html", export_url=export_url, period=period, unit=unit, board=board, results=results, events=events,
                  parts=parts, names=names, event_inds=event_inds, job=job, amendments=amendments, pol=pol,
                  blockers=publish_blockers(period) if period.state == "review" else [],
                  inputs=input_status(period), describe_gap=_gap_describer(period),
                  talk_tasks=db.session.execute(select(Task).where(
                      Task.source_type == "routine_period", Task.source_id == period.id,
                      Task.status != "cancelled").order_by(Task.id)).scalars().all(),
                  voters=who_voted, errors=_pop_errors(), today=today(),
                  gbands=calc_grades.explain(pol.get("routine.grade_scale"), pol["routine.grade_bands"]))


def _pop_errors() -> dict:
    from flask import session

    return session.pop("routine_errors", {}) or {}


def _fail(period_id: int, exc: KaoheError, anchor: str = ""):
    from flask import session

    db.session.rollback()
    session["routine_errors"] = error_messages(exc)
    flash(exc.message, "error")
    return redirect(url_for("routine.period_page", period_id=period_id) + anchor)


@bp.route("/periods/<int:period_id>/transition", methods=["POST"])
def period_transition(period_id):
    period, _unit = _admin_period(period_id)
    try:
        transition(period, request.form.get("to", ""), request.form.get("version", type=int))
        db.session.commit()
        flash(_("The period is now: %(s)s.", s=pick(*STATE_LABELS[period.state])), "ok")
    except KaoheError as exc:
        return _fail(period_id, exc)
    return redirect(url_for("routine.period_page", period_id=period_id))


@bp.route("/periods/<int:period_id>/exemptions", methods=["POST"])
def period_exempt(period_id):
    """Record (or withdraw) a per-person exemption from complete inputs, with a reason."""
    period, _unit = _admin_period(period_id)
    try:
        person_id = request.form.get("person_id", type=int)
        if person_id is None:
            raise Invalid({"person_id": [_("Choose a person.")]})
        if request.form.get("revoke"):
            revoke(period, person_id, request.form.get("reason", ""))
            flash(_("Exemption withdrawn."), "ok")
        else:
            exempt(period, person_id, request.form.get("reason", ""))
            flash(_("Exemption recorded."), "ok")
        db.session.commit()
    except KaoheError as exc:
        return _fail(period_id, exc, "#inputs")
    return redirect(url_for("routine.period_page", period_id=period_id) + "#inputs")


@bp.route("/periods/<int:period_id>/compute", methods=["POST"])
def period_compute(period_id):
    period, _unit = _admin_period(period_id)
    try:
        require_state(period, COMPUTE_STATES[:2], "period", N_("Computing"))
    except KaoheError as exc:
        return _fail(period_id, exc)
    job_id = queue.submit("routine.compute", root_id=period.root_id, org_id=period.org_id, scope=current_scope(),
                          params={"period_id": period.id}, created_by=current_user.id)
    return redirect(url_for("routine.period_page", period_id=period_id, job=job_id) + "#compute")


@bp.route("/periods/<int:period_id>/events", methods=["POST"])
def period_event(period_id):
    period, _unit = _admin_period(period_id)
    data, errors = parse_form(EventInSchema(), request.form)
    if data is None:
        return _fail(period_id, Invalid(errors), "#events")
    try:
        record_event(period, data["person_id"], data["indicator_code"], data["occurred_on"],
                             data["evidence"], data.get("points"))
        db.session.commit()
        flash(_("Event recorded."), "ok")
    except KaoheError as exc:
        return _fail(period_id, exc, "#events")
    return redirect(url_for("routine.period_page", period_id=period_id) + "#events")


@bp.route("/events/<int:event_id>/void", methods=["POST"])
def event_void(event_id):
    ev = get_in_scope(Event, event_id)
    period, _unit = _admin_period(ev.period_id)
    try:
        void_event(period, ev, request.form.get("reason", ""))
        db.session.commit()
        flash(_("Event voided."), "ok")
    except KaoheError as exc:
        return _fail(period.id, exc, "#events")
    return redirect(url_for("routine.period_page", period_id=period.id) + "#events")


@bp.route("/periods/<int:period_id>/metrics", methods=["POST"])
def period_metrics(period_id):
    period, _unit = _admin_period(period_id)
    f = request.files.get("file")
    try:
        if f is None or not f.filename:
            raise Invalid({"file": [_("Choose an .xlsx file.")]})
        n = import_metrics(period, read_metrics_xlsx(f.stream), f.filename)
        db.session.commit()
        flash(_("%(n)s values imported.", n=n), "ok")
    except KaoheError as exc:
        return _fail(period_id, exc, "#metrics")
    return redirect(url_for("routine.period_page", period_id=period_id) + "#metrics")


@bp.route("/periods/<int:period_id>/ties", methods=["POST"])
def period_tie(period_id):
    period, _unit = _admin_period(period_id)
    try:
        resolve_tie(period, request.form.get("group", ""), request.form.getlist("chosen", type=int),
                            request.form.get("reason", ""))
        db.session.commit()
        flash(_("Tie decided and results recomputed."), "ok")
    except KaoheError as exc:
        return _fail(period_id, exc, "#ties")
    return redirect(url_for("routine.period_page", period_id=period_id) + "#results")


@bp.route("/periods/<int:period_id>/feedback/<int:person_id>", methods=["POST"])
def period_feedback(period_id, person_id):
    period, _unit = _admin_period(period_id)
    r = db.session.execute(select(Result).where(Result.period_id == period.id,
                                                Result.person_id == person_id)).scalar_one_or_none()
    if r is None:
        abort(404)
    try:
        set_feedback(period, r, request.form.get("feedback", ""), current_user.display_name)
        db.session.commit()
        flash(_("Feedback saved."), "ok")
    except KaoheError as exc:
        return _fail(period_id, exc, "#results")
    return redirect(url_for("routine.period_page", period_id=period_id) + "#results")


@bp.route("/periods/<int:period_id>/amend", methods=["POST"])
def period_amend(period_id):
    period, _unit = _admin_period(period_id)
    f = request.form
    data: dict = {}
    try:
        what = f.get("what", "")
        if what == "event":
            data = {"person_id": f.get("person_id", type=int), "indicator_code": f.get("indicator_code"),
                    "occurred_on": dt.date.fromisoformat(f.get("occurred_on") or ""),
                    "points": f.get("points", type=float), "evidence": f.get("evidence")}
        elif what == "void_event":
            data = {"event_id": f.get("event_id", type=int)}
        amend(period, what, data, f.get("reason", ""))
        db.session.commit()
        flash(_("Amendment recorded; results re-derived."), "ok")
    except ValueError:
        return _fail(period_id, Invalid({"occurred_on": [_("Give a date (YYYY-MM-DD).")]}), "#amend")
    except (KaoheError,) as exc:
        return _fail(period_id, exc, "#amend")
    return redirect(url_for("routine.period_page", period_id=period_id) + "#amend")


@bp.route("/periods/<int:period_id>/people/<int:person_id>")
def period_person(period_id, person_id):
    """The office's view of one person's result and who rated them."""
    period, unit = _admin_period(period_id)
    person = get_in_scope(Person, person_id)
    r = db.session.execute(select(Result).where(Result.period_id == period.id,
                                                Result.person_id == person.id)).scalar_one_or_none()
    named = db.session.execute(select(Rating, Person.name).join(Person, Person.id == Rating.rater_id).where(
        Rating.period_id == period.id, Rating.ratee_id == person.id,
        Rating.rater_kind.in_(("supervisor", "self")))).all()
    pol = period_policy(period)
    v = voters(period, person.id)
    names = dict(db.session.execute(select(Person.id, Person.name).where(Person.unit_id == unit.id)).all())
    revealed = []
    if pol["routine.reveal_votes_to_admin"]:
        revealed = db.session.execute(select(Rating).where(Rating.period_id == period.id,
                                                           Rating.ratee_id == person.id,
                                                           Rating.rater_kind.in_(calc.ANONYMOUS_KINDS))).scalars().all()
    # indicator codes -> names, so stored scores read as "政治素质 良", not {'political': 'liang'}
    ind_names = {it["code"]: (it.get("name") or it["code"])
                 for s in ((r.breakdown or {}).get("sections", []) if r else []) for it in s.get("items", [])}
    return render("routine/period_person.html", period=period, person=person, r=r, named=named, voters=v,
                  names=names, pol=pol, revealed=revealed, ind_names=ind_names,
                  breakdown=r.breakdown if r else None, anon=anonymous_summary(period, person.id))
