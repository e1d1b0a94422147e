"""A small, fully known world for tests: two provinces, each with siblings and
cousins at every level, and an account for every role on known nodes.

P1 (province)
├── C1 (city)
│   ├── K1 (county) ── T1 (township, unit) ── T1-D1, T1-D2 (departments)
│   │               └─ T2 (township, unit, sibling of T1) ── T2-D1
│   └── K2 (county, sibling of K1) ── T4 (township, unit)
└── C2 (city)
    └── K3 (county, cousin of K1) ── T3 (township, unit, cousin of T1) ── T3-D1
P2 (another province) with the same shape and codes prefixed "P2-".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from ..audit.service import Actor, reset_actor, set_actor
from ..auth import service as auth_service
from ..auth.passwords import hash_password
from ..auth.roles import Role
from ..extensions import db
from ..people.models import LeaderCharge, Person
from ..tenancy import service as org_service
from ..tenancy.scope import Scope, apply_scope

PASSWORD = "test-password-123"

SHAPE = [
    ("C1", "city", "P", {}), ("K1", "county", "C1", {}), ("T1", "township", "K1", {"is_assessment_unit": True}),
    ("T1-D1", "department", "T1", {}), ("T1-D2", "department", "T1", {}),
    ("T2", "township", "K1", {"is_assessment_unit": True}), ("T2-D1", "department", "T2", {}),
    ("K2", "county", "C1", {}), ("T4", "township", "K2", {"is_assessment_unit": True}),
    ("C2", "city", "P", {}), ("K3", "county", "C2", {}),
    ("T3", "township", "K3", {"is_assessment_unit": True}), ("T3-D1", "department", "T3", {}),
]

# username suffix -> (role, node key)
ACCOUNTS = {
    "policy": (Role.policy_admin, "P"),
    "citysup": (Role.supervisor, "C1"),
    "countysup": (Role.supervisor, "K1"),
    "t1admin": (Role.unit_admin, "T1"),
    "t2admin": (Role.unit_admin, "T2"),
    "t3admin": (Role.unit_admin, "T3"),
    "t1leader": (Role.leader, "T1"),
    "t1staff": (Role.staff, "T1"),
}


@dataclass
class Province:
    prefix: str
    nodes: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    people: dict = field(default_factory=dict)

    def __getattr__(self, item):
        nodes = self.__dict__.get("nodes", {})
        key = item.replace("_", "-")
        if key in nodes:
            return nodes[key]
        raise AttributeError(item)


def _code(prefix: str, key: str) -> str:
    return f"{prefix}{key}"


def build_province(prefix: str, pw_hash: str) -> Province:
    prov = Province(prefix=prefix)
    root = org_service.create_province(code=_code(prefix, "P"), name=f"{prefix}省", name_en=f"{prefix}Province")
    prov.nodes["P"] = root
    for key, kind, parent, extra in SHAPE:
        prov.nodes[key] = org_service.create_child(prov.nodes[parent], kind=kind, code=_code(prefix, key),
                                                   name=f"{prefix}{key}", name_en=f"{prefix}{key}", **extra)
    for suffix, (role, key) in ACCOUNTS.items():
        node = prov.nodes[key]
        user = auth_service.create_user(username=f"{prefix.lower()}{suffix}", display_name=f"{prefix}{suffix}",
                                        password="", org=node, password_hash=pw_hash)
        auth_service.grant_role(user, role, node, check=False)
        prov.users[suffix] = user
    # A few people in T1: head, deputy in charge of D1, dept heads, staff.
    t1 = prov.nodes["T1"]
    def person(key, org, role, rank="staff", sup=None):
        p = Person(root_id=root.id, org_id=org.id, unit_id=t1.id, staff_no=key, name=f"{prefix}{key}",
                   position_role=role, rank_group=rank, supervisor_id=sup.id if sup else None)
        db.session.add(p)
        db.session.flush()
        prov.people[key] = p
        return p
    head = person("head", t1, "head", "leader")
    deputy = person("deputy", t1, "deputy", "leader", head)
    d1h = person("d1head", prov.nodes["T1-D1"], "dept_head", "staff", deputy)
    person("d1staff", prov.nodes["T1-D1"], "staff", "staff", d1h)
    d2h = person("d2head", prov.nodes["T1-D2"], "dept_head", "staff", deputy)
    person("d2staff", prov.nodes["T1-D2"], "staff", "staff", d2h)
    db.session.add(LeaderCharge(root_id=root.id, org_id=t1.id, leader_id=deputy.id,
                                department_id=prov.nodes["T1-D1"].id))
    db.session.flush()
    prov.users["t1leader"].person_id = deputy.id
    prov.users["t1staff"].person_id = prov.people["d1staff"].id
    db.session.flush()
    return prov


def build_world() -> SimpleNamespace:
    """Build both provinces and a platform operator; commits."""
    apply_scope(Scope.system("test-world"))
    token = set_actor(Actor(None, "test"))
    try:
        pw_hash = hash_password(PASSWORD)
        p1 = build_province("", pw_hash)
        p2 = build_province("P2-", pw_hash)
        operator = auth_service.create_user(username="operator", display_name="operator", password="",
                                            org=None, password_hash=pw_hash)
        auth_service.grant_role(operator, Role.platform_operator, None, check=False)
        db.session.commit()
    finally:
        reset_actor(token)
    world = SimpleNamespace(p1=p1, p2=p2, operator=operator, password=PASSWORD)
    # Plain ids, safe to use after the session is gone.
    world.ids = {f"{p.prefix or 'P1-'}{k}": n.id for p in (p1, p2) for k, n in p.nodes.items()}
    return world
