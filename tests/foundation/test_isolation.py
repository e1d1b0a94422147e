"""Tenant isolation, route by route, enumerated from the app's URL map.

Every (endpoint, method) of ``app.url_map`` needs at least one line in CASES;
a route without one fails ``test_every_route_has_a_case`` with the line to add.
For each case the actor is logged in (pages: session cookie; /api: bearer
token) and the URL is built for objects at several nodes relative to the
actor's grant:

- own subtree        → ``ok`` (2xx / redirect)
- sibling, cousin, other province → 404, never 403 or 200, nothing written
- ``denied`` actors (in scope, wrong role) on the own object → 403
- unauthenticated    → 401 (API) / redirect to the login page (pages)

Runs on PostgreSQL: the app connects as the non-owner app
role with forced RLS, so the database wall is exercised too.  Raw-SQL checks
of RLS itself follow the route matrix.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from sqlalchemy import create_engine, text

from kaohe.core.db import tenant_tables
from kaohe.extensions import db
from kaohe.tenancy.scope import Scope, _set_db_scope

from kaohe.testing import databases
from kaohe.testing.world import PASSWORD

from .conftest import PageClient, fingerprint

# Where each actor's objects live: the first is the own subtree, the rest
# must all be invisible (404).
T_LEVEL = [("own", "T1"), ("sibling", "T2"), ("cousin", "T4"), ("second cousin", "T3"),
           ("other province", "P2-T1")]
K_LEVEL = [("own", "T1"), ("sibling county", "T4"), ("cousin county", "T3"), ("other province", "P2-T1")]
RELATIONS = {
    "t1admin": T_LEVEL, "t1leader": T_LEVEL, "t1staff": T_LEVEL,
    "countysup": K_LEVEL, "k1policy": K_LEVEL,
}
# The grant node of each actor (for the "lists show only the subtree" checks).
GRANT_NODE = {"t1admin": "T1", "t1leader": "T1", "t1staff": "T1", "countysup": "K1", "k1policy": "K1"}

# Lists of the foundation that must show something of the own subtree.
CORE_LISTS = {"orgs.Orgs", "people.people_list", "auth.Users", "audit.audit_list"}

ID_PLACEHOLDERS = ("org", "parent", "user", "grant", "person", "job")


@dataclass
class Case:
    endpoint: str
    method: str
    url: str
    actor: str | None = None
    ok: int | tuple = 200
    body: dict | None = None
    denied: tuple = ()
    leak: bool = False
    public: bool = False
    # Extra placeholders of later slices: name -> fn(app, iso, world, node_key) -> id
    targets: dict[str, Callable] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.endpoint, self.method

    @property
    def is_api(self) -> bool:
        return self.url.startswith("/api/")

    @property
    def scoped(self) -> bool:
        names = set(ID_PLACEHOLDERS) | set(self.targets)
        blob = self.url + json.dumps(self.body or {})
        return any("{" + n + "}" in blob for n in names)

    def __str__(self) -> str:
        return f"{self.method} {self.url} as {self.actor or 'anyone'}"


def case(endpoint: str, method: str, url: str, **kw: Any) -> Case:
    return Case(endpoint, method, url, **kw)



def _annual_objects(app, iso, world):
    """Annual-slice objects at every unit of the matrix, made once per test
    (before the first fingerprint): the 2026 assessment (公示 dates set), a
    不称职 outcome with its notice for the iso person (and, in T1, for
    t1staff's person), a pending review on the iso person's outcome, an open
    investigation, a special campaign and a talk."""
    cache = app.extensions.setdefault("iso_annual", {})
    if cache:
        return cache
    import datetime as dt

    from kaohe.core.clock import local_today

    from sqlalchemy import select

    from kaohe.annual.models import (AnnualAppeal, AnnualAssessment, AnnualLeave, AnnualOutcome, AnnualRecord,
                                     AnnualTalk, SpecialCampaign)
    from kaohe.people.models import Person
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import apply_scope

    today = local_today()
    with app.app_context():
        apply_scope(Scope.system("iso-annual"))
        for key in ("T1", "T2", "T3", "T4", "P2-T1"):
            unit_id, pid = iso.node[key], iso.person[key]
            root = db.session.get(OrgNode, unit_id).root_id
            a = AnnualAssessment(root_id=root, org_id=unit_id, year=2026, status="open",
                                 publicity_start=today - dt.timedelta(days=30),
                                 publicity_end=today - dt.timedelta(days=23))
            db.session.add(a)
            db.session.flush()
            own = pid if key != "T1" else db.session.execute(select(Person.id).where(
                Person.unit_id == unit_id, Person.staff_no == "d1staff")).scalar_one()
            outs = {}
            for p in {pid, own}:
                outs[p] = AnnualOutcome(root_id=root, org_id=unit_id, assessment_id=a.id, person_id=p, year=2026,
                                        grade="buchenzhi", code="4", notice_on=today)
                db.session.add(outs[p])
            db.session.flush()
            appeal = AnnualAppeal(root_id=root, org_id=unit_id, outcome_id=outs[pid].id, person_id=pid,
                                  decider_org_id=unit_id, stage="review", grade_appealed="buchenzhi",
                                  grounds=f"isomark-{key}-grounds", filed_on=today,
                                  file_by=today + dt.timedelta(days=30), decide_by=today + dt.timedelta(days=30))
            rec = AnnualRecord(root_id=root, org_id=unit_id, person_id=pid, kind="investigation", year=2026,
                               start_date=today)
            camp = SpecialCampaign(root_id=root, org_id=unit_id, year=2026, name=f"isomark-{key}-campaign",
                                   kind="flood", result_type="points", starts_on=dt.date(2026, 6, 1),
                                   ends_on=dt.date(2026, 9, 30), status="open")
            talk = AnnualTalk(root_id=root, org_id=unit_id, year=2026, person_id=pid, kind="criticism",
                              reason=f"isomark-{key}-talk")
            leave = AnnualLeave(root_id=root, org_id=unit_id, person_id=pid, year=2026, start_date=dt.date(2026, 3, 2),
                                end_date=dt.date(2026, 3, 6), kind="sick", note=f"isomark-{key}-leave")
            db.session.add_all([appeal, rec, camp, talk, leave])
            db.session.flush()
            cache[key] = {"a": a.id, "outcome": outs[own].id, "appeal": appeal.id, "rec": rec.id,
                          "campaign": camp.id, "talk": talk.id, "leave": leave.id}
        db.session.commit()
        db.session.remove()
    return cache


def _annual(name):
    return lambda app, iso, world, key: _annual_objects(app, iso, world)[key][name]


ANNUAL = {n: _annual(n) for n in ("a", "outcome", "appeal", "rec", "campaign", "talk", "leave")}


def _policy_objects(app, iso, world):
    """Policy-slice objects at every unit of the matrix, made once per test: two
    approved quota approvals (one revoked through the page, one through the API)."""
    cache = app.extensions.setdefault("iso_policy", {})
    if cache:
        return cache
    from kaohe.policy.models import QuotaApproval
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import apply_scope

    with app.app_context():
        apply_scope(Scope.system("iso-policy"))
        for key in ("T1", "T2", "T3", "T4", "P2-T1"):
            unit = db.session.get(OrgNode, iso.node[key])
            rows = [QuotaApproval(root_id=unit.root_id, org_id=unit.id, year=2026, rate=0.25, status="approved",
                                  reason=f"isomark-{key}-{n}", approver_org_id=unit.parent_id) for n in ("page", "api")]
            db.session.add_all(rows)
            db.session.flush()
            cache[key] = {"appr_page": rows[0].id, "appr_api": rows[1].id}
        db.session.commit()
        db.session.remove()
    return cache


POLICY = {n: (lambda name: lambda app, iso, world, key: _policy_objects(app, iso, world)[key][name])(n)
          for n in ("appr_page", "appr_api")}


NEW_PW = "a-long-password-1"

CASES: list[Case] = [
    # -- public ---------------------------------------------------------------
    case("static", "GET", "/static/css/app.css", public=True),
    case("health.health", "GET", "/api/v1/health", public=True),
    case("api-docs.openapi_json", "GET", "/api/v1/openapi.json", public=True),
    case("api-docs.openapi_rapidoc", "GET", "/api/v1/docs", public=True),
    case("auth.token_create", "POST", "/api/v1/auth/token", public=True, ok=422),  # no body,
    case("web.login", "GET", "/login", public=True),
    case("web.login", "POST", "/login", public=True, ok=401),  # no credentials,
    case("web.set_lang", "GET", "/lang/en", public=True, ok=302),
    # -- API: self ---------------------------------------------------------------
    case("auth.me", "GET", "/api/v1/auth/me", actor="t1staff"),
    case("auth.token_revoke", "DELETE", "/api/v1/auth/token", actor="t1staff", ok=204),
    # -- API: org tree -----------------------------------------------------------
    case("orgs.Orgs", "GET", "/api/v1/orgs", actor="countysup", leak=True),
    case("orgs.Orgs", "GET", "/api/v1/orgs?parent_id={org}", actor="t1admin"),
    case("orgs.Orgs", "POST", "/api/v1/orgs", actor="k1policy", ok=201, denied=("t1admin", "countysup"),
         body={"parent_id": "{org}", "kind": "department", "code": "NEW-{uniq}", "name": "新科室"}),
    case("orgs.OrgItem", "GET", "/api/v1/orgs/{org}", actor="t1staff"),
    case("orgs.OrgItem", "PATCH", "/api/v1/orgs/{org}", actor="k1policy", denied=("t1admin", "countysup"),
         body={"name": "改名镇"}),
    case("orgs.org_children", "GET", "/api/v1/orgs/{org}/children", actor="t1admin"),
    case("orgs.org_move", "POST", "/api/v1/orgs/{org}/move", actor="k1policy", denied=("t1admin",),
         body={"parent_id": "{parent}"}),
    # -- API: people, accounts, grants -------------------------------------------
    case("people.people_list", "GET", "/api/v1/people", actor="t1admin", leak=True),
    case("people.people_list", "GET", "/api/v1/people?org_id={org}", actor="t1admin"),
    case("people.PersonRecord", "GET", "/api/v1/people/{person}", actor="t1admin"),
    case("auth.Users", "GET", "/api/v1/users", actor="t1admin", leak=True),
    case("auth.Users", "GET", "/api/v1/users?org_id={org}", actor="t1admin"),
    case("auth.Users", "POST", "/api/v1/users", actor="t1admin", ok=201, denied=("countysup", "t1leader"),
         body={"username": "new-{uniq}@P", "display_name": "新用户", "password": NEW_PW, "org_id": "{org}"}),
    case("auth.UserItem", "GET", "/api/v1/users/{user}", actor="t1admin"),
    case("auth.UserItem", "PATCH", "/api/v1/users/{user}", actor="t1admin", denied=("t1leader",),
         body={"display_name": "改名"}),
    case("auth.grant_create", "POST", "/api/v1/users/{user}/grants", actor="t1admin", ok=201,
         denied=("countysup",), body={"role": "leader", "org_id": "{org}"}),
    case("auth.grant_delete", "DELETE", "/api/v1/users/{user}/grants/{grant}", actor="t1admin", ok=204,
         denied=("countysup",)),
    # -- API: audit and jobs -----------------------------------------------------
    case("audit.audit_list", "GET", "/api/v1/audit", actor="countysup", leak=True),
    case("audit.audit_list", "GET", "/api/v1/audit?org_id={org}", actor="t1admin", denied=("t1staff",)),
    case("jobs.job_get", "GET", "/api/v1/jobs/{job}", actor="t1admin"),
    # -- pages -------------------------------------------------------------------
    case("web.home", "GET", "/", actor="t1admin", leak=True),
    case("web.home", "GET", "/", actor="countysup", leak=True),
    case("web.logout", "POST", "/logout", actor="t1staff", ok=302),
    case("web.org_root", "GET", "/orgs", actor="t1admin", ok=302),
    case("web.org_page", "GET", "/orgs/{org}", actor="t1staff"),
    case("web.org_add_child", "POST", "/orgs/{org}/children", actor="k1policy", ok=302, denied=("t1admin",),
         body={"kind": "department", "code": "NEW-{uniq}", "name": "新科室"}),
    case("web.org_edit", "POST", "/orgs/{org}/edit", actor="k1policy", ok=302, denied=("t1admin",),
         body={"name": "改名镇", "is_assessment_unit": "on"}),
    case("web.org_move", "POST", "/orgs/{org}/move", actor="k1policy", ok=302, denied=("t1admin",),
         body={"parent_id": "{parent}"}),
    case("web.users", "GET", "/users", actor="t1admin", leak=True, denied=("countysup",)),
    case("web.user_new", "GET", "/users/new", actor="t1admin", denied=("countysup", "t1leader")),
    case("web.user_new", "POST", "/users/new", actor="t1admin", ok=302, denied=("countysup",),
         body={"username": "new-{uniq}@P", "display_name": "新用户", "password": NEW_PW, "org_id": "{org}"}),
    case("web.user_page", "GET", "/users/{user}", actor="t1admin", denied=("t1leader",)),
    case("web.user_grant", "POST", "/users/{user}/grants", actor="t1admin", ok=302, denied=("countysup",),
         body={"role": "leader", "org_id": "{org}"}),
    case("web.user_grant_delete", "POST", "/users/{user}/grants/{grant}/delete", actor="t1admin", ok=302,
         denied=("countysup",)),
    case("web.audit", "GET", "/audit", actor="countysup", leak=True, denied=("t1staff",)),
    case("web.job_page", "GET", "/jobs/{job}", actor="t1admin"),
    case("web.job_status_fragment", "GET", "/jobs/{job}/status", actor="t1admin"),
    # -- people (roster) ------------------------------------------------------------
    case("roster.roster_home", "GET", "/people/", actor="countysup", leak=True),
    case("roster.roster_page", "GET", "/people/units/{org}", actor="t1admin", denied=("countysup",)),
    case("roster.roster_template", "GET", "/people/units/{org}/template.xlsx", actor="t1admin",
         denied=("countysup",)),
    case("roster.roster_upload", "POST", "/people/units/{org}/upload", actor="t1admin", ok=302, body={},
         denied=("countysup",)),
    # -- policy ---------------------------------------------------------------------
    case("policy.index", "GET", "/policy/", actor="t1admin", ok=302),
    case("policy.grades_index", "GET", "/policy/grades", actor="t1admin", leak=True),
    case("policy.node_policy", "GET", "/policy/org/{org}", actor="t1admin", denied=("t1staff",)),
    case("policy.allocations", "GET", "/policy/org/{org}/allocations", actor="countysup", denied=("t1admin",)),
    case("policy.grades", "GET", "/policy/org/{org}/grades", actor="t1admin", denied=("t1staff",)),
    case("policy.grade_set", "POST", "/policy/org/{parent}/grades/{org}", actor="countysup", ok=302, body={}),
    case("policy.approve", "POST", "/policy/org/{parent}/grades/{org}/approve", actor="countysup", ok=422,
         body={}),
    case("policy.holidays_index", "GET", "/policy/holidays", actor="policy", ok=302, denied=("t1admin",)),
    case("policy.holidays_year", "GET", "/policy/holidays/2027", actor="policy", denied=("t1admin",)),
    case("policy.holidays_year", "POST", "/policy/holidays/2027", actor="policy", ok=422, body={},
         denied=("t1admin",)),
    case("policy_api.policy_registry", "GET", "/api/v1/policy/settings", actor="t1staff"),
    case("policy_api.policy_get", "GET", "/api/v1/orgs/{org}/policy", actor="t1admin", denied=("t1staff",)),
    case("policy_api.quotas", "GET", "/api/v1/orgs/{org}/quotas", actor="t1admin", denied=("t1staff",)),
    case("policy_api.Approvals", "GET", "/api/v1/orgs/{org}/quota-approvals", actor="t1admin",
         denied=("t1staff",)),
    case("policy_api.allocations", "GET", "/api/v1/orgs/{org}/allocations", actor="countysup",
         denied=("t1admin",)),
    case("policy_api.org_grades_list", "GET", "/api/v1/orgs/{org}/org-grades", actor="countysup",
         denied=("t1admin",)),
    case("policy_api.OrgGrade", "DELETE", "/api/v1/orgs/{org}/org-grade", actor="countysup", ok=204,
         denied=("t1admin",)),
    case("policy.change", "POST", "/policy/org/{org}/quota.base_rate/set", actor="k1policy", ok=302,
         body={"value": "18", "for_year": "0"}, denied=("t1admin",)),
    case("policy.allocation_set", "POST", "/policy/org/{parent}/allocations/{org}", actor="countysup", ok=302,
         body={"count": "0"}),
    case("policy.revoke", "POST", "/policy/approvals/{appr_page}/revoke", actor="countysup", ok=302, body={},
         targets=POLICY),
    case("policy_api.PolicyKey", "PUT", "/api/v1/orgs/{org}/policy/quota.base_rate", actor="k1policy",
         body={"value": 0.18}, denied=("t1admin",)),
    case("policy_api.PolicyKey", "DELETE", "/api/v1/orgs/{org}/policy/quota.base_rate", actor="k1policy",
         denied=("t1admin",)),
    case("policy_api.PolicyLock", "POST", "/api/v1/orgs/{org}/policy/quota.rounding/lock", actor="k1policy",
         body={}, denied=("t1admin",)),
    case("policy_api.PolicyLock", "DELETE", "/api/v1/orgs/{org}/policy/quota.rounding/lock", actor="k1policy",
         denied=("t1admin",)),
    case("policy_api.PolicyBounds", "PUT", "/api/v1/orgs/{org}/policy/quota.base_rate/bounds", actor="k1policy",
         body={"min": 0.1, "max": 0.3}, denied=("t1admin",)),
    case("policy_api.PolicyBounds", "DELETE", "/api/v1/orgs/{org}/policy/quota.base_rate/bounds",
         actor="k1policy", denied=("t1admin",)),
    case("policy_api.OrgGrade", "PUT", "/api/v1/orgs/{org}/org-grade", actor="countysup",
         body={"year": 2026, "grade": "youxiu"}, denied=("t1admin",)),
    case("policy_api.Approvals", "POST", "/api/v1/orgs/{org}/quota-approvals", actor="countysup", ok=201,
         body={"year": 2026, "rate": 0.25, "reason": "flood duty"}, denied=("t1admin",)),
    case("policy_api.approval_revoke", "POST", "/api/v1/quota-approvals/{appr_api}/revoke", actor="countysup",
         body={}, denied=("t1admin",), targets=POLICY),
    case("policy_api.allocation_set", "PUT", "/api/v1/orgs/{parent}/allocations/{org}", actor="countysup",
         body={"year": 2026, "count": 0}),
    # -- routine --------------------------------------------------------------------
    case("routine.me", "GET", "/routine/", actor="t1staff"),
    case("routine.admin_index", "GET", "/routine/admin", actor="countysup", leak=True),
    case("routine.correction", "GET", "/routine/correction", actor="t1staff"),
    case("routine.correction", "POST", "/routine/correction", actor="t1staff", ok=422, body={}),
    case("routine.sign", "POST", "/routine/sign", actor="t1staff", ok=400, body={}),
    case("routine.unit_page", "GET", "/routine/units/{org}", actor="t1admin", denied=("countysup",)),
    case("routine.unit_page", "POST", "/routine/units/{org}", actor="t1admin", ok=422, body={},
         denied=("countysup",)),
    case("routine.assignments", "GET", "/routine/units/{org}/assignments", actor="t1admin", denied=("countysup",)),
    case("routine.indicators", "GET", "/routine/units/{org}/indicators", actor="t1admin", denied=("countysup",)),
    case("routine.indicators", "POST", "/routine/units/{org}/indicators", actor="t1admin", ok=422, body={},
         denied=("countysup",)),
    case("routine.peer_groups", "GET", "/routine/units/{org}/peer-groups", actor="t1admin", denied=("countysup",)),
    case("routine.peer_groups", "POST", "/routine/units/{org}/peer-groups", actor="t1admin", ok=422, body={},
         denied=("countysup",)),
    case("routine.schemes", "GET", "/routine/units/{org}/schemes", actor="t1admin", denied=("countysup",)),
    case("routine.schemes", "POST", "/routine/units/{org}/schemes", actor="t1admin", ok=422, body={},
         denied=("countysup",)),
    case("routine_api.corrections_pending", "GET", "/api/v1/routine/corrections/pending", actor="t1leader"),
    case("routine_api.tasks_mine", "GET", "/api/v1/routine/tasks", actor="t1staff"),
    case("routine_api.Assignments", "GET", "/api/v1/routine/units/{org}/assignments", actor="t1admin",
         denied=("countysup",)),
    case("routine_api.Indicators", "GET", "/api/v1/routine/units/{org}/indicators", actor="t1admin",
         denied=("countysup",)),
    case("routine_api.PeerGroups", "GET", "/api/v1/routine/units/{org}/peer-groups", actor="t1admin",
         denied=("countysup",)),
    case("routine_api.Schemes", "GET", "/api/v1/routine/units/{org}/schemes", actor="t1admin",
         denied=("countysup",)),
    # -- annual ---------------------------------------------------------------------
    case("annual.index", "GET", "/annual/", actor="t1admin", leak=True),
    case("annual.appeals", "GET", "/annual/appeals", actor="t1admin", leak=True, denied=("t1staff",)),
    case("annual.me", "GET", "/annual/me", actor="t1staff"),
    case("annual.me_summary", "POST", "/annual/me/summary", actor="t1staff", ok=302, body={}),
    case("annual.person_page", "GET", "/annual/person/{person}/2026", actor="t1admin"),
    case("annual.specials", "GET", "/annual/specials", actor="t1admin", leak=True, denied=("t1staff",)),
    case("annual.talks", "GET", "/annual/talks", actor="t1staff", leak=True),
    case("annual.unit_page", "GET", "/annual/unit/{org}/2026", actor="t1admin", denied=("t1staff",)),
    case("annual.compute", "POST", "/annual/unit/{org}/2026/compute", actor="t1admin", ok=302, body={},
         denied=("countysup", "t1leader")),
    case("annual.org_grade", "POST", "/annual/unit/{org}/2026/org-grade", actor="countysup", ok=302, body={},
         denied=("t1staff",)),
    case("annual.records", "GET", "/annual/unit/{org}/2026/records", actor="t1admin", denied=("countysup",)),
    case("annual.reviews", "GET", "/annual/unit/{org}/2026/reviews", actor="t1admin", denied=("countysup",)),
    case("annual_api.cases", "GET", "/api/v1/annual/cases", actor="t1admin", leak=True, denied=("t1staff",)),
    case("annual_api.my_outcomes", "GET", "/api/v1/annual/me", actor="t1staff"),
    case("annual_api.assessment_get", "GET", "/api/v1/annual/units/{org}/2026", actor="t1admin",
         denied=("t1staff",)),
    case("annual_api.compute", "POST", "/api/v1/annual/units/{org}/2026/compute", actor="t1admin", ok=202,
         body={}, denied=("countysup",)),
    # -- supervision ----------------------------------------------------------------
    case("supervision.index", "GET", "/supervision/", actor="t1admin", leak=True),
    case("supervision.dashboard_page", "GET", "/supervision/orgs/{org}", actor="countysup", denied=("t1admin",)),
    case("supervision_api.person_history", "GET", "/api/v1/supervision/people/{person}/history",
         actor="t1admin", denied=("t1staff",)),
    # -- annual (more routes: objects of the slice made by _annual_objects) ---------------
    # objects of the annual slice (see _annual_objects): the unit's assessment exists
    case("annual.adjust", "POST", "/annual/unit/{org}/2026/adjust", actor="t1admin", ok=302, body={},
         denied=("countysup",), targets=ANNUAL),
    case("annual.confirm", "POST", "/annual/unit/{org}/2026/confirm", actor="t1admin", ok=302, body={},
         denied=("countysup",), targets=ANNUAL),
    case("annual.publish", "POST", "/annual/unit/{org}/2026/publish", actor="t1admin", ok=302, body={},
         denied=("countysup",), targets=ANNUAL),
    case("annual.notify", "POST", "/annual/unit/{org}/2026/notify", actor="t1admin", ok=302, body={},
         denied=("countysup",), targets=ANNUAL),
    case("annual.correct", "POST", "/annual/unit/{org}/2026/correct", actor="t1admin", ok=302, body={},
         denied=("countysup",), targets=ANNUAL),
    case("annual.file_result", "POST", "/annual/unit/{org}/2026/file", actor="t1admin", ok=302, body={},
         denied=("countysup",), targets=ANNUAL),
    case("annual.reopen", "POST", "/annual/unit/{org}/2026/reopen", actor="t1admin", ok=302, body={},
         denied=("countysup",), targets=ANNUAL),
    case("annual.reviews_xlsx", "GET", "/annual/unit/{org}/2026/reviews.xlsx", actor="t1admin",
         denied=("countysup",), targets=ANNUAL),
    case("annual.reviews_upload", "POST", "/annual/unit/{org}/2026/reviews/upload", actor="t1admin", ok=422,
         body={}, denied=("countysup",), targets=ANNUAL),
    case("annual.export_xlsx", "GET", "/annual/unit/{org}/2026/export.xlsx", actor="t1admin",
         denied=("countysup",), targets=ANNUAL),
    case("annual.publicity", "GET", "/annual/unit/{org}/2026/publicity", actor="t1admin", denied=("t1staff",),
         targets=ANNUAL),
    case("annual.records", "POST", "/annual/unit/{org}/2026/records", actor="t1admin", ok=302,
         body={"person_id": "{person}"}, denied=("countysup",), targets=ANNUAL),
    case("annual.reviews", "POST", "/annual/unit/{org}/2026/reviews", actor="t1admin", ok=302,
         body={"person_id": "{person}", "leader_score": "80"}, denied=("countysup",), targets=ANNUAL),
    case("annual.close_record", "POST", "/annual/records/{rec}/close", actor="t1admin", ok=302, body={},
         denied=("countysup",), targets=ANNUAL),
    # leave as date ranges (issue 12, finding 8)
    case("annual.leave_page", "GET", "/annual/unit/{org}/2026/leave", actor="t1admin", ok=200,
         denied=("countysup", "t1staff"), targets=ANNUAL),
    case("annual.leave_page", "POST", "/annual/unit/{org}/2026/leave", actor="t1admin", ok=(302, 422),
         body={"person_id": "{person}", "start_date": "2026-05-04", "end_date": "2026-05-08", "kind": "personal"},
         denied=("countysup", "t1staff"), targets=ANNUAL),
    case("annual.leave_edit", "POST", "/annual/leave/{leave}/edit", actor="t1admin", ok=(302, 422),
         body={"start_date": "2026-03-02", "end_date": "2026-03-04", "kind": "sick"}, denied=("countysup",),
         targets=ANNUAL),
    case("annual.leave_remove", "POST", "/annual/leave/{leave}/delete", actor="t1admin", ok=302, body={},
         denied=("countysup",), targets=ANNUAL),
    case("annual_api.leave_list", "GET", "/api/v1/annual/units/{org}/2026/leave", actor="t1admin", ok=200,
         denied=("countysup", "t1staff"), targets=ANNUAL),
    case("annual_api.leave_create", "POST", "/api/v1/annual/units/{org}/leave", actor="t1admin", ok=(201, 422),
         body={"person_id": "{person}", "year": 2026, "start_date": "2026-05-04", "end_date": "2026-05-08",
               "kind": "personal"}, denied=("countysup", "t1staff"), targets=ANNUAL),
    case("annual_api.leave_update", "PUT", "/api/v1/annual/leave/{leave}", actor="t1admin", ok=(200, 422),
         body={"start_date": "2026-03-02", "end_date": "2026-03-04", "kind": "sick"}, denied=("countysup",),
         targets=ANNUAL),
    case("annual_api.leave_delete", "DELETE", "/api/v1/annual/leave/{leave}", actor="t1admin", ok=204,
         denied=("countysup",), targets=ANNUAL),
    case("annual.decide", "POST", "/annual/appeals/{appeal}/decide", actor="t1admin", ok=302, body={},
         denied=("countysup",), targets=ANNUAL),
    case("annual.me_ack", "POST", "/annual/me/ack/{outcome}", actor="t1staff", ok=302, body={}, targets=ANNUAL),
    case("annual.me_appeal", "POST", "/annual/me/appeal/{outcome}", actor="t1staff", ok=302, body={},
         targets=ANNUAL),
    case("annual.specials", "POST", "/annual/specials", actor="t1admin", ok=302, body={"org_id": "{org}"},
         denied=("t1staff",), targets=ANNUAL),
    case("annual.special", "GET", "/annual/specials/{campaign}", actor="t1admin", targets=ANNUAL),
    case("annual.special", "POST", "/annual/specials/{campaign}", actor="t1admin", ok=302,
         body={"action": "close"}, denied=("t1staff",), targets=ANNUAL),
    case("annual.talk_record", "POST", "/annual/talks/{talk}", actor="t1admin", ok=302, body={},
         denied=("t1staff",), targets=ANNUAL),
    case("annual_api.adjust", "POST", "/api/v1/annual/units/{org}/2026/adjustments", actor="t1admin", ok=422,
         body={"person_id": "{person}", "grade": "chenzhi", "reason": "committee decision"},
         denied=("countysup",), targets=ANNUAL),
    case("annual_api.confirm", "POST", "/api/v1/annual/units/{org}/2026/confirm", actor="t1admin", ok=422,
         body={}, denied=("countysup",), targets=ANNUAL),
    case("annual_api.publish", "POST", "/api/v1/annual/units/{org}/2026/publish", actor="t1admin", ok=422,
         body={}, denied=("countysup",), targets=ANNUAL),
    case("annual_api.notify", "POST", "/api/v1/annual/units/{org}/2026/notify", actor="t1admin", ok=422,
         body={}, denied=("countysup",), targets=ANNUAL),
    case("annual_api.file_result", "POST", "/api/v1/annual/units/{org}/2026/file", actor="t1admin", ok=422,
         denied=("countysup",), targets=ANNUAL),
    case("annual_api.correct", "POST", "/api/v1/annual/units/{org}/2026/correct", actor="t1admin", ok=422,
         body={"reason": "isomark correction"}, denied=("countysup",), targets=ANNUAL),
    case("annual_api.outcomes", "GET", "/api/v1/annual/units/{org}/2026/outcomes", actor="t1admin",
         denied=("t1staff",), targets=ANNUAL),
    case("annual_api.results", "GET", "/api/v1/annual/units/{org}/2026/results", actor="t1admin",
         denied=("t1staff",), targets=ANNUAL),
    case("annual_api.record_create", "POST", "/api/v1/annual/units/{org}/records", actor="t1admin", ok=201,
         body={"person_id": "{person}", "kind": "investigation", "year": 2026, "start_date": "2026-03-01"},
         denied=("countysup",)),   # leave is recorded as date ranges (annual_api leave routes)
    case("annual_api.review_put", "PUT", "/api/v1/annual/units/{org}/2026/reviews", actor="t1admin",
         body={"person_id": "{person}", "leader_score": 80}, denied=("countysup",)),
    case("annual_api.my_summary", "PUT", "/api/v1/annual/me/2026/summary", actor="t1staff",
         body={"text": "本年度完成了岗位职责和交办的各项任务，遵守纪律。"}),
    case("annual_api.acknowledge", "POST", "/api/v1/annual/outcomes/{outcome}/acknowledge", actor="t1staff",
         targets=ANNUAL),
    case("annual_api.file_case", "POST", "/api/v1/annual/outcomes/{outcome}/cases", actor="t1staff", ok=201,
         body={"stage": "review", "grounds": "isomark grounds for the review"}, targets=ANNUAL),
    case("annual_api.decide", "POST", "/api/v1/annual/cases/{appeal}/decision", actor="t1admin",
         body={"decision": "upheld", "note": "reasons given"}, denied=("countysup",), targets=ANNUAL),
    case("annual_api.campaign_create", "POST", "/api/v1/annual/specials", actor="t1admin", ok=201,
         body={"org_id": "{org}", "name": "防汛", "result_type": "points", "starts_on": "2026-06-01",
               "ends_on": "2026-09-30"}, denied=("t1staff",)),
    case("annual_api.campaign_result", "PUT", "/api/v1/annual/specials/{campaign}/results", actor="t1admin",
         body={"person_id": "{person}", "points": 5}, denied=("t1staff",), targets=ANNUAL),
]

# Later slices keep their cases (and the objects they need) in modules of
# their own: each exposes ``cases(case) -> list[Case]``.
from . import iso_a13, iso_ballots_notify, iso_people_supervision, iso_round2, iso_routine  # noqa: E402

CASES += iso_routine.cases(case)
CASES += iso_people_supervision.cases(case)
CASES += iso_ballots_notify.cases(case)
CASES += iso_round2.cases(case, ANNUAL)
CASES += iso_a13.cases(case)


# -- the URL map must be covered ----------------------------------------------

def _routes(app) -> dict[tuple[str, str], str]:
    out = {}
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out[(rule.endpoint, method)] = rule.rule
    return out


def _suggest(endpoint: str, method: str, rule: str) -> str:
    names = {"org_id": "{org}", "node_id": "{org}", "unit_id": "{org}", "user_id": "{user}", "grant_id": "{grant}",
             "person_id": "{person}", "job_id": "{job}", "year": "2026"}

    def repl(m):
        name = m.group(1)
        # Anything else is an object of the slice: a `targets` entry makes it.
        return names.get(name, "{" + name.removesuffix("_id") + "}")

    url = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", repl, rule)
    ok = "302" if method == "POST" and not rule.startswith("/api/") else ("201" if method == "POST" else "200")
    body = ', body={...}' if method in ("POST", "PATCH", "PUT") else ""
    return f'    case("{endpoint}", "{method}", "{url}", actor="t1admin", ok={ok}{body}),'


def test_every_route_has_a_case(tmp_path):
    from kaohe import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": "sqlite://"})  # the URL map needs no database
    routes = _routes(app)
    covered = {c.key for c in CASES}
    missing = sorted(set(routes) - covered)
    stale = sorted(covered - set(routes))
    msg = []
    if missing:
        msg.append("Routes without an isolation case. Add one line per route to CASES in "
                   "tests/foundation/test_isolation.py (own subtree must answer `ok`, sibling/cousin/other "
                   "province 404):")
        msg += [_suggest(e, m, routes[(e, m)]) for e, m in missing]
        msg.append("Placeholders: {org} {parent} {user} {grant} {person} {job} (ids of objects at the node "
                   "under test), {uniq}; actors: " + ", ".join(RELATIONS) + "; public=True for routes without "
                   "login; denied=(actors in scope without the permission → 403); objects of your slice: "
                   "targets={'period': fn(app, iso, world, node_key) -> id} and use {period}.")
    if stale:
        msg.append("Cases for routes that no longer exist (remove them): " + ", ".join(f"{e} {m}" for e, m in stale))
    assert not msg, "\n".join(msg)


# -- running a case -------------------------------------------------------------

class Runner:
    def __init__(self, app, world, iso):
        self.app, self.world, self.iso = app, world, iso
        self._pages: dict[str, Any] = {}
        self._tokens: dict[str, dict] = {}
        self.uniq = uuid.uuid4().hex[:8]

    def page_client(self, username):
        pc = PageClient(self.app)
        if username:
            return pc.login(username)
        pc.get("/login")  # an anonymous session with a CSRF token
        return pc

    def bearer(self, username):
        if username not in self._tokens:
            resp = self.app.test_client().post("/api/v1/auth/token",
                                               json={"username": username, "password": PASSWORD})
            assert resp.status_code == 201, (username, resp.get_json())
            self._tokens[username] = {"Authorization": f"Bearer {resp.get_json()['token']}"}
        return self._tokens[username]

    def values(self, c: Case, node_key: str) -> dict[str, Any]:
        iso = self.iso
        vals = {"org": iso.node[node_key], "parent": iso.parent[node_key], "user": iso.user[node_key],
                "grant": iso.grant[node_key], "person": iso.person[node_key], "job": iso.job[node_key],
                "code": iso.code[node_key], "uniq": self.uniq}
        for name, fn in c.targets.items():
            vals[name] = fn(self.app, iso, self.world, node_key)
        return vals

    def build(self, c: Case, node_key: str | None):
        vals = self.values(c, node_key) if node_key else {"uniq": self.uniq}
        url = c.url.format(**vals) if node_key or "{" not in c.url.replace("{uniq}", "") else c.url
        body = None
        if c.body is not None:
            body = {}
            for k, v in c.body.items():
                m = re.fullmatch(r"\{(\w+)\}", v) if isinstance(v, str) else None
                if m and c.is_api and isinstance(vals.get(m.group(1)), int):
                    body[k] = vals[m.group(1)]
                else:
                    body[k] = v.format(**vals) if isinstance(v, str) else v
        return url, body

    def pages(self, actor):
        if actor not in self._pages:
            self._pages[actor] = self.page_client(actor)
        return self._pages[actor]

    def call(self, c: Case, actor: str | None, node_key: str | None):
        url, body = self.build(c, node_key or ("T1" if c.scoped else None))
        if c.is_api:
            headers = self.bearer(actor) if actor else {}
            client = self.app.test_client()
            kw = {"headers": headers}
            if body is not None:
                kw["json"] = body
            return client.open(url, method=c.method, **kw)
        pc = self.pages(actor) if actor else self.page_client(None)
        if c.method == "GET":
            return pc.get(url)
        return pc.post(url, body or {})


def _assert_unauthenticated(c: Case, resp):
    if c.is_api:
        assert resp.status_code == 401, f"{c} unauthenticated: {resp.status_code}, expected 401"
    else:
        assert resp.status_code in (302, 303), f"{c} unauthenticated: {resp.status_code}, expected a redirect"
        assert "/login" in resp.headers["Location"], f"{c} unauthenticated redirects to {resp.headers['Location']}"


def _visible_org_ids(app, world, actor) -> tuple[set[int], str]:
    from sqlalchemy import select

    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import apply_scope

    from .conftest import node_id

    with app.app_context():
        apply_scope(Scope.system("test"))
        node = db.session.get(OrgNode, node_id(world, GRANT_NODE[actor]))
        path = node.path
        ids = set(db.session.execute(select(OrgNode.id).where(OrgNode.path.like(path + "%"))).scalars())
        db.session.remove()
    return ids, path


def _assert_no_leak(c: Case, resp, runner: Runner):
    outside = [key for rel, key in RELATIONS[c.actor][1:]]
    body = resp.get_data(as_text=True)
    for key in outside:
        assert f"isomark-{key}-" not in body, f"{c}: the response shows an object of {key} (outside the scope)"
    if c.is_api:
        items = resp.get_json()
        if c.endpoint in CORE_LISTS:
            assert isinstance(items, list) and items, f"{c}: expected a non-empty list"
        if not isinstance(items, list):
            items = []  # not a plain list: the marker check above is what applies
        visible, path = _visible_org_ids(runner.app, runner.world, c.actor)
        for item in (i for i in items if isinstance(i, dict)):
            if "path" in item:
                assert item["path"].startswith(path), f"{c}: node {item['path']} outside {path}"
            elif item.get("org_id") is not None:
                assert item["org_id"] in visible, f"{c}: item {item} belongs to an org outside the scope"


def _ids(c):
    return f"{c.endpoint}:{c.method}:{c.url}:{c.actor}"


# PostgreSQL only: there the app runs as the non-owner role, so a request
# passes all three walls (scoped look-ups, criteria filter, RLS).  The same
# app-level checks run on SQLite in every slice's own tests.  Each test gets
# the world restored from a snapshot (the `matrix` fixture), not rebuilt.
@pytest.mark.pg
@pytest.mark.parametrize("c", CASES, ids=_ids)
def test_route_isolation(c: Case, matrix, backend):
    app, world, iso = matrix.app, matrix.world, matrix.iso
    runner = Runner(app, world, iso)
    if c.public:
        resp = runner.call(c, None, None)
        expected = c.ok if isinstance(c.ok, tuple) else (c.ok,)
        assert resp.status_code in expected, f"{c}: public route answered {resp.status_code}, expected {c.ok}"
        return
    # Log everyone in first (tokens and logins write rows of their own).
    for actor in (c.actor, *c.denied):
        runner.bearer(actor) if c.is_api else runner.pages(actor)
    # 1. unauthenticated
    _assert_unauthenticated(c, runner.call(c, None, "T1" if c.scoped else None))
    # 2. in scope, without the permission → 403 (and nothing written)
    for actor in c.denied:
        before = fingerprint(app)
        resp = runner.call(c, actor, "T1" if c.scoped else None)
        assert resp.status_code == 403, f"{c} as {actor} (in scope, no permission): {resp.status_code}, expected 403"
        assert fingerprint(app) == before, f"{c} as {actor} wrote something"
    # 3. outside the actor's subtree → 404 (never 403, never 200), nothing written
    if c.scoped:
        for relation, key in RELATIONS[c.actor][1:]:
            before = fingerprint(app)
            resp = runner.call(c, c.actor, key)
            assert resp.status_code == 404, (
                f"{c} with the object in the {relation} ({key}): {resp.status_code}, expected 404")
            assert fingerprint(app) == before, f"{c} ({relation}) wrote something"
    # 4. own subtree → ok
    resp = runner.call(c, c.actor, "T1" if c.scoped else None)
    expected = c.ok if isinstance(c.ok, tuple) else (c.ok,)
    assert resp.status_code in expected, (
        f"{c} on its own subtree: {resp.status_code}, expected {c.ok}: {resp.get_data(as_text=True)[:400]}")
    if c.leak:
        _assert_no_leak(c, resp, runner)


# -- the database wall itself ---------------------------------------------------

def _scope_of(app, world, username):
    """The scope the app would give ``username`` (computed by the app)."""
    from sqlalchemy import select

    from kaohe.auth import service
    from kaohe.auth.models import User
    from kaohe.tenancy.scope import apply_scope

    with app.test_request_context():
        apply_scope(Scope.system("test"))
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        grants = service.load_grants(user)
        scope = service.scope_for(user, grants)
        db.session.remove()
    return scope


def _expected_rows(owner_engine, table: str, scope: Scope) -> int:
    """Rows of ``table`` the scope may see, computed independently from the
    data as the owner (a superuser, so RLS does not apply there)."""
    root, uid = scope.root_id, scope.user_id
    pat = " OR ".join(f"o.path LIKE '{p}%'" for p in scope.paths) or "false"
    in_org = (f"(t.root_id = {root} AND t.org_id IN (SELECT o.id FROM org_node o "
              f"WHERE o.root_id = {root} AND ({pat})))")
    with owner_engine.connect() as c:
        cols = {r[0] for r in c.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = :t"), {"t": table})}
        if table == "org_node":
            anc = ",".join(str(i) for i in scope.ancestor_ids) or "NULL"
            where = f"t.root_id = {root} AND (({pat.replace('o.path', 't.path')}) OR t.id IN ({anc}))"
        elif table == "user_account":
            where = f"{in_org} OR t.id = {uid}"
        elif table == "role_grant":
            where = f"{in_org} OR t.user_id = {uid}"
        elif table == "api_token":
            where = f"t.user_id = {uid}"
        elif "org_id" in cols:
            where = in_org
        else:
            where = f"t.root_id = {root}"
        return c.execute(text(f"SELECT count(*) FROM {table} t WHERE {where}")).scalar_one()


@pytest.mark.pg
def test_raw_select_returns_only_in_scope_rows(app, world, iso, bearer, owner_engine, app_engine, backend):
    bearer("t1admin")  # an api_token row to look at
    bearer("p2-t1admin")
    tables = tenant_tables(db.metadata)
    assert {"org_node", "user_account", "person", "audit_log", "job", "role_grant"} <= set(tables)
    for username in ("t1admin", "countysup", "p2-t1admin"):
        scope = _scope_of(app, world, username)
        assert scope.root_id is not None and scope.paths
        for table in tables:
            with owner_engine.connect() as c:
                total = c.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            expected = _expected_rows(owner_engine, table, scope)
            with app_engine.connect() as conn:
                with conn.begin():
                    with app.app_context(): _set_db_scope(conn, scope)  # noqa: E701  (signs with the app key)
                    rows = conn.execute(text(f"SELECT * FROM {table}")).mappings().all()
            assert len(rows) == expected, f"{username}: SELECT * FROM {table} gave {len(rows)}, expected {expected}"
            for row in rows:
                if "root_id" in row and row["root_id"] is not None:
                    assert row["root_id"] == scope.root_id, f"{username} sees {table} row of another province"
            if total:
                assert len(rows) < total, f"{username}: {table} shows every row ({total}); RLS is not filtering"


@pytest.mark.pg
def test_no_scope_sees_nothing(app, world, iso, app_engine, backend):
    """A job or query run without any scope fails closed."""
    with app_engine.connect() as conn:
        for table in tenant_tables(db.metadata):
            n = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            assert n == 0, f"{table}: {n} rows visible without a scope"
            conn.rollback()
        # ... and it cannot write either.
        with pytest.raises(Exception) as exc:
            with conn.begin():
                conn.execute(text(
                    "INSERT INTO person (root_id, org_id, unit_id, staff_no, name, rank_group, job_category, "
                    "position_role, active, created_at, version) VALUES (:r, :o, :o, 'x', 'x', 'staff', "
                    "'general', 'staff', true, now(), 1)"), {"r": world.ids["P1-P"], "o": world.ids["P1-T1"]})
        assert "row-level security" in str(exc.value)


@pytest.mark.pg
def test_scope_does_not_leak_into_the_next_transaction(app, world, iso, backend):
    """SET LOCAL is transaction-local: a pooled connection handed to the next
    transaction carries no scope (SET instead of SET LOCAL would)."""
    scope = _scope_of(app, world, "t1admin")
    eng = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_size=1, max_overflow=0)
    try:
        with eng.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            conn.rollback()
            with conn.begin():
                with app.app_context(): _set_db_scope(conn, scope)  # noqa: E701  (signs with the app key)
                assert conn.execute(text("SELECT count(*) FROM person")).scalar_one() > 0
                assert conn.execute(text("SELECT (kaohe_scope()).root_id")).scalar_one() == scope.root_id
        with eng.connect() as conn:  # the same pooled connection
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == pid
            assert conn.execute(text("SELECT count(*) FROM person")).scalar_one() == 0
            assert conn.execute(text("SELECT coalesce(current_setting('kaohe.scope', true), '')")).scalar_one() == ""
            conn.rollback()
    finally:
        eng.dispose()


@pytest.mark.pg
def test_app_session_scope_is_per_transaction(app, world, iso, backend):
    """Through the app's own session: after a commit the next transaction
    starts with the session's current scope, not the previous one."""
    from sqlalchemy import func, select

    from kaohe.people.models import Person
    from kaohe.tenancy.scope import apply_scope

    t1 = _scope_of(app, world, "t1admin")
    p2 = _scope_of(app, world, "p2-t1admin")
    with app.app_context():
        apply_scope(t1)
        n1 = db.session.execute(text("SELECT count(*) FROM person")).scalar_one()
        roots1 = set(db.session.execute(text("SELECT DISTINCT root_id FROM person")).scalars())
        db.session.commit()
        apply_scope(p2)
        roots2 = set(db.session.execute(text("SELECT DISTINCT root_id FROM person")).scalars())
        db.session.commit()
        apply_scope(Scope())
        n0 = db.session.execute(select(func.count()).select_from(Person)).scalar_one()
        raw0 = db.session.execute(text("SELECT count(*) FROM person")).scalar_one()
        db.session.remove()
    assert n1 > 0 and roots1 == {t1.root_id}
    assert roots2 == {p2.root_id}
    assert n0 == 0 and raw0 == 0


# -- privileged database roles ----------------------------------------------------

@pytest.mark.pg
def test_refuses_privileged_role_when_asked(db_urls, tmp_path, backend):
    from kaohe import create_app
    from kaohe.core.dbrole import PrivilegedDatabaseRole, check_database_role

    cfg = {"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
           "SQLALCHEMY_DATABASE_URI": databases.admin_url_for(db_urls["owner_url"]),
           "KAOHE_REFUSE_PRIVILEGED_DB_ROLE": True}
    app = create_app(cfg)
    with app.app_context():
        with pytest.raises(PrivilegedDatabaseRole) as exc:
            check_database_role(app)
        assert "superuser" in str(exc.value)
        # Requests that reach the database are refused too.
        resp = app.test_client().post("/api/v1/auth/token", json={"username": "x", "password": "y"})
        assert resp.status_code == 503, resp.get_json()
        assert "privileged database role" in resp.get_json()["message"]
        db.engine.dispose()


@pytest.mark.pg
def test_warns_only_in_development(db_urls, tmp_path, caplog, backend):
    from kaohe import create_app
    from kaohe.core.dbrole import check_database_role

    cfg = {"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
           "SQLALCHEMY_DATABASE_URI": databases.admin_url_for(db_urls["owner_url"]),
           "KAOHE_REFUSE_PRIVILEGED_DB_ROLE": False}
    app = create_app(cfg)
    with app.app_context():
        with caplog.at_level("WARNING"):
            problems = check_database_role(app)
        assert problems and any("superuser" in p for p in problems)
        assert any("RLS" in r.getMessage() for r in caplog.records)
        resp = app.test_client().post("/api/v1/auth/token", json={"username": "x", "password": "y"})
        assert resp.status_code == 401
        db.engine.dispose()


@pytest.mark.pg
def test_refuses_table_owner(db_urls, owner_engine, tmp_path, backend):
    """A non-superuser that owns a table (so could switch RLS off) is refused."""
    from sqlalchemy.engine import make_url

    from kaohe import create_app
    from kaohe.core.dbrole import PrivilegedDatabaseRole, check_database_role

    role = f"kaohe_owner_{uuid.uuid4().hex[:6]}"
    owner_engine = create_engine(databases.admin_url_for(db_urls["owner_url"]))  # CREATE ROLE needs more
    with owner_engine.connect() as c:
        c.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS"))
        c.execute(text(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}"))
        c.execute(text(f"ALTER TABLE login_throttle OWNER TO {role}"))
        c.commit()
    try:
        url = make_url(db_urls["owner_url"]).set(username=role).render_as_string(hide_password=False)
        app = create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                          "SQLALCHEMY_DATABASE_URI": url, "KAOHE_REFUSE_PRIVILEGED_DB_ROLE": True})
        with app.app_context():
            with pytest.raises(PrivilegedDatabaseRole) as exc:
                check_database_role(app)
            assert "login_throttle" in str(exc.value)
            db.engine.dispose()
    finally:
        with owner_engine.connect() as c:
            c.execute(text(f"ALTER TABLE login_throttle OWNER TO {databases.OWNER_ROLE}"))
            c.execute(text(f"REVOKE ALL ON SCHEMA public FROM {role}"))
            c.execute(text(f"DROP ROLE {role}"))
            c.commit()
        owner_engine.dispose()


