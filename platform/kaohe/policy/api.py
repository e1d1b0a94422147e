"""Policy API: effective policy with provenance; set / clear / lock / unlock /
bound a key; organisational-performance grades; quotas with their
arithmetic; approvals; allocations.  Every change is audited (in the
service) and committed once here."""
from __future__ import annotations

import datetime as dt

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from ..core.clock import local_today
from ..api.common import require
from ..auth.roles import Perm
from ..auth.service import current_grants, has_perm
from ..core.errors import Forbidden, Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import get_in_scope
from . import registry as reg
from . import packs  # noqa: F401  (registers policy.yaml with tenant packs)
from . import org_grades, settings
from . import quotas as quota
from .models import QuotaApproval
from .schemas import (AllocationOverviewSchema, AllocationSetSchema, ApprovalCreateSchema, ApprovalSchema,
                      BoundsSchema, ChangeResultSchema, LockSchema, OrgGradeSchema, OrgGradeSetSchema,
                      PolicyViewSchema, QuotaSchema, RevokeSchema, ScopedYearArgs, SetValueSchema, YearArgs)

blp = Blueprint("policy_api", __name__, url_prefix="/api/v1", description="Policy cascade, org grades and quotas")


def _year(args) -> int:
    return args.get("year") or local_today().year


def _node(org_id: int) -> OrgNode:
    node = get_in_scope(OrgNode, org_id)
    require(Perm.view, node)
    return node


def _editable(org_id: int) -> OrgNode:
    node = get_in_scope(OrgNode, org_id)
    require(Perm.policy_edit, node)
    return node


def _parent_of(node: OrgNode) -> OrgNode | None:
    return db.session.get(OrgNode, node.parent_id) if node.parent_id else None


def require_above(perm: Perm, unit: OrgNode) -> OrgNode:
    """The caller must hold ``perm`` strictly above ``unit`` (the level above
    grades and approves, never the unit itself).  Returns the node of the
    closest such grant."""
    best = None
    for gr in current_grants():
        from ..auth.roles import ROLE_PERMS, Role

        if perm not in ROLE_PERMS[gr.role]:
            continue
        if gr.role == Role.platform_operator:
            best = best or _parent_of(unit)
            continue
        if gr.path and gr.root_id == unit.root_id and unit.path.startswith(gr.path) and gr.org_id != unit.id:
            if best is None or len(gr.path) > len(best.path):
                best = db.session.get(OrgNode, gr.org_id)
    if best is None:
        raise Forbidden("Only the level above this unit may do this.")
    return best


def _setting_view(node: OrgNode, key: str, year: int | None) -> dict:
    year = year or local_today().year
    view = settings.describe(node, year, can_edit=True)
    for g in view["groups"]:
        for s in g["settings"]:
            if s["key"] == key:
                return s
    raise Invalid({key: [f"unknown setting {key!r}"]})


@blp.route("/orgs/<int:org_id>/policy")
@blp.arguments(YearArgs, location="query")
@blp.response(200, PolicyViewSchema)
def policy_get(args, org_id):
    """The effective policy of a node for a year, grouped by topic, each key
    with its value, source node, lock, bounds and description."""
    node = _node(org_id)
    return settings.describe(node, _year(args), can_edit=has_perm(Perm.policy_edit, node))


@blp.route("/policy/settings")
@blp.response(200)
def policy_registry():
    """Every setting the platform knows: key, kind, topic, national default, description."""
    return [{"key": s.key, "kind": s.kind, "group": s.group, "default": s.default, "zh": s.zh, "en": s.en,
             "choices": list(s.choices), "bound": s.bound, "unit": s.unit} for s in reg.REGISTRY.values()]


@blp.route("/orgs/<int:org_id>/policy/<key>")
class PolicyKey(MethodView):
    @blp.arguments(SetValueSchema)
    @blp.response(200, ChangeResultSchema)
    def put(self, data, org_id, key):
        """Override a key at this node (year 0: all years)."""
        node = _editable(org_id)
        settings.set_value(node, key, data["value"], year=data["year"], note=data["note"], reason=data["reason"])
        db.session.commit()
        return {"key": key, "changed": True, "setting": _setting_view(node, key, data["year"])}

    @blp.arguments(ScopedYearArgs, location="query")
    @blp.response(200, ChangeResultSchema)
    def delete(self, args, org_id, key):
        """Revert to the inherited value."""
        node = _editable(org_id)
        changed = settings.clear_value(node, key, year=args["year"], reason=args["reason"])
        db.session.commit()
        return {"key": key, "changed": changed, "setting": _setting_view(node, key, args["year"])}


@blp.route("/orgs/<int:org_id>/policy/<key>/lock")
class PolicyLock(MethodView):
    @blp.arguments(LockSchema)
    @blp.response(200, ChangeResultSchema)
    def post(self, data, org_id, key):
        """Enforce this node's value for everything below (clears overrides below)."""
        node = _editable(org_id)
        cleared = settings.lock(node, key, year=data["year"], reason=data["reason"])
        db.session.commit()
        return {"key": key, "changed": True, "cleared_below": cleared,
                "setting": _setting_view(node, key, data["year"])}

    @blp.arguments(ScopedYearArgs, location="query")
    @blp.response(200, ChangeResultSchema)
    def delete(self, args, org_id, key):
        """Let the levels below override again."""
        node = _editable(org_id)
        changed = settings.unlock(node, key, year=args["year"], reason=args["reason"])
        db.session.commit()
        return {"key": key, "changed": changed, "setting": _setting_view(node, key, args["year"])}


