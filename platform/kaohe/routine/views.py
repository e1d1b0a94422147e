"""Pages of routine assessment.  Staff pages (sign-in, records, self-
assessment, result) work on a phone; rater and office pages follow.  Forms
post back here, are validated by the API's schemas and services, and show
the same field messages; no page needs JavaScript."""
from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select

from ..auth.roles import Perm
from ..auth.service import current_grants, has_perm
from ..core.errors import Conflict, Forbidden, Invalid, KaoheError
from ..extensions import db
from ..jobs import queue
from ..jobs.api import job_status
from ..people.models import Person
from ..tenancy.models import OrgNode
from ..tenancy.scope import current_scope, get_in_scope
from ..web import register_page_blueprint
from ..web.forms import parse_form
from ..web.home_panels import add_panel
from ..web.i18n import pick
from ..web.nav import NavItem, add_nav
from . import calc, service
from .models import (Assignment, Attendance, Correction, Event, Indicator, PeerGroup, PeerMember, Period, Rating,
                     Result, RoutineReminder, Scheme, Task, WorkRecord)
from .schemas import CorrectionInSchema, EventInSchema, IndicatorSchema, WorkRecordInSchema

bp = Blueprint("routine", __name__, url_prefix="/routine")
register_page_blueprint(bp)


def _has_person() -> bool:
    return bool(getattr(current_user, "person_id", None))


def _admin_units() -> list[OrgNode]:
    ids = [g.org_id for g in current_grants() if g.org_id and Perm.unit_admin in _perms(g.role)]
    if not ids:
        return []
    nodes = db.session.execute(select(OrgNode).where(OrgNode.id.in_(ids))).scalars().all()
    out = []
    for n in nodes:
        if n.is_assessment_unit:
            out.append(n)
        else:
            out += db.session.execute(select(OrgNode).where(OrgNode.root_id == n.root_id,
                                                            OrgNode.path.like(n.path + "%"),
                                                            OrgNode.is_assessment_unit.is_(True))
                                      .order_by(OrgNode.path).limit(200)).scalars().all()
    return out


def _perms(role):
    from ..auth.roles import ROLE_PERMS

    return ROLE_PERMS[role]


add_nav(NavItem("routine", _l("Routine assessment"), "routine.me", Perm.self_service, 20, visible=_has_person,
                hint=_l("Sign in, work records, ratings and my results")))
add_nav(NavItem("routine_admin", _l("Assessment office"), "routine.admin_index", Perm.unit_admin, 25,
                hint=_l("Indicators, schemes, periods and results")))


def _me() -> Person:
    pid = getattr(current_user, "person_id", None)
    person = db.session.execute(select(Person).where(Person.id == pid)).scalar_one_or_none() if pid else None
    if person is None:
        abort(403, _("This account is not linked to a person on a roster."))
    return person


def _labels() -> dict:
    return {"dim": lambda c: pick(*calc.DIMENSION_LABELS.get(c, (c, c))),
            "kind_l": lambda c: pick(*calc.KIND_LABELS.get(c, (c, c))),
            "level_l": lambda c: pick(*calc.LEVEL_LABELS.get(c, (c, c))),
            "rater_l": lambda c: pick(*calc.RATER_LABELS.get(c, (c, c))),
            "flag_l": lambda c: pick(*calc.FLAG_LABELS.get(c, (c, c))),
            "LEVELS": calc.LEVELS, "GRADES": calc.GRADES,
            "allowed_next": lambda st: service.TRANSITIONS.get(st, ())}


def render(template, **ctx):
    return render_template(template, **_labels(), **ctx)


def _error_messages(exc: KaoheError) -> dict:
    errs = dict(exc.errors or {})
    errs.setdefault("_", [exc.message])
    return errs


def _open_periods(unit_id: int) -> list[Period]:
    return list(db.session.execute(select(Period).where(Period.org_id == unit_id, Period.state != "draft")
                                   .order_by(Period.year.desc(), Period.seq.desc()).limit(6)).scalars())


# -- staff: my routine page ------------------------------------------------------------

