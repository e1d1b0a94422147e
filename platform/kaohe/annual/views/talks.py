"""The talks the rules demand: the list, and recording one."""
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
from ..models import AnnualTalk
from ..talks import record_talk
from .common import bp, fail, form_date, my_person, people_by_id


@bp.route("/talks", methods=["GET"])
def talks():
    me = my_person()
    scope = current_scope()
    stmt = select(AnnualTalk)
    if not scope.all_roots:
        stmt = stmt.where(AnnualTalk.root_id == scope.root_id, org_filter(AnnualTalk.org_id, scope))
    rows = list(db.session.execute(stmt.order_by(AnnualTalk.held_on.is_not(None), AnnualTalk.due_on)
                                   .limit(1000)).scalars())
    if not has_perm(Perm.unit_admin):
        rows = [t for t in rows if me is not None and t.leader_person_id == me.id]
    people = people_by_id([t.person_id for t in rows] + [t.leader_person_id for t in rows if t.leader_person_id])
    return render_template("annual/talks.html", talks=rows, people=people, today=local_today())


@bp.route("/talks/<int:talk_id>", methods=["POST"])
def talk_record(talk_id):
    t = get_in_scope(AnnualTalk, talk_id)
    me = my_person()
    unit = db.session.get(OrgNode, t.org_id)
    if not (has_perm(Perm.unit_admin, unit) or (me is not None and me.id == t.leader_person_id)):
        abort(403)
    try:
        record_talk(t, form_date("held_on") or local_today(), request.form.get("record", ""))
        db.session.commit()
    except KaoheError as exc:
        return fail(exc, url_for("annual.talks"))
    flash(_("Talk recorded."), "ok")
    return redirect(url_for("annual.talks"))
