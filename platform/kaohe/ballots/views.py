"""Pages of the democratic evaluation: the admin's sessions and printable
slips (login), and the voter's phone page (no account: the one-time code is
the only credential; works without JavaScript)."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..auth.roles import Perm
from ..auth.service import has_perm
from ..core.clock import local_today, tz
from ..core.errors import Forbidden, KaoheError
from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from ..tenancy.scope import Scope, apply_scope, get_in_scope
from ..web import add_org_links, register_page_blueprint, register_public_blueprint
from . import service
from .models import GRADES, BallotSession
from .qr import qr_svg

bp = Blueprint("ballots", __name__, url_prefix="/ballots")
vote_bp = Blueprint("ballots_vote", __name__, url_prefix="/vote")


def _unit(org_id) -> OrgNode:
    node = get_in_scope(OrgNode, org_id)
    if not node.is_assessment_unit:
        abort(404)
    if not has_perm(Perm.unit_admin, node):
        raise Forbidden()
    return node


def _names(ids) -> dict[int, Person]:
    if not ids:
        return {}
    return {p.id: p for p in db.session.execute(select(Person).where(Person.id.in_([int(i) for i in ids]))).scalars()}


def _vote_url(s: BallotSession, code: str | None = None) -> str:
    return url_for("ballots_vote.vote", root_id=s.root_id, key=s.key, code=code, _external=True)


def _slips(s: BallotSession, unit: OrgNode, codes: list[str]):
    slips = [{"code": c, "url": _vote_url(s, c), "qr": qr_svg(_vote_url(s, c))} for c in codes]
    return render_template("ballots/slips.html", s=s, unit=unit, slips=slips, plain_url=_vote_url(s))


def _parse_local(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat((value or "").strip()).replace(tzinfo=tz())
    except ValueError:
        return None


@bp.route("/unit/<int:org_id>", methods=["GET", "POST"])
def unit_page(org_id):
    unit = _unit(org_id)
    errors: dict = {}
    form = request.form
    if request.method == "POST":
        closes_at = _parse_local(form.get("closes_at", ""))
        try:
            s, codes = service.open_session(unit, year=int(form.get("year") or 0), voters=int(form.get("voters") or 0),
                                            closes_at=closes_at, title=form.get("title"))
            db.session.commit()
            return _slips(s, unit, codes)
        except ValueError:
            db.session.rollback()
            errors = {"voters": [_("Enter whole numbers.")]}
        except KaoheError as exc:
            db.session.rollback()
            errors = exc.errors or {"_": [exc.message]}
    sessions = service.sessions_of(unit)
    for s in sessions:
        if s.status == "open" and not service.is_open(s):
            service.close(s, unit, reason="time")
            db.session.commit()
    default_close = (dt.datetime.now(tz()) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    return render_template("ballots/unit.html", unit=unit, sessions=sessions, errors=errors, form=form,
                           year=local_today().year, default_close=default_close,
                           people=service.candidates(unit)), (422 if errors else 200)


@bp.route("/session/<int:session_id>", methods=["GET", "POST"])
def session_page(session_id):
    s = get_in_scope(BallotSession, session_id)
    unit = _unit(s.org_id)
    errors: dict = {}
    if request.method == "POST":
        try:
            if request.form.get("action") == "close":
                service.close(s, unit)
                db.session.commit()
                flash(_("The session is closed."), "success")
                return redirect(url_for("ballots.session_page", session_id=s.id))
            codes = service.issue_codes(s, int(request.form.get("voters") or 0))
            db.session.commit()
            return _slips(s, unit, codes)
        except ValueError:
            db.session.rollback()
            errors = {"voters": [_("Enter whole numbers.")]}
        except KaoheError as exc:
            db.session.rollback()
            errors = exc.errors or {"_": [exc.message]}
    if s.status == "open" and not service.is_open(s):
        service.close(s, unit, reason="time")
        db.session.commit()
    result = service.visible_result(s, unit)
    return render_template("ballots/session.html", s=s, unit=unit, errors=errors, result=result,
                           names=_names(s.candidate_ids), grades=GRADES, threshold=service.min_ballots(unit, s.year),
                           codes_left=service.codes_left(s), vote_url=_vote_url(s)), (422 if errors else 200)


def _org_links(node):
    if not node.is_assessment_unit or not has_perm(Perm.unit_admin, node):
        return []
    return [{"url": url_for("ballots.unit_page", org_id=node.id), "label": _("Democratic evaluation")}]


add_org_links(_org_links)
register_page_blueprint(bp)


# -- the voter's phone page (public) -----------------------------------------------------

def _public_session(root_id: int, key: str) -> tuple[BallotSession, OrgNode]:
    """Find the session by its public key inside the province named in the
    address, then narrow the request's scope to the session's unit."""
    apply_scope(Scope.province(root_id, label="ballot"))
    s = db.session.execute(select(BallotSession).where(BallotSession.root_id == root_id,
                                                       BallotSession.key == key)).scalar_one_or_none()
    if s is None:
        abort(404)
    unit = db.session.get(OrgNode, s.org_id)
    apply_scope(Scope.for_paths(root_id, [unit.path], label="ballot"))
    return s, unit


def _client() -> str:
    return request.remote_addr or "?"


@vote_bp.route("/<int:root_id>/<key>", methods=["GET", "POST"])
def vote(root_id, key):
    s, unit = _public_session(root_id, key)
    names = _names(s.candidate_ids)
    people = [names[int(i)] for i in s.candidate_ids if int(i) in names]
    ctx = {"s": s, "unit": unit, "people": people, "grades": GRADES, "errors": {}, "choices": {}}
    if not service.is_open(s):
        return render_template("ballots/vote.html", state="closed", **ctx)
    code = (request.values.get("code") or "").strip()
    if request.method == "POST":
        choices = {int(p.id): request.form.get(f"p{p.id}") for p in people}
        try:
            service.cast(s, code, choices, _client())
            db.session.commit()
            return render_template("ballots/vote.html", state="done", **ctx)
        except KaoheError as exc:
            db.session.commit()       # only the failure counter was written
            ctx["errors"], ctx["choices"] = exc.errors or {}, choices
            state = "code" if "code" in ctx["errors"] or "session" in ctx["errors"] else "ballot"
            return render_template("ballots/vote.html", state=state, code=code, **ctx), 422
    if not code:
        return render_template("ballots/vote.html", state="code", code="", **ctx)
    try:
        service.check_code(s, code, _client())
    except KaoheError as exc:
        db.session.commit()
        ctx["errors"] = exc.errors or {}
        return render_template("ballots/vote.html", state="code", code=code, **ctx), 422
    return render_template("ballots/vote.html", state="ballot", code=service.format_code(service.normalize(code)),
                           **ctx)


register_public_blueprint(vote_bp)