@blp.route("/orgs/<int:org_id>/policy/<key>/bounds")
class PolicyBounds(MethodView):
    @blp.arguments(BoundsSchema)
    @blp.response(200, ChangeResultSchema)
    def put(self, data, org_id, key):
        """Bounds the nodes below must respect (min/max, or allowed values)."""
        node = _editable(org_id)
        settings.set_bounds(node, key, min_value=data["min"], max_value=data["max"], allowed=data["allowed"],
                           year=data["year"], reason=data["reason"])
        db.session.commit()
        return {"key": key, "changed": True, "setting": _setting_view(node, key, data["year"])}

    @blp.arguments(ScopedYearArgs, location="query")
    @blp.response(200, ChangeResultSchema)
    def delete(self, args, org_id, key):
        node = _editable(org_id)
        changed = settings.clear_bounds(node, key, year=args["year"], reason=args["reason"])
        db.session.commit()
        return {"key": key, "changed": changed, "setting": _setting_view(node, key, args["year"])}


# -- organisational performance -------------------------------------------

@blp.route("/orgs/<int:org_id>/org-grades")
@blp.arguments(YearArgs, location="query")
@blp.response(200, OrgGradeSchema(many=True))
def org_grades_list(args, org_id):
    """组织绩效 of every assessment unit below a node for a year."""
    node = get_in_scope(OrgNode, org_id)
    require(Perm.supervise, node)
    return org_grades.org_grade_dicts(node, _year(args))


@blp.route("/orgs/<int:org_id>/org-grade")
class OrgGrade(MethodView):
    @blp.arguments(OrgGradeSetSchema)
    @blp.response(200, OrgGradeSchema)
    def put(self, data, org_id):
        """Grade a unit's organisational performance (by the level above)."""
        unit = get_in_scope(OrgNode, org_id)
        require_above(Perm.supervise, unit)
        org_grades.set_org_grade(unit, data["year"], data["grade"], major_contribution=data["major_contribution"],
                              comment=data["comment"], expected_version=data["version"])
        db.session.commit()
        parent = _parent_of(unit)
        return next(d for d in org_grades.org_grade_dicts(parent, data["year"]) if d["org"]["id"] == unit.id)

    @blp.arguments(YearArgs, location="query")
    @blp.response(204)
    def delete(self, args, org_id):
        unit = get_in_scope(OrgNode, org_id)
        require_above(Perm.supervise, unit)
        org_grades.clear_org_grade(unit, _year(args))
        db.session.commit()


# -- quotas and approvals --------------------------------------------------

@blp.route("/orgs/<int:org_id>/quotas")
@blp.arguments(YearArgs, location="query")
@blp.response(200, QuotaSchema(many=True))
def quotas(args, org_id):
    """Excellence quota of the node (if a unit) and every unit below it, with the arithmetic."""
    node = _node(org_id)
    return quota.quota_dicts(quota.units_for_quota(node), _year(args))


@blp.route("/orgs/<int:org_id>/quota-approvals")
class Approvals(MethodView):
    @blp.arguments(YearArgs, location="query")
    @blp.response(200, ApprovalSchema(many=True))
    def get(self, args, org_id):
        unit = _node(org_id)
        stmt = select(QuotaApproval).where(QuotaApproval.root_id == unit.root_id, QuotaApproval.org_id == unit.id)
        if args.get("year"):
            stmt = stmt.where(QuotaApproval.year == args["year"])
        return db.session.execute(stmt.order_by(QuotaApproval.decided_at.desc())).scalars().all()

    @blp.arguments(ApprovalCreateSchema)
    @blp.response(201, ApprovalSchema)
    def post(self, data, org_id):
        """Approve a rate above the no-approval ceiling (the level above only)."""
        unit = get_in_scope(OrgNode, org_id)
        approver = require_above(Perm.supervise, unit)
        row = quota.approve_rate(unit, data["year"], data["rate"], reason=data["reason"], approver_org=approver)
        db.session.commit()
        return row


@blp.route("/quota-approvals/<int:approval_id>/revoke", methods=["POST"])
@blp.arguments(RevokeSchema)
@blp.response(200, ApprovalSchema)
def approval_revoke(data, approval_id):
    approval = get_in_scope(QuotaApproval, approval_id)
    unit = get_in_scope(OrgNode, approval.org_id)
    require_above(Perm.supervise, unit)
    quota.revoke_approval(approval, reason=data["reason"])
    db.session.commit()
    return approval


# -- allocations -----------------------------------------------------------

@blp.route("/orgs/<int:org_id>/allocations")
@blp.arguments(YearArgs, location="query")
@blp.response(200, AllocationOverviewSchema)
def allocations(args, org_id):
    """What a node has to hand down, what it allocated to each child, and what remains."""
    node = get_in_scope(OrgNode, org_id)
    require(Perm.supervise, node)
    return quota.allocation_overview(node, _year(args))


@blp.route("/orgs/<int:org_id>/allocations/<int:child_id>", methods=["PUT"])
@blp.arguments(AllocationSetSchema)
@blp.response(200, AllocationOverviewSchema)
def allocation_set(data, org_id, child_id):
    """Hand a child a count (0 removes it); refused beyond the parent's total."""
    parent = get_in_scope(OrgNode, org_id)
    require(Perm.supervise, parent)
    child = get_in_scope(OrgNode, child_id)
    quota.allocate(parent, child, data["year"], data["count"], note=data["note"])
    db.session.commit()
    return quota.allocation_overview(parent, data["year"])