@bp.route("/")
def me():
    person = _me()
    today = service.today()
    att = db.session.execute(select(Attendance).where(Attendance.person_id == person.id,
                                                      Attendance.day == today)).scalar_one_or_none()
    periods = _open_periods(person.unit_id)
    current = next((p for p in periods if p.state in ("open", "rating")), None)
    todo = []
    if current is not None:
        todo = [t for t in service.todo_for(current, person.id)]
    published = [p for p in periods if p.state in ("publicised", "final")]
    corrections = db.session.execute(select(Correction).where(Correction.person_id == person.id)
                                     .order_by(Correction.created_at.desc()).limit(5)).scalars().all()
    waiting = db.session.execute(select(Correction, Person.name).join(Person, Person.id == Correction.person_id)
                                 .where(Correction.status == "pending", Person.supervisor_id == person.id)
                                 .order_by(Correction.day)).all()
    tasks = service.my_tasks(person.id, current_user.id)
    reminders = db.session.execute(select(RoutineReminder).where(
        RoutineReminder.person_id == person.id, RoutineReminder.day >= today - dt.timedelta(days=7))
        .order_by(RoutineReminder.day.desc()).limit(10)).scalars().all()
    return render("routine/me.html", person=person, att=att, current=current, todo=todo, published=published,
                  corrections=corrections, waiting=waiting, tasks=tasks, reminders=reminders, today=today)


@bp.route("/sign", methods=["POST"])
def sign():
    person = _me()
    what = request.form.get("what")
    if what not in ("in", "out"):
        abort(400)
    try:
        att = service.sign(person, what)
        db.session.commit()
        t = (att.sign_in_at if what == "in" else att.sign_out_at).astimezone(service._tz())
        flash((_("Signed in at %(t)s.", t=t.strftime("%H:%M")) if what == "in" else _("Signed out at %(t)s.", t=t.strftime("%H:%M"))),
              "ok")
    except KaoheError as exc:
        db.session.rollback()
        flash(" ".join(m for v in exc.errors.values() for m in (v if isinstance(v, list) else [str(v)])) or exc.message,
              "error")
    return redirect(url_for("routine.me"))


@bp.route("/correction", methods=["GET", "POST"])
def correction():
    person = _me()
    errors, values = {}, {"day": request.args.get("day", "")}
    if request.method == "POST":
        values = request.form.to_dict()
        raw = dict(values)
        for k in ("sign_in_at", "sign_out_at"):
            if raw.get(k):
                raw[k] = f"{raw.get('day')}T{raw[k]}:00+08:00"
        data, errors = parse_form(CorrectionInSchema(), raw)
        if data is not None:
            try:
                service.request_correction(person, data["day"], data["reason"], data.get("sign_in_at"),
                                           data.get("sign_out_at"))
                db.session.commit()
                flash(_("Sent to your supervisor for approval. Nothing changes until it is approved."), "ok")
                return redirect(url_for("routine.me"))
            except KaoheError as exc:
                db.session.rollback()
                errors = _error_messages(exc)
    return render("routine/correction.html", errors=errors, values=values), 422 if errors else 200


@bp.route("/corrections/<int:correction_id>/decide", methods=["POST"])
def correction_decide(correction_id):
    c = get_in_scope(Correction, correction_id)
    approve = request.form.get("approve") == "1"
    try:
        service.decide_correction(c, _me(), approve, request.form.get("note"), request.form.get("version", type=int))
        db.session.commit()
        flash(_("Approved: the attendance was corrected.") if approve else _("Rejected."), "ok")
    except KaoheError as exc:
        db.session.rollback()
        flash("; ".join(m for v in exc.errors.values() for m in (v if isinstance(v, list) else [str(v)]))
              or exc.message, "error")
    return redirect(url_for("routine.me"))


# -- staff: work records -------------------------------------------------------------------

