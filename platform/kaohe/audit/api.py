from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from ..api.common import require
from ..auth.roles import Perm
from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import current_scope, get_in_scope, org_filter
from .models import AuditEntry

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="The audit log")


class AuditEntrySchema(Schema):
    id = fields.Int()
    lane = fields.Int(metadata={"description": "The chain this entry is in: its org id, 0 for the province."})
    seq = fields.Int(metadata={"description": "Position within its lane's chain (not across the province)."})
    created_at = fields.DateTime()
    org_id = fields.Int()
    actor_id = fields.Int(allow_none=True)
    actor_name = fields.Str()
    action = fields.Str()
    target_type = fields.Str()
    target_id = fields.Str(allow_none=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    reason = fields.Str(allow_none=True)
    hash = fields.Str()


class AuditArgs(Schema):
    org_id = fields.Int()
    action = fields.Str()
    target_type = fields.Str()
    target_id = fields.Str()
    before_id = fields.Int(metadata={"description": "Page backwards: entries with id below this."})
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))


@blp.route("")
@blp.arguments(AuditArgs, location="query")
@blp.response(200, AuditEntrySchema(many=True))
def audit_list(args):
    """Audit entries of the nodes in your scope, newest first (by id; ``seq``
    counts within a lane only)."""
    scope = current_scope()
    stmt = select(AuditEntry)
    if not scope.all_roots:
        stmt = stmt.where(AuditEntry.root_id == scope.root_id, org_filter(AuditEntry.org_id, scope))
    if "org_id" in args:
        org = get_in_scope(OrgNode, args["org_id"])
        require(Perm.audit_read, org)
        stmt = stmt.where(AuditEntry.org_id.in_(select(OrgNode.id).where(OrgNode.path.like(org.path + "%"))))
    else:
        require(Perm.audit_read)
    for key in ("action", "target_type", "target_id"):
        if key in args:
            stmt = stmt.where(getattr(AuditEntry, key) == args[key])
    if "before_id" in args:
        stmt = stmt.where(AuditEntry.id < args["before_id"])
    return db.session.execute(stmt.order_by(AuditEntry.id.desc()).limit(args["limit"])).scalars().all()
