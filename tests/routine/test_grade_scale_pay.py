"""Issue 12, finding 12 (seed 001): routine grade names and bands are policy
(``routine.grade_scale``: 优秀/良好/及格/不及格 instead of 好/较好/一般/较差),
checked by the registry's one validator on the API, page, pack and CLI; and a
period can pay part of the performance pay (``routine.period_pay_share``,
「月度考核，当月兑现」), split to the cent, summing exactly to the pool, shown
with its arithmetic, exported and audited."""
from __future__ import annotations

import io
import json
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings as hsettings, strategies as st
from sqlalchemy import select

from kaohe.extensions import db
from kaohe.routine import calc, calc_grades, calc_pay

from .conftest import rate_everything, transition

API = "/api/v1/routine"
TENANTS = Path(__file__).resolve().parents[2] / "tenants"
SEED_001 = [{"code": "youxiu", "name": "优秀", "name_en": "Excellent", "min_score": 90},
            {"code": "lianghao", "name": "良好", "name_en": "Good", "min_score": 75},
            {"code": "jige", "name": "及格", "name_en": "Pass", "min_score": 60},
            {"code": "bujige", "name": "不及格", "name_en": "Fail"}]
NATIONAL_BANDS = {"hao": 90, "jiaohao": 80, "yiban": 60}


# -- pure ---------------------------------------------------------------------------------------

def test_seed_001_bands_give_national_ranks():
    bands = calc_grades.thresholds(SEED_001, NATIONAL_BANDS)
    assert bands == [("hao", 90.0), ("jiaohao", 75.0), ("yiban", 60.0), ("jiaocha", 0.0)]
    # 76 is 良好 under seed 001 (national bands: 一般)
    assert calc_grades.grade(76, bands) == "jiaohao"
    assert calc.grade_for(76, NATIONAL_BANDS) == "yiban"
    assert [calc_grades.grade(s, bands) for s in (95, 90, 89.99, 60, 59.99, 0)] == \
        ["hao", "hao", "jiaohao", "yiban", "jiaocha", "jiaocha"]
    assert calc_grades.labels(SEED_001)["jiaohao"] == {"code": "lianghao", "name": "良好", "name_en": "Good"}
    # without own lower bounds the national thresholds apply, names as configured
    named = [{k: v for k, v in e.items() if k != "min_score"} for e in SEED_001]
    assert calc_grades.thresholds(named, NATIONAL_BANDS)[1] == ("jiaohao", 80.0)
    assert calc_grades.thresholds(None, NATIONAL_BANDS) == [("hao", 90.0), ("jiaohao", 80.0), ("yiban", 60.0),
                                                           ("jiaocha", 0.0)]


def test_three_grades_with_ranks_cap_and_veto():
    scale = [{"code": "hao", "name": "好", "rank": "hao", "min_score": 85},
             {"code": "zhong", "name": "中", "rank": "yiban", "min_score": 60},
             {"code": "cha", "name": "差", "rank": "jiaocha"}]
    bands = calc_grades.thresholds(scale, NATIONAL_BANDS)
    assert calc_grades.grade(86, bands) == "hao" and calc_grades.grade(84, bands) == "yiban"
    # a veto capping at 较好 lands on the next grade the scale has
    assert calc_grades.grade(99, bands, "jiaohao") == "yiban"
    # a 好 above the cap drops to the next grade of the scale, not to an absent 较好
    assert calc_grades.demotion_rank(bands) == "yiban"
    out = calc.apply_good_cap({1: (99, "hao"), 2: (95, "hao"), 3: (90, "hao")}, 0.4,
                              demote_to=calc_grades.demotion_rank(bands))
    assert out.grades == {1: "hao", 2: "yiban", 3: "yiban"}


@pytest.mark.parametrize("value, rule", [
    ([{"code": "a", "name": "甲"}], "2 to 4"),
    (SEED_001[:3], "fewer than 4"),
    ([{**SEED_001[0], "min_score": 70}] + SEED_001[1:], "must fall"),
    (SEED_001[:3] + [{**SEED_001[3], "min_score": 10}], "lowest grade has no lower bound"),
    ([SEED_001[0], {k: v for k, v in SEED_001[1].items() if k != "min_score"}] + SEED_001[2:], "or of none"),
    ([{**e, "rank": "hao"} for e in SEED_001[:2]], "each used once"),
    ([SEED_001[0], {**SEED_001[1], "code": "youxiu"}] + SEED_001[2:], "own code"),
    ([{**SEED_001[0], "code": "Bad Code"}] + SEED_001[1:], "lower-case"),
])
def test_registry_refuses_a_broken_scale_naming_the_rule(value, rule):
    from kaohe.core.errors import Invalid
    from kaohe.policy import registry

    with pytest.raises(Invalid) as exc:
        registry.validate_value("routine.grade_scale", value)
    assert rule in exc.value.errors["routine.grade_scale"][0]