@bp.route("/periods/<int:period_id>/records", methods=["GET", "POST"])
def records(period_id):
    period = get_in_scope(Period, period_id)
    person = _me()
    errors, values = {}, {}
    if request.method == "POST":
        values = request.form.to_dict()
        data, errors = parse_form(WorkRecordInSchema(), values)
        if data is not None:
            try:
                service.save_work_record(period, person, data["on_date"], data["done"], data.get("plan"),
                                         data["kind"], data.get("version"))
                db.session.commit()
                flash(_("Work record saved."), "ok")
                return redirect(url_for("routine.records", period_id=period.id))
            except KaoheError as exc:
                db.session.rollback()
                errors = _error_messages(exc)
    rows = db.session.execute(select(WorkRecord).where(WorkRecord.period_id == period.id,
                                                       WorkRecord.person_id == person.id)
                              .order_by(WorkRecord.on_date)).scalars().all()
    months = sorted(service._months_so_far(period))
    by_month = {r.on_date: r for r in rows if r.kind == "monthly"}
    daily = [r for r in rows if r.kind == "daily"]
    editable = period.state in service.RECORD_STATES
    pol = service.period_policy(period)
    return render("routine/records.html", period=period, months=months, by_month=by_month, daily=daily,
                  errors=errors, values=values, editable=editable, today=service.today(),
                  daily_required=pol["routine.daily_log_required"]), 422 if errors else 200


# -- raters: rating form ----------------------------------------------------------------------

