"""The policy API end to end: provenance, 422 messages, permissions,
isolation (404 across counties), org grades, quotas, approvals, allocations."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kaohe.audit.models import AuditEntry
from kaohe.extensions import db
from kaohe.people.models import Person


def _setting(body, key):
    for g in body["groups"]:
        for s in g["settings"]:
            if s["key"] == key:
                return s
    raise KeyError(key)


def _add_people(app, world, unit_key, n_staff, n_leaders=0, prefix="x"):
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system("t"))
        unit_id = world.ids[unit_key]
        root_id = world.ids["P1-P"] if unit_key.startswith("P1-") else world.ids["P2-P"]
        for i in range(n_staff + n_leaders):
            db.session.add(Person(root_id=root_id, org_id=unit_id, unit_id=unit_id, staff_no=f"{prefix}{i}",
                                  name=f"p{i}", rank_group="leader" if i < n_leaders else "staff"))
        db.session.commit()
        db.session.remove()


def test_read_and_change_policy(client, world, api_token):
    h = api_token("policy")
    p, k1, t1 = world.ids["P1-P"], world.ids["P1-K1"], world.ids["P1-T1"]
    r = client.get(f"/api/v1/orgs/{t1}/policy?year=2026", headers=h)
    assert r.status_code == 200
    s = _setting(r.get_json(), "quota.base_rate")
    assert (s["value"], s["source"], s["inherited"], s["kind"]) == (0.2, None, True, "bounded")
    assert s["zh"] and s["en"]

    r = client.put(f"/api/v1/orgs/{p}/policy/quota.base_rate/bounds", json={"min": 0.1, "max": 0.3}, headers=h)
    assert r.status_code == 200, r.get_json()
    r = client.put(f"/api/v1/orgs/{k1}/policy/quota.base_rate", json={"value": 0.35}, headers=h)
    assert r.status_code == 422
    msg = r.get_json()["errors"]["quota.base_rate"][0]
    assert "30%" in msg and world.p1.P.code in msg
    r = client.put(f"/api/v1/orgs/{k1}/policy/quota.base_rate", json={"value": 0.25}, headers=h)
    assert r.status_code == 200 and r.get_json()["setting"]["value"] == 0.25
    r = client.get(f"/api/v1/orgs/{t1}/policy", headers=h)
    s = _setting(r.get_json(), "quota.base_rate")
    assert (s["value"], s["source"]["id"], s["bounds"]["max_by"]["id"]) == (0.25, k1, p)

    # unknown key and wrong type: 422 naming the key
    r = client.put(f"/api/v1/orgs/{k1}/policy/quota.bogus", json={"value": 1}, headers=h)
    assert r.status_code == 422 and "quota.bogus" in r.get_json()["errors"]
    r = client.put(f"/api/v1/orgs/{k1}/policy/routine.cycle", json={"value": 3}, headers=h)
    assert r.status_code == 422 and "routine.cycle" in r.get_json()["errors"]

    # lock at the province: the county override is cleared; the county can no longer change it
    r = client.post(f"/api/v1/orgs/{p}/policy/quota.base_rate/lock", json={"reason": "uniform rate"}, headers=h)
    assert r.status_code == 200 and [c["org_id"] for c in r.get_json()["cleared_below"]] == [k1]
    r = client.put(f"/api/v1/orgs/{k1}/policy/quota.base_rate", json={"value": 0.2}, headers=h)
    assert r.status_code == 422 and "locked by" in r.get_json()["errors"]["quota.base_rate"][0]
    s = _setting(client.get(f"/api/v1/orgs/{k1}/policy", headers=h).get_json(), "quota.base_rate")
    assert s["locked_by"]["id"] == p and s["editable"] is False
    assert client.delete(f"/api/v1/orgs/{p}/policy/quota.base_rate/lock", headers=h).status_code == 200
    r = client.delete(f"/api/v1/orgs/{p}/policy/quota.base_rate/bounds", headers=h)
    assert r.status_code == 200 and r.get_json()["changed"] is True


def test_isolation_between_counties(client, world, api_token):
    h = api_token("countysup")          # supervisor of K1
    k2, t4, t1 = world.ids["P1-K2"], world.ids["P1-T4"], world.ids["P1-T1"]
    p2_t1 = world.ids["P2-T1"]
    for url in (f"/api/v1/orgs/{k2}/policy", f"/api/v1/orgs/{t4}/policy", f"/api/v1/orgs/{t4}/quotas",
                f"/api/v1/orgs/{k2}/allocations", f"/api/v1/orgs/{k2}/org-grades", f"/api/v1/orgs/{p2_t1}/policy"):
        assert client.get(url, headers=h).status_code == 404, url
    assert client.put(f"/api/v1/orgs/{t4}/policy/quota.base_rate", json={"value": 0.2},
                      headers=h).status_code == 404
    assert client.put(f"/api/v1/orgs/{t4}/org-grade", json={"year": 2026, "grade": "youxiu"},
                      headers=h).status_code == 404
    assert client.put(f"/api/v1/orgs/{k2}/allocations/{t4}", json={"year": 2026, "count": 1},
                      headers=h).status_code == 404
    # inside the scope it works
    assert client.get(f"/api/v1/orgs/{t1}/policy", headers=h).status_code == 200
    # a unit admin may read but not change policy (403 inside the scope)
    ha = api_token("t1admin")
    assert client.get(f"/api/v1/orgs/{t1}/policy", headers=ha).status_code == 200
    assert client.put(f"/api/v1/orgs/{t1}/policy/quota.base_rate", json={"value": 0.2},
                      headers=ha).status_code == 403


def test_org_grade_quota_and_approval(app, client, world, api_token):
    _add_people(app, world, "P1-T1", 24, 4)             # + the 6 people of the world
    h = api_token("policy")
    p, t1, k1 = world.ids["P1-P"], world.ids["P1-T1"], world.ids["P1-K1"]
    table = {"youxiu": 0.2, "lianghao": 0.15, "yiban": 0.12, "jiaocha": 0.1, "major_contribution": 0.3}
    assert client.put(f"/api/v1/orgs/{p}/policy/quota.rate_by_org_grade", json={"value": table},
                      headers=h).status_code == 200

    hs = api_token("countysup")
    # the unit itself may not grade itself
    assert client.put(f"/api/v1/orgs/{t1}/org-grade", json={"year": 2026, "grade": "youxiu"},
                      headers=api_token("t1admin")).status_code == 403
    r = client.put(f"/api/v1/orgs/{t1}/org-grade", json={"year": 2026, "grade": "yiban"}, headers=hs)
    assert r.status_code == 200 and r.get_json()["grade"] == "yiban"
    r = client.put(f"/api/v1/orgs/{t1}/org-grade", json={"year": 2026, "grade": "excellent"}, headers=hs)
    assert r.status_code == 422 and "grade" in str(r.get_json()["errors"])

    q = client.get(f"/api/v1/orgs/{t1}/quotas?year=2026", headers=hs).get_json()[0]
    # 34 active people, 12% → 4.08 → 4 (floor)
    assert (q["headcount"], q["rate"], q["total"]) == (34, 0.12, 4)
    assert any("12%" in st["en"] and "4.08" in st["en"] for st in q["steps"])

    r = client.put(f"/api/v1/orgs/{t1}/org-grade", json={"year": 2026, "grade": "youxiu",
                                                          "major_contribution": True}, headers=hs)
    q = client.get(f"/api/v1/orgs/{t1}/quotas?year=2026", headers=hs).get_json()[0]
    assert (q["rate"], q["needs_approval"], q["table_rate"], q["total"]) == (0.2, True, 0.3, 6)

    # approvals: not above the hard max, not from the unit itself, needs a reason
    r = client.post(f"/api/v1/orgs/{t1}/quota-approvals", json={"year": 2026, "rate": 0.35, "reason": "flood"},
                    headers=hs)
    assert r.status_code == 422 and "hard maximum" in r.get_json()["errors"]["rate"][0]
    r = client.post(f"/api/v1/orgs/{t1}/quota-approvals", json={"year": 2026, "rate": 0.3, "reason": "flood duty"},
                    headers=hs)
    assert r.status_code == 201, r.get_json()
    appr = r.get_json()
    assert appr["approver_org_id"] == k1 and appr["status"] == "approved"
    q = client.get(f"/api/v1/orgs/{t1}/quotas?year=2026", headers=hs).get_json()[0]
    assert (q["rate"], q["needs_approval"], q["total"]) == (0.3, False, 10)
    r = client.post(f"/api/v1/quota-approvals/{appr['id']}/revoke", json={"reason": "error"}, headers=hs)
    assert r.status_code == 200 and r.get_json()["status"] == "revoked"
    with app.app_context():
        from kaohe.tenancy.scope import Scope, apply_scope
        apply_scope(Scope.system("t"))
        actions = {a for (a,) in db.session.execute(select(AuditEntry.action))}
    assert {"policy.org_grade.set", "policy.quota_approval.approve", "policy.quota_approval.revoke"} <= actions


def test_rank_group_pools_through_api(app, client, world, api_token):
    _add_people(app, world, "P1-T2", 16, 4)
    h = api_token("policy")
    assert client.put(f"/api/v1/orgs/{world.ids['P1-P']}/policy/quota.rank_group_pools", json={"value": True},
                      headers=h).status_code == 200
    q = client.get(f"/api/v1/orgs/{world.ids['P1-T2']}/quotas?year=2026", headers=h).get_json()[0]
    assert [(p["group"], p["base"], p["quota"]) for p in q["pools"]] == [("leader", 4, 0), ("staff", 16, 3)]
    assert q["total"] == 3


def test_allocations(app, client, world, api_token):
    _add_people(app, world, "P1-T1", 30)
    _add_people(app, world, "P1-T2", 14, prefix="y")
    hs = api_token("countysup")
    k1, t1, t2 = world.ids["P1-K1"], world.ids["P1-T1"], world.ids["P1-T2"]
    o = client.get(f"/api/v1/orgs/{k1}/allocations?year=2026", headers=hs).get_json()
    # 6 + 30 + 14 = 50 people in K1's subtree at 20% → 10
    assert (o["total"], o["allocated"], o["remaining"], o["total_source"]) == (10, 0, 10, "computed")
    r = client.put(f"/api/v1/orgs/{k1}/allocations/{t1}", json={"year": 2026, "count": 7}, headers=hs)
    assert r.status_code == 200 and r.get_json()["remaining"] == 3
    r = client.put(f"/api/v1/orgs/{k1}/allocations/{t2}", json={"year": 2026, "count": 4}, headers=hs)
    assert r.status_code == 422 and "3 left" in r.get_json()["errors"]["count"][0]
    r = client.put(f"/api/v1/orgs/{k1}/allocations/{t2}", json={"year": 2026, "count": 3}, headers=hs)
    assert r.status_code == 200 and r.get_json()["remaining"] == 0
    # the unit's quota is now its allocation
    q = client.get(f"/api/v1/orgs/{t1}/quotas?year=2026", headers=hs).get_json()[0]
    assert (q["allocated"], q["total"]) == (7, 7)
    # only direct children; the unit admin cannot allocate
    r = client.put(f"/api/v1/orgs/{k1}/allocations/{world.ids['P1-T1-D1']}", json={"year": 2026, "count": 1},
                   headers=hs)
    assert r.status_code == 422
    assert client.put(f"/api/v1/orgs/{t1}/allocations/{world.ids['P1-T1-D1']}", json={"year": 2026, "count": 1},
                      headers=api_token("t1admin")).status_code == 403
    # the township sees the allocation it received
    assert client.get(f"/api/v1/orgs/{t1}/quotas?year=2026",
                      headers=api_token("t1admin")).get_json()[0]["allocated"] == 7


def test_move_releases_allocation(app, client, world, api_token):
    hs = api_token("policy")
    k1, k2, t2 = world.ids["P1-K1"], world.ids["P1-K2"], world.ids["P1-T2"]
    _add_people(app, world, "P1-T2", 20)
    assert client.put(f"/api/v1/orgs/{k1}/allocations/{t2}", json={"year": 2026, "count": 2},
                      headers=hs).status_code == 200
    r = client.post(f"/api/v1/orgs/{t2}/move", json={"parent_id": k2}, headers=hs)
    assert r.status_code == 200, r.get_json()
    o = client.get(f"/api/v1/orgs/{k1}/allocations?year=2026", headers=hs).get_json()
    assert o["allocated"] == 0
    with app.app_context():
        from kaohe.tenancy.scope import Scope, apply_scope
        apply_scope(Scope.system("t"))
        e = db.session.execute(select(AuditEntry).where(AuditEntry.action == "policy.allocation.release")).scalar_one()
    assert e.before["count"] == 2 and e.org_id == k1


def test_openapi_lists_policy_endpoints(client):
    spec = client.get("/api/v1/openapi.json")
    if spec.status_code == 404:
        spec = client.get("/api/openapi.json")
    paths = spec.get_json()["paths"]
    for p in ("/api/v1/orgs/{org_id}/policy", "/api/v1/orgs/{org_id}/policy/{key}",
              "/api/v1/orgs/{org_id}/policy/{key}/lock", "/api/v1/orgs/{org_id}/policy/{key}/bounds",
              "/api/v1/orgs/{org_id}/org-grade", "/api/v1/orgs/{org_id}/quotas",
              "/api/v1/orgs/{org_id}/allocations/{child_id}", "/api/v1/orgs/{org_id}/quota-approvals"):
        assert p in paths, p
