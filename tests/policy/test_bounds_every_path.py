"""Policy bounds and locks on every write path (issue 12.3): one validator
refuses a value outside a bound or above the province's rate ceiling — on the
page, the API, a pack load and the CLI — naming the bound and who set it, so
nothing is stored that would later be computed with another value; and the
cycle policy governs period creation (the period's kind is the effective,
possibly locked, routine.cycle; periods of a unit never overlap)."""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from sqlalchemy import select

from kaohe.audit.service import Actor, reset_actor, set_actor
from kaohe.extensions import db
from kaohe.policy import settings
from kaohe.policy.models import PolicySetting
from kaohe.tenancy.models import OrgNode
from kaohe.tenancy.scope import Scope, apply_scope

TENANTS = Path(__file__).resolve().parents[2] / "tenants"


def _as_system(app, fn):
    with app.app_context():
        apply_scope(Scope.system("t"))
        tok = set_actor(Actor(None, "t"))
        try:
            out = fn()
            db.session.commit()
            return out
        finally:
            reset_actor(tok)
            db.session.remove()


def _stored(app, org_id, key):
    def q():
        return [(r.year, r.value) for r in db.session.execute(select(PolicySetting).where(
            PolicySetting.org_id == org_id, PolicySetting.key == key, PolicySetting.has_value.is_(True))).scalars()]
    return _as_system(app, q)


def _year_bound(app, world, key="quota.base_rate"):
    """The province bounds the base rate to 30% for 2026 only."""
    _as_system(app, lambda: settings.set_bounds(db.session.get(OrgNode, world.ids["P1-P"]), key,
                                                max_value=0.30, year=2026))