@bp.route("/periods/<int:period_id>/rate/<int:person_id>/<kind>", methods=["GET", "POST"])
def rate(period_id, person_id, kind):
    period = get_in_scope(Period, period_id)
    rater = _me()
    if kind not in calc.RATER_KINDS:
        abort(404)
    ratee = get_in_scope(Person, person_id)
    part = service.participant(period, ratee.id)
    if part is None:
        abort(404)
    idx = service.relation_index(period, only=(rater.id, ratee.id))
    rule = idx.check(rater.id, ratee.id, kind)
    if rule is not None:
        from .relations import RULES

        raise Forbidden(RULES[rule])
    inds = service.rated_indicators(period, part, kind)
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
            service.submit_rating(period, rater, ratee.id, kind, scores, comment=comment,
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
            errors = _error_messages(exc)
    records = []
    if kind == "supervisor":   # 审核评鉴: the rater sees what the person recorded
        records = db.session.execute(select(WorkRecord).where(WorkRecord.period_id == period.id,
                                                              WorkRecord.person_id == ratee.id)
                                     .order_by(WorkRecord.on_date)).scalars().all()
    return render("routine/rate.html", period=period, ratee=ratee, kind=kind, inds=inds, existing=existing,
                  records=records,
                  values=values, comment=comment, errors=errors, conflict=conflict,
                  anonymous=kind in calc.ANONYMOUS_KINDS,
                  editable=period.state in service.RATING_STATES), 409 if conflict else 422 if errors else 200


def _num(v: str):
    try:
        return float(v)
    except ValueError:
        return v


# -- staff: my result -------------------------------------------------------------------------

@bp.route("/periods/<int:period_id>/result")
def my_result(period_id):
    period = get_in_scope(Period, period_id)
    person = _me()
    if period.state not in ("publicised", "final"):
        abort(403, _("Results are shown once the period is published (公示)."))
    r = db.session.execute(select(Result).where(Result.period_id == period.id,
                                                Result.person_id == person.id)).scalar_one_or_none()
    named = db.session.execute(select(Rating).where(Rating.period_id == period.id, Rating.ratee_id == person.id,
                                                    Rating.rater_kind.in_(("supervisor", "self")))).scalars().all()
    comments = [(x.rater_kind, x.comment) for x in named if x.comment and (x.comment_visible or x.rater_kind == "self")]
    record_comments = db.session.execute(select(WorkRecord.on_date, WorkRecord.supervisor_comment).where(
        WorkRecord.period_id == period.id, WorkRecord.person_id == person.id,
        WorkRecord.supervisor_comment.is_not(None), WorkRecord.comment_visible.is_(True))).all()
    breakdown = service.public_breakdown(period, r.breakdown) if r else None
    return render("routine/result.html", period=period, person=person, r=r, breakdown=breakdown,
                  comments=comments, record_comments=record_comments,
                  anon=service.anonymous_summary(period, person.id),
                  pol=service.period_policy(period))


# -- the assessment office --------------------------------------------------------------------

@bp.route("/admin")
def admin_index():
    units = _admin_units()
    if len(units) == 1:
        return redirect(url_for("routine.unit_page", unit_id=units[0].id))
    return render("routine/admin_index.html", units=units)


def _admin_unit(unit_id: int) -> OrgNode:
    unit = get_in_scope(OrgNode, unit_id)
    if not has_perm(Perm.unit_admin, unit):
        raise Forbidden()
    if not unit.is_assessment_unit:
        abort(404)
    return unit


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
def unit_page(unit_id):
    unit = _admin_unit(unit_id)
    errors = {}
    if request.method == "POST":
        try:
            p = service.create_period(unit, int(request.form.get("year") or 0), int(request.form.get("seq") or 0),
                                      request.form.get("cycle") or None)
            db.session.commit()
            flash(_("Period %(label)s created (draft).", label=p.label), "ok")
            return redirect(url_for("routine.period_page", period_id=p.id))
        except KaoheError as exc:
            db.session.rollback()
            errors = _error_messages(exc)
        except ValueError:
            errors = {"seq": [_("Give the year and the period number.")]}
    periods = db.session.execute(select(Period).where(Period.org_id == unit.id)
                                 .order_by(Period.year.desc(), Period.seq.desc())).scalars().all()
    pol = service.live_policy(unit, service.today().year)
    counts = {
        "indicators": len(service.library(unit, pol)),
        "schemes": db.session.execute(select(func.count()).select_from(Scheme).where(Scheme.org_id == unit.id)).scalar(),
        "groups": db.session.execute(select(func.count()).select_from(PeerGroup).where(PeerGroup.org_id == unit.id)).scalar(),
        "assigned": db.session.execute(select(func.count()).select_from(Assignment).where(Assignment.org_id == unit.id)).scalar(),
        "people": db.session.execute(select(func.count()).select_from(Person).where(
            Person.unit_id == unit.id, Person.active.is_(True))).scalar(),
    }
    # Opening a period gives everyone without an explicit assignment the
    # scheme of their job category (or the general one): count those too.
    categories = set(db.session.execute(select(Scheme.job_category).where(
        Scheme.org_id == unit.id, Scheme.active.is_(True))).scalars())
    covered = select(func.count()).select_from(Person).where(Person.unit_id == unit.id, Person.active.is_(True))
    if "general" not in categories:
        covered = covered.where(or_(Person.job_category.in_(categories), Person.id.in_(
            select(Assignment.person_id).where(Assignment.org_id == unit.id))))
    counts["covered"] = db.session.execute(covered).scalar()
    return render("routine/unit.html", unit=unit, periods=periods, pol=pol, counts=counts, errors=errors,
                  year=service.today().year), 422 if errors else 200


@bp.route("/units/<int:unit_id>/indicators", methods=["GET", "POST"])
def indicators(unit_id):
    unit = _admin_unit(unit_id)
    errors, values = {}, {}
    if request.method == "POST":
        values = request.form.to_dict()
        raw = {k: v for k, v in values.items() if v != ""}
        if raw.get("kind") == "graded":
            raw["levels"] = {lv: raw.pop(f"level_{lv}", None) for lv in calc.LEVELS}
        if raw.get("formula"):
            try:
                raw["formula"] = json.loads(raw["formula"])
            except ValueError:
                errors = {"formula": [_("The formula must be JSON, e.g. {\"type\": \"ratio\", \"target\": 20}.")]}
        for k in list(raw):
            if k.startswith("level_"):
                raw.pop(k)
        if not errors:
            try:
                data = IndicatorSchema().load({k: v for k, v in raw.items() if k in IndicatorSchema().fields})
                service.save_indicator(unit, data)
                db.session.commit()
                flash(_("Indicator %(code)s added.", code=data["code"]), "ok")
                return redirect(url_for("routine.indicators", unit_id=unit.id))
            except KaoheError as exc:
                db.session.rollback()
                errors = _error_messages(exc)
            except Exception as exc:  # marshmallow ValidationError
                from marshmallow import ValidationError

                if not isinstance(exc, ValidationError):
                    raise
                errors = exc.messages
    lib = service.library(unit)
    return render("routine/indicators.html", unit=unit, lib=lib, errors=errors, values=values,
                  kinds=calc.KINDS, dims=calc.DIMENSIONS), 422 if errors else 200


def parse_sections(text: str) -> list[dict]:
    """One section per line: code | name | points or weight | indicators, comma separated | flags
    (flags: personal, extra, raters=supervisor:0.7/self:0.3)."""
    out = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        cols = [c.strip() for c in line.split("|")]
        cols += [""] * (5 - len(cols))
        code, name, amount, inds, flags = cols[:5]
        sec = {"code": code, "name": name, "indicators": [i.strip() for i in inds.replace("，", ",").split(",")
                                                          if i.strip()]}
        for f in flags.split():
            if f == "personal":
                sec["personal"] = True
            elif f == "extra":
                sec["extra"] = True
            elif f.startswith("raters="):
                try:
                    sec["raters"] = {k: float(v) for k, v in (x.split(":") for x in f[7:].split("/"))}
                except ValueError:
                    raise Invalid({"sections": [f"Line {n}: raters=kind:weight/kind:weight"]})
        if amount:
            try:
                sec["amount"] = float(amount.rstrip("%")) / (100 if amount.endswith("%") else 1)
            except ValueError:
                raise Invalid({"sections": [f"Line {n}: '{amount}' is not a number."]})
        out.append(sec)
    return out


def sections_text(sections: list[dict], basis: str) -> str:
    lines = []
    for s in sections:
        amount = s.get("points") if basis == "points" else s.get("weight")
        amount_s = "" if amount is None else (f"{amount:g}" if basis == "points" else f"{amount * 100:g}%")
        flags = [f for f in ("personal", "extra") if s.get(f)]
        if s.get("raters"):
            flags.append("raters=" + "/".join(f"{k}:{v:g}" for k, v in s["raters"].items()))
        lines.append(" | ".join([s["code"], s.get("name") or "", amount_s, ", ".join(s.get("indicators") or []),
                                 " ".join(flags)]))
    return "\n".join(lines)


@bp.route("/units/<int:unit_id>/schemes", methods=["GET", "POST"])
def schemes(unit_id):
    unit = _admin_unit(unit_id)
    errors, values = {}, {}
    edit = request.args.get("edit", type=int)
    scheme = service.owned_by_unit(unit, get_in_scope(Scheme, edit)) if edit else None
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            basis = values.get("basis")
            secs = parse_sections(values.get("sections", ""))
            for s in secs:
                amt = s.pop("amount", None)
                if not s.get("extra"):
                    s["points" if basis == "points" else "weight"] = amt
            weights = {k: float(values.get(f"w_{k}") or 0) for k in calc.RATER_KINDS}
            data = {"code": values.get("code", "").strip(), "name": values.get("name", "").strip(),
                    "job_category": values.get("job_category") or "general", "basis": basis,
                    "total": float(values.get("total") or 100), "sections": secs, "rater_weights": weights,
                    "leader_score_mode": values.get("leader_score_mode") or None,
                    "democratic_scope": values.get("democratic_scope") or "department"}
            if not data["code"] or not data["name"]:
                raise Invalid({"code": [_("Code and name are required.")]})
            if scheme is not None:
                service.save_scheme(unit, data, scheme, int(values.get("version") or 0) or None)
            else:
                service.save_scheme(unit, data)
            db.session.commit()
            flash(_("Scheme saved."), "ok")
            return redirect(url_for("routine.schemes", unit_id=unit.id))
        except KaoheError as exc:
            db.session.rollback()
            errors = _error_messages(exc)
        except ValueError:
            errors = {"rater_weights": [_("Rater weights must be numbers.")]}
    rows = db.session.execute(select(Scheme).where(Scheme.org_id == unit.id).order_by(Scheme.code)).scalars().all()
    pol = service.live_policy(unit, service.today().year)
    if scheme is not None and not values:
        values = {"code": scheme.code, "name": scheme.name, "job_category": scheme.job_category, "basis": scheme.basis,
                  "total": scheme.total, "sections": sections_text(scheme.sections, scheme.basis),
                  "leader_score_mode": scheme.leader_score_mode or "", "democratic_scope": scheme.democratic_scope,
                  "version": scheme.version,
                  **{f"w_{k}": v for k, v in (scheme.rater_weights or pol["routine.rater_weights"]).items()}}
    if not values:
        values = {f"w_{k}": v for k, v in pol["routine.rater_weights"].items()}
        values.update(basis="points", total=100)
    return render("routine/schemes.html", unit=unit, rows=rows, errors=errors, values=values, scheme=scheme,
                  lib=service.library(unit, pol), sections_text=sections_text), 422 if errors else 200


@bp.route("/units/<int:unit_id>/assignments", methods=["GET", "POST"])
def assignments(unit_id):
    unit = _admin_unit(unit_id)
    errors = {}
    if request.method == "POST":
        try:
            person = get_in_scope(Person, request.form.get("person_id"))
            scheme = get_in_scope(Scheme, request.form.get("scheme_id"))
            personal = []
            for n, line in enumerate((request.form.get("personal") or "").splitlines(), start=1):
                if not line.strip():
                    continue
                cols = [c.strip() for c in line.split("|")]
                if len(cols) < 4:
                    raise Invalid({"personal": [f"Line {n}: code | name | section | max points"]})
                try:
                    mx = float(cols[3])
                except ValueError:
                    raise Invalid({"personal": [f"Line {n}: '{cols[3]}' is not a number."]})
                personal.append({"code": cols[0], "name": cols[1], "section": cols[2], "kind": "scored",
                                 "dimension": cols[4] if len(cols) > 4 and cols[4] else "ji", "max": mx})
            service.assign(unit, person, scheme, personal, request.form.get("letter_note") or None)
            db.session.commit()
            flash(_("Assignment saved for %(name)s.", name=person.name), "ok")
            return redirect(url_for("routine.assignments", unit_id=unit.id))
        except KaoheError as exc:
            db.session.rollback()
            errors = _error_messages(exc)
    people = db.session.execute(select(Person, OrgNode.name).join(OrgNode, OrgNode.id == Person.org_id).where(
        Person.unit_id == unit.id, Person.active.is_(True)).order_by(OrgNode.path, Person.staff_no)).all()
    schemes_ = db.session.execute(select(Scheme).where(Scheme.org_id == unit.id).order_by(Scheme.code)).scalars().all()
    assigned = {a.person_id: a for a in db.session.execute(select(Assignment).where(
        Assignment.org_id == unit.id)).scalars()}
    return render("routine/assignments.html", unit=unit, people=people, schemes=schemes_, assigned=assigned,
                  errors=errors, scheme_by_id={s.id: s for s in schemes_}), 422 if errors else 200


@bp.route("/units/<int:unit_id>/peer-groups", methods=["GET", "POST"])
def peer_groups(unit_id):
    unit = _admin_unit(unit_id)
    errors = {}
    if request.method == "POST":
        try:
            gid = request.form.get("group_id", type=int)
            group = get_in_scope(PeerGroup, gid) if gid else None
            service.save_peer_group(unit, (request.form.get("name") or "").strip(),
                                    request.form.getlist("member_ids", type=int), group)
            db.session.commit()
            flash(_("Peer group saved."), "ok")
            return redirect(url_for("routine.peer_groups", unit_id=unit.id))
        except KaoheError as exc:
            db.session.rollback()
            errors = _error_messages(exc)
    groups = db.session.execute(select(PeerGroup).where(PeerGroup.org_id == unit.id)
                                .order_by(PeerGroup.name)).scalars().all()
    members: dict[int, list] = {}
    for gid, name in db.session.execute(select(PeerMember.group_id, Person.name).join(
            Person, Person.id == PeerMember.person_id).where(PeerMember.org_id == unit.id)):
        members.setdefault(gid, []).append(name)
    people = db.session.execute(select(Person, OrgNode.name).join(OrgNode, OrgNode.id == Person.org_id).where(
        Person.unit_id == unit.id, Person.active.is_(True)).order_by(OrgNode.path, Person.staff_no)).all()
    return render("routine/peer_groups.html", unit=unit, groups=groups, members=members, people=people,
                  errors=errors), 422 if errors else 200


# -- a period, for the office --------------------------------------------------------------------

def _admin_period(period_id: int) -> tuple[Period, OrgNode]:
    period = get_in_scope(Period, period_id)
    unit = db.session.get(OrgNode, period.org_id)
    if not has_perm(Perm.unit_admin, unit):
        raise Forbidden()
    return period, unit


@bp.route("/periods/<int:period_id>", methods=["GET"])
def period_page(period_id):
    period, unit = _admin_period(period_id)
    board = service.completeness(period) if period.state != "draft" else None
    results = db.session.execute(select(Result, Person.name, OrgNode.name).join(
        Person, Person.id == Result.person_id).join(OrgNode, OrgNode.id == Result.org_id).where(
        Result.period_id == period.id).order_by(Result.rank, Person.staff_no)).all()
    events = db.session.execute(select(Event, Person.name).join(Person, Person.id == Event.person_id).where(
        Event.period_id == period.id).order_by(Event.occurred_on.desc(), Event.id.desc())).all()
    parts = service.participants(period) if period.state != "draft" else []
    names = dict(db.session.execute(select(Person.id, Person.name).where(Person.unit_id == unit.id)).all())
    event_inds = [i for i in (period.frozen or {}).get("library", {}).values() if i["kind"] in calc.EVENT_KINDS]
    job_id = request.args.get("job")
    job = job_status(job_id) if job_id else None
    from .models import Amendment

    amendments = db.session.execute(select(Amendment).where(Amendment.period_id == period.id)
                                    .order_by(Amendment.id.desc())).scalars().all()
    pol = service.period_policy(period)
    voters = service.voters(period)
    export_url = None
    if results:
        try:
            export_url = url_for("supervision.export_start", kind="routine.results", org_id=unit.id,
                                 year=period.year, period=f"{period.cycle}-{period.seq}")
        except Exception:  # the supervision slice is not installed
            export_url = None
    return render("routine/period.html", export_url=export_url, period=period, unit=unit, board=board, results=results, events=events,
                  parts=parts, names=names, event_inds=event_inds, job=job, amendments=amendments, pol=pol,
                  blockers=service.publish_blockers(period) if period.state == "review" else [],
                  voters=voters, errors=_pop_errors(), today=service.today())


def _pop_errors() -> dict:
    from flask import session

    return session.pop("routine_errors", {}) or {}


def _fail(period_id: int, exc: KaoheError, anchor: str = ""):
    from flask import session

    db.session.rollback()
    session["routine_errors"] = _error_messages(exc)
    flash(exc.message, "error")
    return redirect(url_for("routine.period_page", period_id=period_id) + anchor)


@bp.route("/periods/<int:period_id>/transition", methods=["POST"])
def period_transition(period_id):
    period, _unit = _admin_period(period_id)
    try:
        service.transition(period, request.form.get("to", ""), request.form.get("version", type=int))
        db.session.commit()
        flash(_("The period is now: %(s)s.", s=pick(*service.STATE_LABELS[period.state])), "ok")
    except KaoheError as exc:
        return _fail(period_id, exc)
    return redirect(url_for("routine.period_page", period_id=period_id))


@bp.route("/periods/<int:period_id>/compute", methods=["POST"])
def period_compute(period_id):
    period, _unit = _admin_period(period_id)
    try:
        service.require_state(period, service.COMPUTE_STATES[:2], "period", "Computing")
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
        service.record_event(period, data["person_id"], data["indicator_code"], data["occurred_on"],
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
        service.void_event(period, ev, request.form.get("reason", ""))
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
        n = service.import_metrics(period, service.read_metrics_xlsx(f.stream), f.filename)
        db.session.commit()
        flash(_("%(n)s values imported.", n=n), "ok")
    except KaoheError as exc:
        return _fail(period_id, exc, "#metrics")
    return redirect(url_for("routine.period_page", period_id=period_id) + "#metrics")


@bp.route("/periods/<int:period_id>/ties", methods=["POST"])
def period_tie(period_id):
    period, _unit = _admin_period(period_id)
    try:
        service.resolve_tie(period, request.form.get("group", ""), request.form.getlist("chosen", type=int),
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
        service.set_feedback(period, r, request.form.get("feedback", ""), current_user.display_name)
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
        service.amend(period, what, data, f.get("reason", ""))
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
    pol = service.period_policy(period)
    v = service.voters(period, person.id)
    names = dict(db.session.execute(select(Person.id, Person.name).where(Person.unit_id == unit.id)).all())
    revealed = []
    if pol["routine.reveal_votes_to_admin"]:
        revealed = db.session.execute(select(Rating).where(Rating.period_id == period.id,
                                                           Rating.ratee_id == person.id,
                                                           Rating.rater_kind.in_(calc.ANONYMOUS_KINDS))).scalars().all()
    return render("routine/period_person.html", period=period, person=person, r=r, named=named, voters=v,
                  names=names, pol=pol, revealed=revealed,
                  breakdown=r.breakdown if r else None, anon=service.anonymous_summary(period, person.id))


# -- home panel ------------------------------------------------------------------------------

@add_panel
def _panel():
    if not current_user.is_authenticated or not getattr(current_user, "person_id", None):
        return None
    try:
        person = db.session.execute(select(Person).where(Person.id == current_user.person_id)).scalar_one_or_none()
        if person is None:
            return None
        today = service.today()
        att = db.session.execute(select(Attendance).where(Attendance.person_id == person.id,
                                                          Attendance.day == today)).scalar_one_or_none()
        current = next((p for p in _open_periods(person.unit_id) if p.state in ("open", "rating")), None)
        owed = [t for t in service.todo_for(current, person.id) if not t["done"]] if current else []
        reminders = db.session.execute(select(RoutineReminder).where(
            RoutineReminder.person_id == person.id, RoutineReminder.day == today)).scalars().all()
        tasks = service.my_tasks(person.id, current_user.id)
        html = render_template("routine/_panel.html", att=att, current=current, owed=owed, reminders=reminders,
                               tasks=tasks)
        return {"key": "routine", "title": _("Routine assessment (平时考核)"), "html": html}
    except Exception:  # a panel must never break the home page
        import logging

        logging.getLogger("kaohe.routine").exception("routine panel failed")
        return None


@add_panel
def _admin_panel():
    """The office's home: the periods under way in each unit it runs, with
    what is still missing, and the tasks addressed to the office."""
    if not current_user.is_authenticated or not has_perm(Perm.unit_admin):
        return None
    try:
        units = [u for u in _admin_units()][:6]
        if not units:
            return None
        ids = [u.id for u in units]
        running = db.session.execute(select(Period).where(
            Period.org_id.in_(ids), Period.state.in_(("open", "rating", "review", "publicised")))
            .order_by(Period.org_id, Period.year, Period.seq)).scalars().all()
        rows = []
        for p in running:
            unit = next(u for u in units if u.id == p.org_id)
            totals = service.completeness(p)["totals"] if p.state in ("open", "rating") else None
            rows.append({"unit": unit, "period": p, "totals": totals})
        tasks = service.my_tasks(None, None, admin_org_ids=ids)
        html = render_template("routine/_admin_panel.html", rows=rows, units=units, tasks=tasks[:10],
                               more_tasks=max(0, len(tasks) - 10))
        return {"key": "routine-admin", "title": _("Assessment office"), "html": html}
    except Exception:  # a panel must never break the home page
        import logging

        logging.getLogger("kaohe.routine").exception("routine admin panel failed")
        return None