def test_pay_split_golden():
    # seed 001 style: 2000 a person a year, 15% paid monthly, 5 people assessed, one without a score
    cents, ex = calc_pay.split(2000, 0.15, 12, 5, {1: 95, 2: 90, 3: 88, 4: 80})
    assert ex["pool_cents"] == 12500 and sum(cents.values()) == 12500
    assert cents == {1: 3364, 2: 3187, 3: 3116, 4: 2833}
    assert ex["undistributed_cents"] == 0 and ex["score_total"] == 353.0
    # nobody scored: nothing paid, the pool shown as undistributed
    cents, ex = calc_pay.split(2000, 0.15, 12, 3, {})
    assert cents == {} and ex["undistributed_cents"] == 7500   # 2000 × 3 × 15% ÷ 12


@hsettings(max_examples=200, deadline=None, derandomize=True)
@given(amount=st.integers(0, 20000), share=st.sampled_from([0.1, 0.12, 0.15, 0.2, 0.333]),
       periods=st.sampled_from([12, 4, 2]), absent=st.integers(0, 3),
       scores=st.lists(st.floats(0, 120, allow_nan=False).map(lambda x: round(x, 2)), max_size=40))
def test_pay_parts_sum_exactly_to_the_pool(amount, share, periods, absent, scores):
    people = dict(enumerate(scores))
    cents, ex = calc_pay.split(amount, share, periods, len(people) + absent, people)
    expect = int((Decimal(amount) * (len(people) + absent) * Decimal(str(share)) * 100 / periods)
                 .to_integral_value(rounding=ROUND_HALF_UP))
    assert ex["pool_cents"] == expect
    total = sum(people.values())
    assert sum(cents.values()) == (expect if total > 0 else 0)
    for pid, s in people.items():
        exact = Decimal(expect) * Decimal(repr(s)) / Decimal(repr(total)) if total else 0
        assert abs(cents[pid] - exact) < 1   # within a cent of the exact share


# -- the registry on every write path ----------------------------------------------------------

def test_api_page_and_cli_share_the_scale_validator(app, client, world, api_token, login, runner):
    t1 = world.ids["P1-T1"]
    h = api_token("policy")
    bad = SEED_001[:3]
    r = client.put(f"/api/v1/orgs/{t1}/policy/routine.grade_scale", json={"value": bad}, headers=h)
    assert r.status_code == 422 and "fewer than 4" in r.get_json()["errors"]["routine.grade_scale"][0]
    r = runner.invoke(args=["policy", "set", world.p1.T1.code, "routine.grade_scale", json.dumps(bad)])
    assert r.exit_code != 0 and "fewer than 4" in r.output and "Traceback" not in r.output
    r = runner.invoke(args=["policy", "set", world.p1.T2.code, "routine.grade_scale",
                            json.dumps(SEED_001, ensure_ascii=False)])
    assert r.exit_code == 0, r.output
    b = login("policy")
    form = {f"grade-{i}-{k}": str(v) for i, e in enumerate(SEED_001) for k, v in e.items()}
    form["grade-1-min_score"] = "95"   # above 优秀's 90
    r = b.post(f"/policy/org/{t1}/routine.grade_scale/set", {**form, "for_year": "0"})
    assert r.status_code == 422 and "最低分须由好到差递减" in r.get_data(as_text=True)
    form["grade-1-min_score"] = "75"
    r = b.post(f"/policy/org/{t1}/routine.grade_scale/set", {**form, "for_year": "0"})
    assert r.status_code in (200, 302, 303), r.get_data(as_text=True)[:2000]
    r = client.get(f"/api/v1/orgs/{t1}/policy", headers=h).get_json()
    got = next(s for g in r["groups"] for s in g["settings"] if s["key"] == "routine.grade_scale")
    assert [e["name"] for e in got["value"]] == ["优秀", "良好", "及格", "不及格"]
    page = b.get(f"/policy/org/{t1}").get_data(as_text=True)
    assert "优秀 ≥ 90" in page and "{'code'" not in page


def test_pack_with_a_broken_scale_loads_nothing(app, runner, tmp_path):
    pack = tmp_path / "bad"
    shutil.copytree(TENANTS / "qinghai-demo", pack)
    rel = "630100-Xining/630121-Datong/630121100-Qiaotou/policy.yaml"
    data = yaml.safe_load((pack / rel).read_text())
    assert [e["name"] for e in data["settings"]["routine.grade_scale"]["value"]] == ["优秀", "良好", "及格", "不及格"]
    data["settings"]["routine.grade_scale"]["value"][3]["min_score"] = 30
    (pack / rel).write_text(yaml.safe_dump(data, allow_unicode=True))
    r = runner.invoke(args=["tenants", "load", str(pack)])
    assert r.exit_code != 0 and "routine.grade_scale" in r.output and "Traceback" not in r.output
    r = runner.invoke(args=["tenants", "load", str(TENANTS / "qinghai-demo")])
    assert r.exit_code == 0, r.output


# -- a period under seed 001's names, with pay ------------------------------------------------