def test_page_refuses_an_all_years_value_above_a_year_bound(app, world, login):
    _year_bound(app, world)
    k1 = world.ids["P1-K1"]
    b = login("policy")
    r = b.post(f"/policy/org/{k1}/quota.base_rate/set?year=2026", {"value": "45", "for_year": "0"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "超出" in html and "30%" in html and world.p1.P.name in html
    assert _stored(app, k1, "quota.base_rate") == []


def test_api_refuses_a_rate_above_the_province_ceiling(app, client, world, api_token):
    # no bound at all: the ceiling is the province's quota.hard_max_rate (30%)
    _as_system(app, lambda: settings.set_value(db.session.get(OrgNode, world.ids["P1-P"]), "quota.hard_max_rate", 0.30))
    k1 = world.ids["P1-K1"]
    r = client.put(f"/api/v1/orgs/{k1}/policy/quota.base_rate", json={"value": 0.45}, headers=api_token("policy"))
    assert r.status_code == 422, r.get_json()
    msg = r.get_json()["errors"]["quota.base_rate"][0]
    assert f"超出{world.p1.P.name}设定的上限 30%" in msg
    r = client.put(f"/api/v1/orgs/{k1}/policy/quota.rate_by_org_grade", headers=api_token("policy"), json={
        "value": {"youxiu": 0.2, "lianghao": 0.2, "yiban": 0.2, "jiaocha": 0.2, "major_contribution": 0.4}})
    assert r.status_code == 422 and "30%" in r.get_json()["errors"]["quota.rate_by_org_grade"][0]
    assert _stored(app, k1, "quota.base_rate") == []
    # 30% itself is fine; the province cannot then lower its ceiling below it
    assert client.put(f"/api/v1/orgs/{k1}/policy/quota.base_rate", json={"value": 0.30},
                      headers=api_token("policy")).status_code == 200
    r = client.put(f"/api/v1/orgs/{world.ids['P1-P']}/policy/quota.hard_max_rate", json={"value": 0.25},
                   headers=api_token("policy"))
    assert r.status_code == 422 and world.p1.K1.code in r.get_json()["errors"]["quota.hard_max_rate"][0]


def test_cli_set_is_checked_like_the_page(app, runner, world):
    _year_bound(app, world)
    code = world.p1.K1.code
    r = runner.invoke(args=["policy", "set", code, "quota.base_rate", "0.45"])
    assert r.exit_code != 0 and "30%" in r.output and world.p1.P.name in r.output and "Traceback" not in r.output
    assert _stored(app, world.ids["P1-K1"], "quota.base_rate") == []
    r = runner.invoke(args=["policy", "set", code, "quota.base_rate", "0.25"])
    assert r.exit_code == 0, r.output
    assert _stored(app, world.ids["P1-K1"], "quota.base_rate") == [(0, 0.25)]


def test_pack_load_refuses_a_rate_above_the_ceiling(app, runner, tmp_path):
    pack = tmp_path / "bad"
    shutil.copytree(TENANTS / "qinghai-demo", pack)
    rel = "630100-Xining/policy.yaml"
    data = yaml.safe_load((pack / rel).read_text())
    data["settings"]["quota.max_rate_without_approval"] = {"value": 0.45}   # not bounded; the ceiling is 30%
    (pack / rel).write_text(yaml.safe_dump(data, allow_unicode=True))
    r = runner.invoke(args=["tenants", "load", str(pack)])
    assert r.exit_code != 0, r.output
    assert "quota.max_rate_without_approval" in r.output and "30%" in r.output and "Traceback" not in r.output
    with app.app_context():
        apply_scope(Scope.system("t"))
        assert db.session.execute(select(PolicySetting).where(
            PolicySetting.key == "quota.max_rate_without_approval", PolicySetting.value.is_not(None))).first() is None


# -- the cycle governs period creation ---------------------------------------------------------

def _lock_quarterly(app, world):
    def go():
        p = db.session.get(OrgNode, world.ids["P1-P"])
        settings.set_value(p, "routine.cycle", "quarter")
        settings.lock(p, "routine.cycle")
    _as_system(app, go)


def test_period_kind_must_be_the_locked_cycle(app, client, world, api_token):
    _lock_quarterly(app, world)
    t1 = world.ids["P1-T1"]
    h = api_token("t1admin")
    for cycle, seq in (("month", 2), ("half_year", 1)):
        r = client.post("/api/v1/routine/periods", json={"unit_id": t1, "year": 2026, "seq": seq, "cycle": cycle},
                        headers=h)
        assert r.status_code == 422, r.get_json()
        msg = r.get_json()["errors"]["cycle"][0]
        assert world.p1.P.name in msg and "锁定" in msg and "quarterly" in msg
    assert client.post("/api/v1/routine/periods", json={"unit_id": t1, "year": 2026, "seq": 1, "cycle": "quarter"},
                       headers=h).status_code == 201


def test_period_page_refuses_another_cycle(app, world, login):
    _lock_quarterly(app, world)
    b = login("t1admin")
    t1 = world.ids["P1-T1"]
    r = b.post(f"/routine/units/{t1}", {"year": "2026", "seq": "2", "cycle": "month"})
    assert r.status_code in (200, 422)
    assert world.p1.P.name in r.get_data(as_text=True)
    from kaohe.routine.models import Period
    with app.app_context():
        apply_scope(Scope.system("t"))
        assert db.session.execute(select(Period).where(Period.org_id == t1)).first() is None


def test_periods_of_a_unit_never_overlap(app, world):
    from kaohe.core.errors import Conflict
    from kaohe.routine import periods

    t1 = world.ids["P1-T1"]
    _as_system(app, lambda: periods.create_period(db.session.get(OrgNode, t1), 2026, 1))
    # the unit's cycle changes to monthly mid-year: February lies inside Q1
    _as_system(app, lambda: settings.set_value(db.session.get(OrgNode, t1), "routine.cycle", "month"))
    try:
        _as_system(app, lambda: periods.create_period(db.session.get(OrgNode, t1), 2026, 2))
        raise AssertionError("an overlapping period was created")
    except Conflict as exc:
        assert "重叠" in exc.errors["seq"][0] and "2026-01-01" in exc.errors["seq"][0]
    _as_system(app, lambda: periods.create_period(db.session.get(OrgNode, t1), 2026, 4))   # April: free
