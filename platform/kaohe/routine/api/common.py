"""The routine API blueprint (``routine_api``, /api/v1/routine) and the access
helpers of its endpoints: load in scope (404 outside) → check the permission
or the rater relation (403 inside the scope, naming the rule)."""
from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select

from ...web.messages import N_
from ...api.common import require
from ...auth.roles import Perm
from ...auth.service import has_perm
from ...core.errors import Forbidden, Invalid
from ...extensions import db
from ...people.models import Person
from ...tenancy.models import OrgNode
from ...tenancy.scope import get_in_scope
from .. import periods
from ..models import Indicator, Period


blp = Blueprint("routine_api", __name__, url_prefix="/api/v1/routine",
                description="Routine assessment (平时考核): indicators, schemes, periods, ratings, results")


# -- access helpers -------------------------------------------------------------

def admin_unit(unit_id: int) -> OrgNode:
    unit = get_in_scope(OrgNode, unit_id)
    require(Perm.unit_admin, unit)
    if not unit.is_assessment_unit:
        raise Invalid({"unit_id": [N_("This node is not an assessment unit.")]})
    return unit


def load_period(period_id: int, *, admin: bool = False) -> Period:
    # The period's unit comes in the same round trip (permission checks
    # then find it in the identity map).
    period = get_in_scope(Period, period_id, with_org=True)
    if admin:
        require(Perm.unit_admin, db.session.get(OrgNode, period.org_id))
    return period


M_NOT_LINKED = "This account is not linked to a person on a roster."


def me() -> Person:
    person = db.session.execute(select(Person).where(Person.id == my_person_id())).scalar_one_or_none()
    if person is None:
        raise Forbidden({"account": [M_NOT_LINKED]})
    return person


def my_person_id() -> int:
    """The caller's person id without loading the row, for writes whose own
    checks establish who may act (a rating's relation check reads the
    caller's participation, so a stale link is refused there)."""
    pid = getattr(current_user, "person_id", None)
    if not pid:
        raise Forbidden({"account": [M_NOT_LINKED]})
    return int(pid)


def is_admin_of(period: Period) -> bool:
    return has_perm(Perm.unit_admin, db.session.get(OrgNode, period.org_id))


def period_out(p: Period) -> dict:
    """The office sees the computation summary (ties name people); others do not."""
    admin = is_admin_of(p)
    return {"id": p.id, "org_id": p.org_id, "label": p.label, "year": p.year, "cycle": p.cycle, "seq": p.seq,
            "starts_on": p.starts_on, "ends_on": p.ends_on, "state": p.state,
            "allowed": list(periods.TRANSITIONS[p.state]), "publicity_from": p.publicity_from,
            "publicity_until": p.publicity_until, "computed_at": p.computed_at,
            "compute_summary": p.compute_summary if admin else None, "policy": p.policy, "version": p.version}


def indicator_out(spec: dict, row: Indicator | None = None) -> dict:
    return {**spec, "id": row.id if row else None}
