"""Who may manage which account: ONE rule, used by the API, the pages and
every other caller that changes an account (password, e-mail, activation,
grants, the link to a person).

You may manage an account only if

* your ``user_manage`` grants cover the account's home node, and
* for EVERY grant the account holds (including grants outside your scope,
  which you cannot see: they are read here under the account's own scope),
  one of your ``user_manage`` grants covers the grant's node and your role on
  it ranks at least as high as the granted role.

So a unit admin cannot take over an account homed in the unit that also holds
a supervisor grant on the county above, or a grant in a sibling unit.  A
platform operator may manage every account; only a platform operator may
manage a platform operator."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import Scope, scoped
from .models import RoleGrant, User
from .roles import ROLE_PERMS, Perm, Role

# The order used for "your role is at least each of its roles".
ROLE_RANK: dict[Role, int] = {
    Role.staff: 0, Role.leader: 1, Role.unit_admin: 2, Role.supervisor: 3, Role.policy_admin: 4,
    Role.platform_operator: 5,
}


def account_grants(user: User) -> list:
    """Every grant the account holds, with node paths, whatever the caller's
    scope (read under the account's own scope, then the caller's is restored)."""
    from .service import GrantInfo

    with scoped(Scope(user_id=user.id, label="manage-check")):
        rows = db.session.execute(
            select(RoleGrant.role, RoleGrant.org_id, RoleGrant.root_id).where(RoleGrant.user_id == user.id)
        ).all()
        node_ids = tuple(sorted({r.org_id for r in rows if r.org_id is not None}))
        if user.org_id is not None:
            node_ids = tuple(sorted(set(node_ids) | {user.org_id}))
        paths: dict[int, str] = {}
        if node_ids and user.root_id is not None:
            with scoped(Scope(user_id=user.id, root_id=user.root_id, extra_node_ids=node_ids, label="manage-check")):
                paths = dict(db.session.execute(
                    select(OrgNode.id, OrgNode.path).where(OrgNode.id.in_(node_ids))).all())
    grants = [GrantInfo(Role(r.role), r.org_id, r.root_id, paths.get(r.org_id)) for r in rows]
    return grants, paths.get(user.org_id) if user.org_id is not None else None


def _covers(actor, root_id, path, role: Role | None) -> bool:
    """One of the actor's user_manage grants covers (root_id, path), ranking
    at least ``role`` when given."""
    for a in actor:
        if Perm.user_manage not in ROLE_PERMS[a.role]:
            continue
        if a.role == Role.platform_operator:
            return True
        if not (a.path and path and a.root_id == root_id and path.startswith(a.path)):
            continue
        if role is None or ROLE_RANK[a.role] >= ROLE_RANK[role]:
            return True
    return False


def may_manage(user: User, actor_grants: list | None = None) -> bool:
    """True when the caller (or ``actor_grants``) may manage ``user``."""
    from .service import current_grants

    actor = current_grants() if actor_grants is None else actor_grants
    if any(a.role == Role.platform_operator for a in actor):
        return True
    if user.root_id is None or user.org_id is None:
        return False
    grants, home_path = account_grants(user)
    if not _covers(actor, user.root_id, home_path, None):
        return False
    for gr in grants:
        if gr.role == Role.platform_operator:
            return False
        if not _covers(actor, gr.root_id, gr.path, gr.role):
            return False
    return True


def require_manage(user: User) -> None:
    """403 unless the caller may manage ``user`` (see the module docstring)."""
    from ..core.errors import Forbidden

    if not may_manage(user):
        raise Forbidden()
