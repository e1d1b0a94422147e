"""Reviews and appeals for the deciding unit and the level above."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ...auth.roles import Perm
from ...auth.service import has_perm
from ...core.clock import local_today
from ...core.errors import KaoheError
from ...extensions import db
from ...tenancy.models import OrgNode
from ...tenancy.scope import current_scope, get_in_scope, org_filter
from ..appeals import decide_appeal, extend_appeal
from ..models import AnnualAppeal
from .common import bp, fail, need, people_by_id


@bp.route("/appeals")
def appeals():
    if not (has_perm(Perm.unit_admin) or has_perm(Perm.supervise)):
        abort(403)
    scope = current_scope()
    stmt = select(AnnualAppeal)
    if not scope.all_roots:
        stmt = stmt.where(AnnualAppeal.root_id == scope.root_id, org_filter(AnnualAppeal.org_id, scope))
    cases = list(db.session.execute(stmt.order_by(AnnualAppeal.status != "pending", AnnualAppeal.decide_by)
                                    .limit(1000)).scalars())
    people = people_by_id([c.person_id for c in cases])
    orgs = {n.id: n for n in db.session.execute(select(OrgNode).where(
        OrgNode.id.in_({c.org_id for c in cases} | {c.decider_org_id for c in cases} or {0}))).scalars()}
    deciders = {c.id: has_perm(Perm.unit_admin if c.stage == "review" else Perm.supervise, orgs.get(c.decider_org_id))
                for c in cases if orgs.get(c.decider_org_id)}
    return render_template("annual/appeals.html", cases=cases, people=people, orgs=orgs, deciders=deciders,
                           today=local_today())


@bp.route("/appeals/<int:appeal_id>/decide", methods=["POST"])
def decide(appeal_id):
    ap = get_in_scope(AnnualAppeal, appeal_id)
    decider = get_in_scope(OrgNode, ap.decider_org_id, strict_subtree=False)
    need(Perm.unit_admin if ap.stage == "review" else Perm.supervise, decider)
    try:
        if request.form.get("action") == "extend":
            extend_appeal(ap, request.form.get("note", ""))
        else:
            decide_appeal(ap, decision=request.form.get("decision", ""), note=request.form.get("note", ""),
                                  new_grade=request.form.get("new_grade") or None)
        db.session.commit()
    except KaoheError as exc:
        return fail(exc, url_for("annual.appeals"))
    flash(_("Decision recorded."), "ok")
    return redirect(url_for("annual.appeals"))