@pytest.mark.pg
def test_app_role_passes_the_check(app, backend):
    from kaohe.core.dbrole import check_database_role

    app.config["KAOHE_REFUSE_PRIVILEGED_DB_ROLE"] = True
    with app.app_context():
        assert check_database_role(app) == []


# -- unique violations do not reveal hidden rows ------------------------------------

def test_org_code_of_another_province_is_free(app, world, bearer, backend):
    """Codes are unique per province: reusing a code that exists only in the
    other province succeeds (a conflict would reveal the hidden row)."""
    h = bearer("policy")
    client = app.test_client()
    resp = client.post("/api/v1/orgs", headers=h, json={
        "parent_id": world.ids["P1-K1"], "kind": "township", "code": "P2-T1", "name": "同码镇"})
    assert resp.status_code == 201, resp.get_json()
    # In the own province the same code is a plain 409 naming the field.
    resp = client.post("/api/v1/orgs", headers=h, json={
        "parent_id": world.ids["P1-K1"], "kind": "township", "code": "T2", "name": "重码镇"})
    assert resp.status_code == 409 and "code" in resp.get_json()["errors"]


def test_username_taken_elsewhere_answers_like_a_never_used_name(app, world, bearer, backend):
    """A name taken in another province is outside the unit admin's namespace
    and answers exactly like a name nobody holds (kaohe.auth.namespace)."""
    h = bearer("t1admin")
    client = app.test_client()
    before = fingerprint(app)
    body = {"display_name": "x", "password": NEW_PW, "org_id": world.ids["P1-T1"]}
    taken = client.post("/api/v1/users", headers=h, json={**body, "username": "P2-T1ADMIN"})
    free = client.post("/api/v1/users", headers=h, json={**body, "username": "P2-NOBODY"})
    assert taken.status_code == free.status_code == 422
    assert taken.get_json() == free.get_json()
    text_ = json.dumps(taken.get_json(), ensure_ascii=False)
    for secret in ("P2-", "p2-", str(world.ids["P2-T1"]), "display"):
        assert secret not in text_, f"422 reveals {secret!r}: {text_}"
    assert fingerprint(app) == before


