"""The assessment office's pages for a unit: its periods, indicator
library, schemes, assignments and peer groups."""
from __future__ import annotations

import json

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from ...auth.roles import Perm
from ...auth.service import has_perm
from ...core.errors import Forbidden, Invalid, KaoheError
from ...extensions import db
from ...people.models import Person
from ...tenancy.models import OrgNode
from ...tenancy.scope import get_in_scope
from .. import calc
from ..common import live_policy, owned_by_unit, today
from ..indicators import library, save_indicator
from ..models import Assignment, PeerGroup, PeerMember, Period, Scheme, Task
from ..tasks import TALK_KINDS
from ..periods import create_period
from ..schemas import IndicatorSchema
from ..schemes import assign, save_peer_group, save_scheme
from .common import admin_units, bp, error_messages, render



@bp.route("/admin")
def admin_index():
    units = admin_units()
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
            p = create_period(unit, int(request.form.get("year") or 0), int(request.form.get("seq") or 0),
                                      request.form.get("cycle") or None)
            db.session.commit()
            flash(_("Period %(label)s created (draft).", label=p.display_label), "ok")
            return redirect(url_for("routine.period_page", period_id=p.id))
        except KaoheError as exc:
            db.session.rollback()
            errors = error_messages(exc)
        except ValueError:
            errors = {"seq": [_("Give the year and the period number.")]}
    periods = db.session.execute(select(Period).where(Period.org_id == unit.id)
                                 .order_by(Period.year.desc(), Period.seq.desc())).scalars().all()
    pol = live_policy(unit, today().year)
    counts = {
        "indicators": len(library(unit, pol)),
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
    talk_tasks = db.session.execute(select(Task, Person.name).join(Person, Person.id == Task.person_id).where(
        Task.root_id == unit.root_id, Task.org_id == unit.id, Task.kind.in_(TALK_KINDS), Task.status == "open")
        .order_by(Task.due_on, Task.id).limit(50)).all()
    return render("routine/unit.html", unit=unit, periods=periods, pol=pol, counts=counts, errors=errors,
                  year=today().year, talk_tasks=talk_tasks), 422 if errors else 200


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
                save_indicator(unit, data)
                db.session.commit()
                flash(_("Indicator %(code)s added.", code=data["code"]), "ok")
                return redirect(url_for("routine.indicators", unit_id=unit.id))
            except KaoheError as exc:
                db.session.rollback()
                errors = error_messages(exc)
            except Exception as exc:  # marshmallow ValidationError
                from marshmallow import ValidationError

                if not isinstance(exc, ValidationError):
                    raise
                errors = exc.messages
    lib = library(unit)
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
    scheme = owned_by_unit(unit, get_in_scope(Scheme, edit)) if edit else None
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
                save_scheme(unit, data, scheme, int(values.get("version") or 0) or None)
            else:
                save_scheme(unit, data)
            db.session.commit()
            flash(_("Scheme saved."), "ok")
            return redirect(url_for("routine.schemes", unit_id=unit.id))
        except KaoheError as exc:
            db.session.rollback()
            errors = error_messages(exc)
        except ValueError:
            errors = {"rater_weights": [_("Rater weights must be numbers.")]}
    rows = db.session.execute(select(Scheme).where(Scheme.org_id == unit.id).order_by(Scheme.code)).scalars().all()
    pol = live_policy(unit, today().year)
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
                  lib=library(unit, pol), sections_text=sections_text), 422 if errors else 200


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
            assign(unit, person, scheme, personal, request.form.get("letter_note") or None)
            db.session.commit()
            flash(_("Assignment saved for %(name)s.", name=person.name), "ok")
            return redirect(url_for("routine.assignments", unit_id=unit.id))
        except KaoheError as exc:
            db.session.rollback()
            errors = error_messages(exc)
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
            save_peer_group(unit, (request.form.get("name") or "").strip(),
                                    request.form.getlist("member_ids", type=int), group)
            db.session.commit()
            flash(_("Peer group saved."), "ok")
            return redirect(url_for("routine.peer_groups", unit_id=unit.id))
        except KaoheError as exc:
            db.session.rollback()
            errors = error_messages(exc)
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
