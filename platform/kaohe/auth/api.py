from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..api.common import require
from ..audit.service import record
from ..core.errors import Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import current_scope, get_in_scope, org_filter
from . import service
from .models import RoleGrant, User
from .roles import Perm, Role
from .schemas import (GrantSchema, TokenRequestSchema, TokenSchema, UserCreateSchema, UserListArgs,
                      UserSchema, UserUpdateSchema)

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Authentication, accounts and grants")


@blp.route("/auth/token", methods=["POST"])
@blp.arguments(TokenRequestSchema)
@blp.response(201, TokenSchema)
@blp.doc(security=[])
def token_create(data):
    """Exchange a username and password for a bearer token."""
    try:
        user = service.authenticate(data["username"], data["password"])
    except service.LoginLocked as exc:
        db.session.commit()
        abort(429, message=f"Too many failed attempts; try again after {exc.until:%H:%M} UTC.")
    if user is None:
        db.session.commit()  # keep the failure count
        abort(401, message="Wrong username or password.")
    service.establish(user)
    raw, tok = service.issue_token(user, data["name"])
    db.session.commit()
    return {"token": raw, "token_id": tok.id, "expires_at": tok.expires_at}


@blp.route("/auth/token", methods=["DELETE"])
@blp.response(204)
def token_revoke():
    """Revoke the token used for this request."""
    tok = service.current_token()
    if tok is None:
        abort(401, message="Authentication required.")
    service.revoke_token(tok)
    if current_user.root_id is not None:
        record("auth.token_revoked", root_id=current_user.root_id,
               org_id=current_user.org_id or current_user.root_id, target_type="api_token", target_id=tok.id)
    db.session.commit()


@blp.route("/auth/me")
@blp.response(200, UserSchema)
def me():
    return current_user


def _user_in_scope(user_id: int) -> User:
    user = get_in_scope(User, user_id)
    if user.id == current_user.id:
        return user
    return user


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(UserListArgs, location="query")
    @blp.response(200, UserSchema(many=True))
    def get(self, args):
        """Accounts homed inside your scope."""
        scope = current_scope()
        stmt = select(User).options(selectinload(User.grants))
        if not scope.all_roots:
            stmt = stmt.where(User.root_id == scope.root_id, org_filter(User.org_id, scope))
        if "org_id" in args:
            org = get_in_scope(OrgNode, args["org_id"])
            stmt = stmt.where(User.org_id == org.id)
        if args.get("q"):
            like = f"%{args['q'].lower()}%"
            stmt = stmt.where(or_(func.lower(User.username).like(like), func.lower(User.display_name).like(like)))
        return db.session.execute(stmt.order_by(User.username).limit(1000)).scalars().all()

    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Create an account homed at a node, with optional grants."""
        org = get_in_scope(OrgNode, data["org_id"])
        require(Perm.user_manage, org)
        user = service.create_user(username=data["username"], display_name=data["display_name"],
                                   password=data["password"], org=org, email=data.get("email"))
        for gr in data["grants"]:
            target = get_in_scope(OrgNode, gr["org_id"]) if gr.get("org_id") is not None else None
            service.grant_role(user, Role(gr["role"]), target)
        db.session.commit()
        return user


@blp.route("/users/<int:user_id>")
class UserItem(MethodView):
    @blp.response(200, UserSchema)
    def get(self, user_id):
        return get_in_scope(User, user_id)

    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, data, user_id):
        user = get_in_scope(User, user_id)
        org = get_in_scope(OrgNode, user.org_id) if user.org_id else None
        if user.id != current_user.id or set(data) - {"password", "display_name"}:
            require(Perm.user_manage, org)
        before = {"display_name": user.display_name, "active": user.active}
        if "display_name" in data:
            user.display_name = data["display_name"]
        if "active" in data:
            if user.id == current_user.id and not data["active"]:
                raise Invalid({"active": ["You cannot deactivate your own account."]})
            user.active = data["active"]
            if not user.active:
                service.rotate_session(user)
        if "password" in data:
            service.set_password(user, data["password"])
        after = {"display_name": user.display_name, "active": user.active}
        if before != after and org is not None:
            record("user.update", root_id=org.root_id, org_id=org.id, target_type="user", target_id=user.id,
                   before=before, after=after)
        db.session.commit()
        return user


@blp.route("/users/<int:user_id>/grants", methods=["POST"])
@blp.arguments(GrantSchema)
@blp.response(201, GrantSchema)
def grant_create(data, user_id):
    """Grant a role on a node (covers its subtree)."""
    user = get_in_scope(User, user_id)
    org = get_in_scope(OrgNode, data["org_id"]) if data.get("org_id") is not None else None
    require(Perm.user_manage, org)
    grant = service.grant_role(user, Role(data["role"]), org)
    db.session.commit()
    return grant


@blp.route("/users/<int:user_id>/grants/<int:grant_id>", methods=["DELETE"])
@blp.response(204)
def grant_delete(user_id, grant_id):
    user = get_in_scope(User, user_id)
    grant = get_in_scope(RoleGrant, grant_id)
    if grant.user_id != user.id or grant.org_id is None:
        abort(404)
    org = get_in_scope(OrgNode, grant.org_id)
    require(Perm.user_manage, org)
    service.revoke_grant(grant, org)
    db.session.commit()