# -- schema -------------------------------------------------------------------------

@pytest.mark.pg
def test_every_tenant_table_has_forced_rls(app, owner_engine, backend):
    role = app.config.get("KAOHE_APP_ROLE", "kaohe_app")
    with owner_engine.connect() as c:
        tables = [r[0] for r in c.execute(text(
            "SELECT DISTINCT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'root_id'"))]
        assert "org_node" in tables and "audit_log" in tables
        bad = []
        for t in tables:
            rls, force = c.execute(text(
                "SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
                "WHERE relname = :t AND relnamespace = 'public'::regnamespace"), {"t": t}).one()
            policies = c.execute(text("SELECT count(*) FROM pg_policies WHERE tablename = :t"), {"t": t}).scalar_one()
            if not (rls and force and policies):
                bad.append(f"{t} (rls={rls}, force={force}, policies={policies})")
        assert not bad, "tables with root_id lacking forced RLS: " + ", ".join(bad)
        owned = [r[0] for r in c.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = :r"), {"r": role})]
        assert owned == [], f"the app role owns {owned}"
        attrs = c.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}).one()
        assert tuple(attrs) == (False, False)
        for priv in ("UPDATE", "DELETE", "TRUNCATE"):
            assert not c.execute(text("SELECT has_table_privilege(:r, 'audit_log', :p)"),
                                 {"r": role, "p": priv}).scalar_one(), f"app role has {priv} on audit_log"
        assert c.execute(text("SELECT has_table_privilege(:r, 'audit_log', 'INSERT')"), {"r": role}).scalar_one()
