"""One permission rule per capability, used by the API and the pages alike
(a parity test, tests/foundation/test_parity.py, compares the two for every
role).  Scope decides what exists for you (404 outside it); these rules
decide what your role may do with what exists (403)."""
from __future__ import annotations

from ..core.errors import Forbidden
from .roles import Perm
from .service import has_perm

# capability -> the permission it needs on the node concerned
ROSTER_READ = Perm.unit_admin      # the people of a unit (hire dates, posts, supervisors)
ACCOUNTS_READ = Perm.user_manage   # accounts, e-mails and roles
AUDIT_READ = Perm.audit_read       # the audit log


def can(capability: Perm, node=None) -> bool:
    """``node`` None: held on some node at all (for lists over the scope)."""
    return has_perm(capability, node)


def require(capability: Perm, node=None) -> None:
    if not can(capability, node):
        raise Forbidden()


def can_read_person(person, node) -> bool:
    """Your own person record, or any person of a node you may read the roster of."""
    from flask_login import current_user

    own = getattr(current_user, "person_id", None)
    return (own is not None and own == person.id) or can(ROSTER_READ, node)


def can_read_account(user, node) -> bool:
    """Your own account, or an account homed at a node you may manage accounts of."""
    from flask_login import current_user

    return user.id == getattr(current_user, "id", None) or (node is not None and can(ACCOUNTS_READ, node)) \
        or (node is None and can(ACCOUNTS_READ) and has_perm(Perm.provinces))


def held_paths(capability: Perm) -> tuple[str, ...] | None:
    """The node paths on which the caller holds ``capability`` (each covers
    its subtree); None means everywhere (platform operator)."""
    from .roles import ROLE_PERMS, Role
    from .service import current_grants

    paths = []
    for gr in current_grants():
        if capability not in ROLE_PERMS[gr.role]:
            continue
        if gr.role == Role.platform_operator:
            return None
        if gr.path:
            paths.append(gr.path)
    return tuple(sorted(set(paths)))


def node_filter(column, capability: Perm):
    """A filter on an org-id column: rows at nodes where the caller holds
    ``capability`` (for lists; the scope filter still applies on top)."""
    from sqlalchemy import false, or_, select, true

    from ..tenancy.models import OrgNode
    from ..tenancy.scope import current_scope

    paths = held_paths(capability)
    if paths is None:
        return true()
    if not paths:
        return false()
    root = current_scope().root_id
    return column.in_(select(OrgNode.id).where(OrgNode.root_id == root,
                                               or_(*[OrgNode.path.like(p + "%") for p in paths])))


def accounts_statement(q: str | None = None, org=None):
    """The account list both the API and the page show (403 checked by the caller)."""
    from sqlalchemy import func, or_, select
    from sqlalchemy.orm import selectinload

    from ..tenancy.scope import current_scope, org_filter
    from .models import User

    scope = current_scope()
    stmt = select(User).options(selectinload(User.grants))
    if not scope.all_roots:
        stmt = stmt.where(User.root_id == scope.root_id, org_filter(User.org_id, scope),
                          node_filter(User.org_id, ACCOUNTS_READ))
    if org is not None:
        stmt = stmt.where(User.org_id == org.id)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(User.username).like(like), func.lower(User.display_name).like(like)))
    return stmt.order_by(User.username)
