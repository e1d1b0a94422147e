"""Roles are granted on org nodes and cover the subtree; each role carries a
set of permissions.  Checks ask "does the user hold permission P on a node at
or above this one?"."""
from __future__ import annotations

import enum


class Role(str, enum.Enum):
    platform_operator = "platform_operator"
    policy_admin = "policy_admin"
    supervisor = "supervisor"
    unit_admin = "unit_admin"
    leader = "leader"
    staff = "staff"


class Perm(str, enum.Enum):
    view = "view"                      # see the subtree
    org_manage = "org_manage"          # create/rename/move org nodes, mark units
    user_manage = "user_manage"        # create accounts, grant roles
    audit_read = "audit_read"
    policy_edit = "policy_edit"        # change, lock, bound settings
    supervise = "supervise"            # dashboards, org-performance grades, quota allocation
    unit_admin = "unit_admin"          # roster, periods, computation, publication
    rate = "rate"                      # rate the people one manages
    self_service = "self_service"      # own sign-in, records, results
    provinces = "provinces"            # create provinces (platform only)


ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.platform_operator: frozenset(Perm),
    Role.policy_admin: frozenset({Perm.view, Perm.org_manage, Perm.user_manage, Perm.audit_read,
                                  Perm.policy_edit, Perm.supervise}),
    Role.supervisor: frozenset({Perm.view, Perm.supervise, Perm.audit_read, Perm.policy_edit}),
    Role.unit_admin: frozenset({Perm.view, Perm.unit_admin, Perm.user_manage, Perm.audit_read}),
    Role.leader: frozenset({Perm.view, Perm.rate, Perm.self_service}),
    Role.staff: frozenset({Perm.self_service}),
}

ROLE_LABELS = {
    Role.platform_operator: ("平台运维", "Platform operator"),
    Role.policy_admin: ("政策管理员", "Policy administrator"),
    Role.supervisor: ("督导管理员", "Supervisor"),
    Role.unit_admin: ("考核办管理员", "Unit assessment admin"),
    Role.leader: ("领导/评价人", "Leader / rater"),
    Role.staff: ("工作人员", "Staff"),
}

# Roles a grantor may hand out: nobody grants a role stronger than their own.
GRANTABLE_BY: dict[Role, frozenset[Role]] = {
    Role.platform_operator: frozenset(Role),
    Role.policy_admin: frozenset({Role.policy_admin, Role.supervisor, Role.unit_admin, Role.leader, Role.staff}),
    Role.supervisor: frozenset(),
    Role.unit_admin: frozenset({Role.leader, Role.staff}),
    Role.leader: frozenset(),
    Role.staff: frozenset(),
}
