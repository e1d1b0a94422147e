"""Special assessments: campaigns and their participants' results."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ...auth.roles import Perm
from ...auth.service import current_grants, has_perm
from ...core.errors import Invalid, KaoheError
from ...extensions import db
from ...people.models import Person
from ...tenancy.models import OrgNode
from ...tenancy.scope import current_scope, get_in_scope, org_filter
from ..models import SpecialCampaign, SpecialResult
from ..specials import close_campaign, create_campaign, set_special_result
from .common import bp, fail, form_date, people_by_id


@bp.route("/specials", methods=["GET", "POST"])
def specials():
    nodes = [n for n in _granted_nodes() if has_perm(Perm.unit_admin, n) or has_perm(Perm.supervise, n)]
    if not nodes and not current_scope().all_roots:
        abort(403)
    if request.method == "POST":
        org = get_in_scope(OrgNode, request.form.get("org_id"))
        if not (has_perm(Perm.unit_admin, org) or has_perm(Perm.supervise, org)):
            abort(403)
        try:
            starts, ends = form_date("starts_on"), form_date("ends_on")
            if not starts or not ends:
                raise Invalid({"starts_on": [_("The window needs a start and an end.")]})
            c = create_campaign(org, name=request.form.get("name", ""), year=starts.year,
                                        kind=request.form.get("kind", "other"),
                                        result_type=request.form.get("result_type", ""), starts_on=starts,
                                        ends_on=ends, description=request.form.get("description") or None)
            db.session.commit()
        except KaoheError as exc:
            return fail(exc, url_for("annual.specials"))
        flash(_("Special assessment created."), "ok")
        return redirect(url_for("annual.special", campaign_id=c.id))
    scope = current_scope()
    stmt = select(SpecialCampaign)
    if not scope.all_roots:
        stmt = stmt.where(SpecialCampaign.root_id == scope.root_id, org_filter(SpecialCampaign.org_id, scope))
    camps = list(db.session.execute(stmt.order_by(SpecialCampaign.year.desc(), SpecialCampaign.id.desc())
                                    .limit(500)).scalars())
    orgs = {n.id: n for n in db.session.execute(select(OrgNode).where(
        OrgNode.id.in_({c.org_id for c in camps} or {0}))).scalars()}
    return render_template("annual/specials.html", camps=camps, nodes=nodes, orgs=orgs)


def _granted_nodes() -> list[OrgNode]:
    ids = [g.org_id for g in current_grants() if g.org_id]
    if not ids:
        return []
    return list(db.session.execute(select(OrgNode).where(OrgNode.id.in_(ids))).scalars())


@bp.route("/specials/<int:campaign_id>", methods=["GET", "POST"])
def special(campaign_id):
    c = get_in_scope(SpecialCampaign, campaign_id)
    org = db.session.get(OrgNode, c.org_id)
    can = has_perm(Perm.unit_admin, org) or has_perm(Perm.supervise, org)
    if request.method == "POST":
        if not can:
            abort(403)
        try:
            if request.form.get("action") == "close":
                close_campaign(c)
            else:
                person = get_in_scope(Person, request.form.get("person_id"))
                def num(name):
                    v = request.form.get(name)
                    if v in (None, ""):
                        return None
                    try:
                        return float(v)
                    except ValueError:
                        raise Invalid({name: [_("Enter a number.")]})
                set_special_result(c, person, grade=request.form.get("grade") or None, points=num("points"),
                                           score=num("score"), comment=request.form.get("comment") or None)
            db.session.commit()
        except KaoheError as exc:
            return fail(exc, url_for("annual.special", campaign_id=c.id))
        flash(_("Saved."), "ok")
        return redirect(url_for("annual.special", campaign_id=c.id))
    results = list(db.session.execute(select(SpecialResult).where(SpecialResult.campaign_id == c.id)).scalars())
    people = people_by_id([r.person_id for r in results])
    candidates = list(db.session.execute(select(Person).where(
        Person.root_id == c.root_id, Person.active.is_(True),
        Person.unit_id.in_(select(OrgNode.id).where(OrgNode.path.like(org.path + "%"))))
        .order_by(Person.unit_id, Person.staff_no).limit(500)).scalars()) if can else []
    return render_template("annual/special.html", c=c, org=org, results=results, people=people,
                           candidates=candidates, can=can)
