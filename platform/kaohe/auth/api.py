from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort

from ..api.common import require
from ..audit.service import record
from ..core.errors import Forbidden, Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import get_in_scope
from . import capabilities as caps
from . import service
from .manage import require_manage
from .models import RoleGrant, User
from .passwords import verify_password
from .ratelimit import limiter, login_ip_limit
from .roles import Perm, Role
from .schemas import (GrantSchema, TokenRequestSchema, TokenSchema, UserCreateSchema, UserListArgs,
                      UserSchema, UserUpdateSchema)

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Authentication, accounts and grants")


@blp.route("/auth/token", methods=["POST"])
@limiter.limit(login_ip_limit)
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


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(UserListArgs, location="query")
    @blp.response(200, UserSchema(many=True))
    def get(self, args):
        """Accounts homed at nodes where you may manage accounts."""
        caps.require(caps.ACCOUNTS_READ, None)
        org = None
        if "org_id" in args:
            org = get_in_scope(OrgNode, args["org_id"])
            caps.require(caps.ACCOUNTS_READ, org)
        stmt = caps.accounts_statement(args.get("q"), org)
        return db.session.execute(stmt.limit(1000)).scalars().all()

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
        """An account: your own, or one homed where you may manage accounts."""
        user = get_in_scope(User, user_id)
        org = get_in_scope(OrgNode, user.org_id) if user.org_id else None
        if not caps.can_read_account(user, org):
            raise Forbidden()
        return user

    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, data, user_id):
        """Change an account.  Your own: display name, and password with
        `current_password`.  Anyone else's (and your own e-mail or status):
        only when you may manage the account (your scope covers every grant
        it holds and your role ranks at least each of its roles).  A password
        change or deactivation revokes every token and session of the account."""
        user = get_in_scope(User, user_id)
        own = user.id == current_user.id
        if not own or set(data) - {"password", "current_password", "display_name"}:
            require_manage(user)
        if "password" in data and own:
            if not verify_password(user.password_hash, data.get("current_password") or ""):
                raise Invalid({"current_password": ["Give your current password to change it."]})
        service.update_account(user, data)
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
    require_manage(user)
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
    require_manage(user)
    service.revoke_grant(grant, org)
    db.session.commit()