def _seed_001_month(rt):
    """T1 runs monthly under seed 001's names and pays 15% with each month:
    set through the policy service, then a month of last year (no overlap
    with the fixture's quarter) is opened and made the test's period."""
    from kaohe.audit.service import Actor, reset_actor, set_actor
    from kaohe.policy import settings
    from kaohe.routine import periods
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    with rt.app.app_context():
        apply_scope(Scope.system("t"))
        tok = set_actor(Actor(None, "t"))
        try:
            unit = db.session.get(OrgNode, rt.unit_id)
            settings.set_value(unit, "routine.cycle", "month")
            settings.set_value(unit, "routine.grade_scale", SEED_001)
            settings.set_value(unit, "routine.period_pay_share", 0.15)
            per = periods.create_period(unit, rt.year - 1, 12, "month")
            periods.transition(per, "open")
            db.session.commit()
            rt.period_id = per.id
        finally:
            reset_actor(tok)
            db.session.remove()


def test_month_under_seed_001_names_pays_the_pool_exactly(rt, login_new):
    _seed_001_month(rt)
    assert transition(rt, "rating").status_code == 200
    # the supervisor proposes a grade under the unit's names
    sup = login_new(rt.users["d1head"])
    form = sup.get(f"/routine/periods/{rt.period_id}/rate/{rt.ids['d1staff']}/supervisor").get_data(as_text=True)
    assert 'value="jiaohao" >良好<' in form.replace(" selected", "") and ">较好<" not in form
    # d1staff 76 points: 良好 under seed 001 (一般 under the national bands)
    rate_everything(rt, scores={"d1staff": ("liang", 42, 8), "d2staff": ("cha", 20, 2)})
    assert transition(rt, "review").status_code == 200
    assert rt.client.post(f"{API}/periods/{rt.period_id}/compute", headers=rt.h("admin")).status_code in (200, 202)
    per = rt.client.get(f"{API}/periods/{rt.period_id}", headers=rt.h("admin")).get_json()
    pay = per["compute_summary"]["pay"]
    people = len(rt.ids)
    assert pay["periods_per_year"] == 12 and pay["headcount"] == people
    assert pay["pool_cents"] == 2000 * people * 15 // 12    # 2000 × 6 × 15% ÷ 12 = 150.00
    results = rt.client.get(f"{API}/periods/{rt.period_id}/results", headers=rt.h("admin")).get_json()
    scored = [r for r in results if r["score"] is not None]
    assert len(scored) == people and sum(r["pay_cents"] for r in scored) == pay["pool_cents"]
    by = {r["person_id"]: r for r in results}
    d1 = by[rt.ids["d1staff"]]
    assert 75 <= d1["score"] < 80 and d1["grade"] == "jiaohao"
    exact = Decimal(pay["pool_cents"]) * Decimal(repr(d1["score"])) / Decimal(repr(pay["score_total"]))
    assert abs(d1["pay_cents"] - exact) < 1
    assert by[rt.ids["d2staff"]]["grade"] == "jiaocha"
    # the page: configured names, bands and the pay arithmetic
    b = login_new("t1admin")
    html = b.get(f"/routine/periods/{rt.period_id}").get_data(as_text=True)
    assert "良好" in html and "不及格" in html and "优秀 ≥ 90" in html
    assert 'data-grade="jiaohao">良好<' in html and ">较好<" not in html and ">较差<" not in html
    assert "150.00" in html and "15%" in html and "÷ 每年 12 期" in html and "人均 2000 元" in html
    assert f'data-pay="{d1["pay_cents"]}"' in html
    # the person's own result page shows the configured name
    me = login_new("t1staff")
    r = me.get(f"/routine/periods/{rt.period_id}/people/{rt.ids['d1staff']}")
    if r.status_code == 200:
        assert "良好" in r.get_data(as_text=True)
    # the audit of the computation holds the pool
    with rt.app.app_context():
        from kaohe.audit.models import AuditEntry
        from kaohe.tenancy.scope import Scope, apply_scope

        apply_scope(Scope.system("t"))
        after = db.session.execute(select(AuditEntry.after).where(
            AuditEntry.action == "routine.period.compute", AuditEntry.target_id == str(rt.period_id))
            .order_by(AuditEntry.id.desc())).scalars().first()
        assert after["pay"]["pool_cents"] == pay["pool_cents"]


def test_export_shows_the_configured_names_and_pay(rt, login_new):
    from openpyxl import load_workbook

    _seed_001_month(rt)
    assert transition(rt, "rating").status_code == 200
    rate_everything(rt, scores={"d1staff": ("liang", 42, 8)})
    assert transition(rt, "review").status_code == 200
    rt.client.post(f"{API}/periods/{rt.period_id}/compute", headers=rt.h("admin"))
    b = login_new("t1admin")
    resp = b.get(f"/supervision/exports/routine.results?org_id={rt.unit_id}&year={rt.year - 1}&period=month-12")
    assert resp.status_code == 200, resp.status_code
    wb = load_workbook(io.BytesIO(resp.data))
    rows = [[c.value for c in r] for r in wb.active.iter_rows(min_row=2)]
    assert rows and {r[8] for r in rows} <= {"优秀", "良好", "及格", "不及格"} and "良好" in {r[8] for r in rows}
    assert round(sum(r[11] for r in rows), 2) == 150.00
