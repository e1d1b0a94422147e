"""The demo province: the qinghai-demo pack, ~300 people with realistic
roles (head, deputies in charge of departments, department heads, staff) and
an account for each kind of user.  Building twice is safe: an existing demo
province is left as it is."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from sqlalchemy import select

from .audit.service import Actor, reset_actor, set_actor
from .auth import service as auth_service
from .auth.models import User
from .auth.passwords import hash_password
from .auth.roles import Role
from .core.db import allocate_ids
from .extensions import db
from .people.models import LeaderCharge, Person
from .tenancy.models import OrgKind, OrgNode
from .tenancy.packs import load_pack
from .tenancy.scope import Scope, apply_scope

DEMO_PACK = "qinghai-demo"
DEMO_PASSWORD = "kaohe-demo-2026"

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文斌宇浩凯晨琳雪梅婷欣悦瑞博轩涵航峰亮成志海波宁"

# Fixed demo accounts: (username, display name, role, org code or None)
DEMO_ACCOUNTS = [
    ("operator", "平台运维", Role.platform_operator, None),
    ("qh_policy", "省公务员局政策管理员", Role.policy_admin, "630000"),
    ("xining_sup", "西宁市委组织部督导员", Role.supervisor, "630100"),
    ("huangzhong_sup", "湟中区委组织部督导员", Role.supervisor, "630122"),
    ("duoba_admin", "多巴镇考核办管理员", Role.unit_admin, "630122100"),
    ("lushaer_admin", "鲁沙尔镇考核办管理员", Role.unit_admin, "630122101"),
    ("fgw_admin", "省发改委考核办管理员", Role.unit_admin, "630000-FGW"),
]


def find_pack(name: str = DEMO_PACK) -> Path:
    from . import PACKAGE_DIR
    import os

    candidates = [Path(os.environ["KAOHE_TENANTS_DIR"]) / name] if os.environ.get("KAOHE_TENANTS_DIR") else []
    candidates += [PACKAGE_DIR.parent.parent / "tenants" / name, Path.cwd() / "tenants" / name]
    for c in candidates:
        if (c / "org.yaml").exists():
            return c
    raise FileNotFoundError(f"tenant pack {name!r} not found (looked in {', '.join(map(str, candidates))})")


def demo_exists() -> bool:
    apply_scope(Scope.system("demo"))
    return db.session.execute(select(OrgNode.id).where(OrgNode.parent_id.is_(None), OrgNode.code == "630000")).first() is not None


def build_demo(seed: int = 2026, log=print) -> dict:
    """Build the demo province (flush only; the caller commits)."""
    apply_scope(Scope.system("demo"))
    token = set_actor(Actor(None, "demo"))
    try:
        report = load_pack(find_pack())
        root_id = report.root_id
        apply_scope(Scope.system("demo"))
        rng = random.Random(seed)
        units = list(db.session.execute(
            select(OrgNode).where(OrgNode.root_id == root_id, OrgNode.is_assessment_unit.is_(True))
            .order_by(OrgNode.path)).scalars())
        depts_by_unit: dict[int, list[OrgNode]] = {}
        for d in db.session.execute(select(OrgNode).where(OrgNode.root_id == root_id,
                                                          OrgNode.kind == OrgKind.department.value)
                                    .order_by(OrgNode.code)).scalars():
            depts_by_unit.setdefault(d.parent_id, []).append(d)
        people = _make_people(rng, root_id, units, depts_by_unit)
        log(f"  {len(people)} people in {len(units)} assessment units")
        accounts = _make_accounts(root_id, people)
        log(f"  {accounts} accounts")
        __import__("kaohe.routine.demo", fromlist=["build"]).build(root_id, log)  # routine: schemes, periods, results
        __import__("kaohe.annual.demo", fromlist=["build"]).build(root_id, log)  # annual: last year done, this year open
        return {"root_id": root_id, "people": len(people), "units": len(units), "accounts": accounts}
    finally:
        reset_actor(token)


def _name(rng: random.Random, used: set[str]) -> str:
    while True:
        n = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        if n not in used:
            used.add(n)
            return n


def _make_people(rng, root_id, units, depts_by_unit) -> list[Person]:
    used: set[str] = set()
    people: list[Person] = []
    charges: list[tuple[int, int, int]] = []  # (leader_id, dept_id, unit_id)
    total_slots = sum(4 + 9 * len(depts_by_unit.get(u.id, [])) for u in units)
    ids = iter(allocate_ids(db.session, "person", total_slots + 10))
    for u_index, unit in enumerate(units):
        depts = depts_by_unit.get(unit.id, [])
        prefix = f"{u_index + 1:02d}"
        seq = iter(range(1, 1000))

        def person(org_id, role, rank_group, post, supervisor=None, years=None):
            pid = next(ids)
            years = years if years is not None else rng.randint(1, 25)
            # New hires of the demo year joined by October, never after the demo's "today".
            month = rng.randint(1, 12)
            hire = dt.date(2026 - years, min(month, 10) if years == 0 else month, rng.randint(1, 28))
            p = Person(id=pid, root_id=root_id, org_id=org_id, unit_id=unit.id, staff_no=f"{prefix}{next(seq):03d}",
                       name=_name(rng, used), gender=rng.choice("MF"), post=post, rank_group=rank_group,
                       position_role=role, hire_date=hire,
                       probation_end=hire + dt.timedelta(days=365) if years < 1 else None,
                       supervisor_id=supervisor, job_category="general")
            people.append(p)
            return p

        head = person(unit.id, "head", "leader", "主要负责人")
        n_deputies = 2 if len(depts) <= 3 else 3
        deputies = [person(unit.id, "deputy", "leader", "分管领导", supervisor=head.id) for _ in range(n_deputies)]
        for i, d in enumerate(depts):
            deputy = deputies[i % n_deputies]
            charges.append((deputy.id, d.id, unit.id))
            dh = person(d.id, "dept_head", "staff", "科室负责人", supervisor=deputy.id)
            for _ in range(rng.randint(5, 8)):
                person(d.id, "staff", "staff", rng.choice(["科员", "一级科员", "四级主任科员", "办事员"]),
                       supervisor=dh.id, years=rng.choice([0, 2, 5, 8, 12, 20]))
    # Insert in dependency order: heads before those who name them as supervisor.
    by_id = {p.id: p for p in people}
    order = sorted(people, key=lambda p: {"head": 0, "deputy": 1, "dept_head": 2, "staff": 3}[p.position_role])
    for p in order:
        db.session.add(p)
    db.session.flush()
    for leader_id, dept_id, unit_id in charges:
        db.session.add(LeaderCharge(root_id=root_id, org_id=unit_id, leader_id=leader_id, department_id=dept_id))
    db.session.flush()
    return order


def _make_accounts(root_id: int, people: list[Person]) -> int:
    codes = {n.code: n for n in db.session.execute(select(OrgNode).where(OrgNode.root_id == root_id)).scalars()}
    pw_hash = hash_password(DEMO_PASSWORD)  # demo only: one hash shared by the demo accounts
    count = 0
    for username, display, role, code in DEMO_ACCOUNTS:
        if db.session.execute(select(User.id).where(User.username == username)).first():
            continue
        org = codes.get(code) if code else None
        user = auth_service.create_user(username=username, display_name=display, password="", org=org,
                                        password_hash=pw_hash)
        auth_service.grant_role(user, role, org, check=False)
        count += 1
    # Every person gets an account: staff_no based, e.g. 630122100-01005
    units = {n.id: n for n in codes.values()}
    for p in people:
        unit = units[p.unit_id]
        home = units[p.org_id]
        username = f"{unit.code}-{p.staff_no}".lower()
        user = auth_service.create_user(username=username, display_name=p.name, password="", org=home,
                                        person_id=p.id, password_hash=pw_hash)
        auth_service.grant_role(user, Role.staff, unit, check=False)
        if p.position_role in ("head", "deputy", "dept_head"):
            auth_service.grant_role(user, Role.leader, unit, check=False)
        count += 1
    return count


def demo_logins(root_id: int | None = None) -> list[tuple[str, str, str]]:
    """(username, role, where) for the banner printed by `kaohe demo`."""
    rows = [(u, r.value, c or "*") for u, _d, r, c in DEMO_ACCOUNTS]
    apply_scope(Scope.system("demo"))
    first = db.session.execute(
        select(Person, OrgNode.code).join(OrgNode, OrgNode.id == Person.unit_id)
        .where(OrgNode.code == "630122100").order_by(Person.staff_no)).all()
    for role in ("deputy", "dept_head", "staff"):
        for p, code in first:
            if p.position_role == role:
                rows.append((f"{code}-{p.staff_no}".lower(), {"deputy": "leader (分管领导)", "dept_head": "leader (科室负责人)",
                                                              "staff": "staff"}[role], code))
                break
    return rows
