"""The ``routine`` page blueprint, its navigation entries and what every
routine page shares (the signed-in person, labels, error messages)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ...auth.roles import ROLE_PERMS, Perm
from ...auth.service import current_grants
from ...core.errors import KaoheError
from ...extensions import db
from ...people.models import Person
from ...tenancy.models import OrgNode
from ...web import register_page_blueprint
from ...web.i18n import pick
from ...web.nav import NavItem, add_nav
from .. import calc, calc_grades
from ..common import period_policy
from ..models import Period
from ..periods import TRANSITIONS

bp = Blueprint("routine", __name__, url_prefix="/routine")
register_page_blueprint(bp)


def has_person() -> bool:
    return bool(getattr(current_user, "person_id", None))


def admin_units() -> list[OrgNode]:
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
    return ROLE_PERMS[role]


add_nav(NavItem("routine", _l("Routine assessment"), "routine.me", Perm.self_service, 20, visible=has_person,
                hint=_l("Sign in, work records, ratings and my results")))
add_nav(NavItem("routine_admin", _l("Assessment office"), "routine.admin_index", Perm.unit_admin, 25,
                hint=_l("Indicators, schemes, periods and results")))


def current_person() -> Person:
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
            "allowed_next": lambda st: TRANSITIONS.get(st, ())}


def render(template, **ctx):
    period = ctx.get("period")
    # a period's grades under the names frozen with it (policy routine.grade_scale)
    scale = period_policy(period).get("routine.grade_scale") if isinstance(period, Period) else None
    ctx.setdefault("gnames", calc_grades.labels(scale))
    return render_template(template, **_labels(), **ctx)


def error_messages(exc: KaoheError) -> dict:
    errs = dict(exc.errors or {})
    errs.setdefault("_", [exc.message])
    return errs


def open_periods(unit_id: int) -> list[Period]:
    return list(db.session.execute(select(Period).where(Period.org_id == unit_id, Period.state != "draft")
                                   .order_by(Period.year.desc(), Period.seq.desc()).limit(6)).scalars())
