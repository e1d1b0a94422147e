"""REST API of the democratic evaluation (admin side; voters use the phone
page).  Load in scope → permission → service → one commit."""
from __future__ import annotations

from flask import url_for
from flask_smorest import Blueprint

from ..api.common import require
from ..auth.roles import Perm
from ..core.errors import Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import get_in_scope
from . import service
from .models import BallotSession
from .schemas import BallotCodesSchema, BallotSessionCreateSchema, BallotSessionIssuedSchema, BallotSessionSchema

blp = Blueprint("ballots_api", __name__, url_prefix="/api/v1/ballots",
                description="Anonymous democratic evaluation sessions (民主测评)")


def _unit(org_id) -> OrgNode:
    node = get_in_scope(OrgNode, org_id)
    require(Perm.unit_admin, node)
    if not node.is_assessment_unit:
        raise Invalid({"org_id": ["This node is not an assessment unit."]})
    return node


def _session(session_id) -> tuple[BallotSession, OrgNode]:
    s = get_in_scope(BallotSession, session_id)
    unit = get_in_scope(OrgNode, s.org_id)
    require(Perm.unit_admin, unit)
    return s, unit


def present(s: BallotSession, unit: OrgNode, codes: list[str] | None = None) -> dict:
    res = service.visible_result(s, unit)
    out = {c: getattr(s, c) for c in ("id", "org_id", "year", "title", "status", "closes_at", "closed_at",
                                       "candidate_ids", "codes_issued", "ballots_cast", "applied")}
    out["threshold"] = service.min_ballots(unit, s.year)
    out["vote_url"] = url_for("ballots_vote.vote", root_id=s.root_id, key=s.key, _external=True)
    out["results"] = {str(k): v for k, v in res.items()} if res is not None else None
    if codes is not None:
        out["codes"] = codes
    return out


def _close_if_due(s: BallotSession, unit: OrgNode) -> None:
    if s.status == "open" and not service.is_open(s):
        service.close(s, unit, reason="time")
        db.session.commit()


@blp.route("/units/<int:org_id>/sessions")
@blp.response(200, BallotSessionSchema(many=True))
def sessions_list(org_id):
    """A unit's evaluation sessions, newest first."""
    unit = _unit(org_id)
    out = []
    for s in service.sessions_of(unit):
        _close_if_due(s, unit)
        out.append(present(s, unit))
    return out


@blp.route("/units/<int:org_id>/sessions", methods=["POST"])
@blp.arguments(BallotSessionCreateSchema)
@blp.response(201, BallotSessionIssuedSchema)
def sessions_create(args, org_id):
    """Open a session and issue the one-time codes (returned only here)."""
    unit = _unit(org_id)
    s, codes = service.open_session(unit, **args)
    db.session.commit()
    return present(s, unit, codes)


@blp.route("/sessions/<int:session_id>")
@blp.response(200, BallotSessionSchema)
def session_get(session_id):
    """A session: turnout; counts once closed and at or above the anonymity threshold."""
    s, unit = _session(session_id)
    _close_if_due(s, unit)
    return present(s, unit)


@blp.route("/sessions/<int:session_id>/codes", methods=["POST"])
@blp.arguments(BallotCodesSchema)
@blp.response(201, BallotSessionIssuedSchema)
def session_codes(args, session_id):
    """Issue more one-time codes for an open session (returned only here)."""
    s, unit = _session(session_id)
    codes = service.issue_codes(s, args["voters"])
    db.session.commit()
    return present(s, unit, codes)


@blp.route("/sessions/<int:session_id>/close", methods=["POST"])
@blp.response(200, BallotSessionSchema)
def session_close(session_id):
    """Close by hand; the counts go into the annual reviews when at or above the threshold."""
    s, unit = _session(session_id)
    service.close(s, unit)
    db.session.commit()
    return present(s, unit)
