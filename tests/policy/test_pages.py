"""The policy pages: Chinese-first rendering, one action per change, errors
in the page, read-only locked settings, grading and allocation pages,
isolation."""
from __future__ import annotations

from kaohe.extensions import db
from kaohe.people.models import Person


def test_policy_page_edit_lock_bound_revert(client, world, login, api_token):
    b = login("policy")
    p, k1 = world.ids["P1-P"], world.ids["P1-K1"]
    r = b.get(f"/policy/org/{p}?year=2026")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "quota.base_rate" in html and "全国默认" in html or "national default" in html
    # set the base rate to 18% (entered as a percentage)
    r = b.post(f"/policy/org/{p}/quota.base_rate/set?year=2026", {"value": "18", "for_year": "0"})
    assert r.status_code == 302
    # bounds for the levels below: 10%–30%
    r = b.post(f"/policy/org/{p}/quota.base_rate/bound?year=2026", {"min": "10", "max": "30", "for_year": "0"})
    assert r.status_code == 302
    # the county tries 35%: refused in the page with the bound and the node that set it
    r = b.post(f"/policy/org/{k1}/quota.base_rate/set?year=2026", {"value": "35", "for_year": "0"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "30%" in html and world.p1.P.code in html
    # a table of rates, entry by entry
    form = {"value.youxiu": "20", "value.lianghao": "15", "value.yiban": "12", "value.jiaocha": "10",
            "value.major_contribution": "30", "for_year": "0"}
    assert b.post(f"/policy/org/{p}/quota.rate_by_org_grade/set?year=2026", form).status_code == 302
    # lock the rounding rule: the county page shows it read-only with the locker's name
    assert b.post(f"/policy/org/{p}/quota.rounding/lock?year=2026", {"for_year": "0"}).status_code == 302
    html = b.get(f"/policy/org/{k1}?year=2026").get_data(as_text=True)
    assert "quota.rounding" in html and ("locked by" in html or "锁定" in html)
    # changing it below is refused in the page's language, naming who locked it
    r = b.post(f"/policy/org/{k1}/quota.rounding/set?year=2026", {"value": "ceil", "for_year": "0"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "锁定，此处不能修改" in html and "locked by" not in html, html[-3000:]
    # revert-to-inherited as one action
    assert b.post(f"/policy/org/{p}/quota.base_rate/clear?year=2026", {"for_year": "0"}).status_code == 302
    body = client.get(f"/api/v1/orgs/{p}/policy", headers=api_token("policy")).get_json()
    base = [s for g in body["groups"] for s in g["settings"] if s["key"] == "quota.base_rate"][0]
    rt = [s for g in body["groups"] for s in g["settings"] if s["key"] == "quota.rate_by_org_grade"][0]
    assert base["value"] == 0.2 and base["inherited"] and rt["value"]["lianghao"] == 0.15
    # bad input is a message, not a traceback
    r = b.post(f"/policy/org/{p}/quota.base_rate/set?year=2026", {"value": "abc", "for_year": "0"})
    assert r.status_code == 422 and "Traceback" not in r.get_data(as_text=True)


def test_county_admin_sees_only_its_county(world, login):
    b = login("countysup")
    assert b.get(f"/policy/org/{world.ids['P1-K2']}").status_code == 404
    assert b.get(f"/policy/org/{world.ids['P1-T4']}/grades").status_code == 404
    assert b.get(f"/policy/org/{world.ids['P1-K2']}/allocations").status_code == 404
    assert b.post(f"/policy/org/{world.ids['P1-K2']}/quota.base_rate/set", {"value": "20"}).status_code == 404
    assert b.get(f"/policy/org/{world.ids['P1-K1']}").status_code == 200


def test_grading_and_allocation_pages(app, world, login):
    from kaohe.tenancy.scope import Scope, apply_scope
    with app.app_context():
        apply_scope(Scope.system("t"))
        t1 = world.ids["P1-T1"]
        for i in range(14):
            db.session.add(Person(root_id=world.ids["P1-P"], org_id=t1, unit_id=t1, staff_no=f"g{i}", name="x"))
        db.session.commit()
        db.session.remove()
    b = login("countysup")
    k1, t1, t2 = world.ids["P1-K1"], world.ids["P1-T1"], world.ids["P1-T2"]
    r = b.get(f"/policy/org/{k1}/grades?year=2026")
    assert r.status_code == 200
    assert b.post(f"/policy/org/{k1}/grades/{t1}?year=2026", {"grade": "jiaocha"}).status_code == 302
    html = b.get(f"/policy/org/{k1}/grades?year=2026").get_data(as_text=True)
    # 20 people at the national 20% (jiaocha row of the default table) → 4, with the arithmetic shown
    assert "较差" in html or "Poor" in html
    assert "× 20" in html
    # a major contribution above the no-approval ceiling: the page offers the approval form
    from kaohe.policy import settings
    from kaohe.audit.service import Actor, reset_actor, set_actor
    from kaohe.tenancy.models import OrgNode
    with app.app_context():
        apply_scope(Scope.system("t"))
        tok = set_actor(Actor(None, "t"))
        settings.set_value(db.session.get(OrgNode, world.ids["P1-P"]), "quota.rate_by_org_grade",
                          {"youxiu": 0.2, "lianghao": 0.15, "yiban": 0.12, "jiaocha": 0.1, "major_contribution": 0.3})
        db.session.commit()
        reset_actor(tok)
        db.session.remove()
    assert b.post(f"/policy/org/{k1}/grades/{t1}?year=2026", {"grade": "youxiu", "major_contribution": "on"}
                  ).status_code == 302
    html = b.get(f"/policy/org/{k1}/grades?year=2026").get_data(as_text=True)
    assert f"/grades/{t1}/approve" in html
    r = b.post(f"/policy/org/{k1}/grades/{t1}/approve?year=2026", {"rate": "45", "reason": "flood"})
    assert r.status_code == 422 and "30%" in r.get_data(as_text=True)
    assert b.post(f"/policy/org/{k1}/grades/{t1}/approve?year=2026", {"rate": "30", "reason": "flood"}
                  ).status_code == 302
    html = b.get(f"/policy/org/{k1}/grades?year=2026").get_data(as_text=True)
    assert "× 20" in html and "= 6" in html          # 30% × 20 = 6
    r = b.get(f"/policy/org/{k1}/allocations?year=2026")
    assert r.status_code == 200
    r = b.post(f"/policy/org/{k1}/allocations/{t1}?year=2026", {"count": "99"})
    assert r.status_code == 422 and "99" in r.get_data(as_text=True)
    assert b.post(f"/policy/org/{k1}/allocations/{t2}?year=2026", {"count": "1"}).status_code == 302
    # the org page links to the policy pages
    html = b.get(f"/orgs/{k1}").get_data(as_text=True)
    assert f"/policy/org/{k1}" in html


def test_form_values_are_typed_per_setting(app):
    """Every setting's edit form turns its own rendering of the default back
    into the default (percentages, tables, choices, lists, dates, additive)."""
    from werkzeug.datastructures import MultiDict

    from kaohe.policy import calc
    from kaohe.policy import registry as reg
    from kaohe.policy.views import value_from_form

    for key, s in reg.REGISTRY.items():
        d = s.default
        form = MultiDict()
        if s.kind == reg.ADDITIVE:
            form["value_text"] = "{add: [], remove: []}"
        elif key.startswith("calendar."):
            form["value_text"] = "2026-10-08\n2026-10-09"
            d = ["2026-10-08", "2026-10-09"]
        elif key == "routine.grade_scale":     # one row per grade
            for i, e in enumerate(d):
                for f, v in e.items():
                    form[f"grade-{i}-{f}"] = str(v)
        elif isinstance(d, bool):
            form["value"] = "true" if d else "false"
        elif isinstance(d, dict):
            for k, v in d.items():
                form[f"value.{k}"] = calc.pct(v).rstrip("%") if s.unit == "rate" else str(v)
        elif isinstance(d, list):
            form.setlist("value", d)
        elif isinstance(d, str):
            form["value"] = d
        else:
            form["value"] = calc.pct(d).rstrip("%") if s.unit == "rate" else str(d)
        assert reg.validate_value(key, value_from_form(key, form)) == reg.validate_value(key, d), key
    # a coefficient of 0.5 where the default is the integer 0
    form = MultiDict({"value.youxiu": "1.5", "value.chenzhi": "1", "value.jibenchenzhi": "0.5",
                      "value.buchenzhi": "0.25"})
    assert value_from_form("pay.grade_coefficients", form)["buchenzhi"] == 0.25


def test_home_panel_for_supervisors(world, login):
    html = login("countysup").get("/").get_data(as_text=True)
    assert "panel-org-grades" in html and "/grades" in html


def test_no_home_panel_for_staff(world, login):
    html = login("t1staff").get("/").get_data(as_text=True)
    assert "panel-org-grades" not in html
