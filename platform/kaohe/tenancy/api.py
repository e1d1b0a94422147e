from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from ..api.common import require
from ..auth.roles import Perm
from ..extensions import db
from ..tenancy.scope import current_scope, get_in_scope, org_filter
from . import service
from .models import OrgNode
from .schemas import OrgCreateSchema, OrgListArgs, OrgMoveSchema, OrgSchema, OrgUpdateSchema

blp = Blueprint("orgs", __name__, url_prefix="/api/v1/orgs", description="The org tree")


@blp.route("")
class Orgs(MethodView):
    @blp.arguments(OrgListArgs, location="query")
    @blp.response(200, OrgSchema(many=True))
    def get(self, args):
        """Org nodes inside your scope (filter by parent, kind or code)."""
        scope = current_scope()
        stmt = select(OrgNode)
        if not scope.all_roots:
            stmt = stmt.where(OrgNode.root_id == scope.root_id, org_filter(OrgNode.id, scope))
        if "parent_id" in args:
            parent = get_in_scope(OrgNode, args["parent_id"])
            stmt = stmt.where(OrgNode.parent_id == parent.id)
        if "kind" in args:
            stmt = stmt.where(OrgNode.kind == args["kind"])
        if "code" in args:
            stmt = stmt.where(OrgNode.code == args["code"])
        return db.session.execute(stmt.order_by(OrgNode.path).limit(5000)).scalars().all()

    @blp.arguments(OrgCreateSchema)
    @blp.response(201, OrgSchema)
    def post(self, data):
        """Create a node under a parent in your scope."""
        parent = get_in_scope(OrgNode, data.pop("parent_id"))
        require(Perm.org_manage, parent)
        node = service.create_child(parent, **data)
        db.session.commit()
        return node


@blp.route("/<int:org_id>")
class OrgItem(MethodView):
    @blp.response(200, OrgSchema)
    def get(self, org_id):
        return get_in_scope(OrgNode, org_id)

    @blp.arguments(OrgUpdateSchema)
    @blp.response(200, OrgSchema)
    def patch(self, data, org_id):
        """Rename, recode or (un)mark as assessment unit (本机关)."""
        node = get_in_scope(OrgNode, org_id)
        require(Perm.org_manage, node)
        service.update_node(node, expected_version=data.pop("version", None), **data)
        db.session.commit()
        return node


@blp.route("/<int:org_id>/children")
@blp.response(200, OrgSchema(many=True))
def org_children(org_id):
    return service.children(get_in_scope(OrgNode, org_id))


@blp.route("/<int:org_id>/move", methods=["POST"])
@blp.arguments(OrgMoveSchema)
@blp.response(200, OrgSchema)
def org_move(data, org_id):
    """Move a node (and its subtree) under another parent."""
    node = get_in_scope(OrgNode, org_id)
    require(Perm.org_manage, node)
    new_parent = get_in_scope(OrgNode, data["parent_id"])
    require(Perm.org_manage, new_parent)
    node = service.move_node(node, new_parent)
    db.session.commit()
    return node
