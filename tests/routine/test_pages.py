"""The pages: staff on a phone, raters, the office; same rules and messages as the API."""
from __future__ import annotations

import pytest

import datetime as dt

from kaohe.core.clock import local_today

from .conftest import rate, rate_everything, transition

API = "/api/v1/routine"


def test_staff_signs_in_writes_a_record_and_self_assesses(rt, login):
    b = login("t1staff")
    page = b.get("/routine/").get_data(as_text=True)
    assert "签到" in page and 'name="what" value="in"' in page
    resp = b.post("/routine/sign", {"what": "in"})
    assert resp.status_code == 302
    page = b.get("/routine/").get_data(as_text=True)
    assert 'value="out"' in page
    resp = b.post("/routine/sign", {"what": "in"}, follow_redirects=True)
    assert "Already signed in" in resp.get_data(as_text=True) or "已" in resp.get_data(as_text=True)
    # work record
    url = f"/routine/periods/{rt.period_id}/records"
    page = b.get(url).get_data(as_text=True)
    assert "工作纪实" in page or "Work records" in page   # the catalog says 工作纪实 since 966ecc5
    month = local_today().replace(day=1).isoformat()
    resp = b.post(url, {"on_date": month, "kind": "monthly", "plan": "走访", "done": ""})
    assert resp.status_code == 422
    resp = b.post(url, {"on_date": month, "kind": "monthly", "plan": "走访", "done": "走访10户"})
    assert resp.status_code == 302
    assert "走访10户" in b.get(url).get_data(as_text=True)
    # self-assessment form
    rate_url = f"/routine/periods/{rt.period_id}/rate/{rt.ids['d1staff']}/self"
    page = b.get(rate_url).get_data(as_text=True)
    assert 'name="s_ethics"' in page and 'name="s_work"' in page
    resp = b.post(rate_url, {"s_ethics": "you", "s_work": "70"})
    assert resp.status_code == 422 and "between 0 and 60" in resp.get_data(as_text=True)
    resp = b.post(rate_url, {"s_ethics": "you", "s_work": "58"})
    assert resp.status_code == 302
    # someone else's supervisor form is refused with the rule
    resp = b.get(f"/routine/periods/{rt.period_id}/rate/{rt.ids['d2staff']}/supervisor")
    assert resp.status_code == 403


def test_rater_page_conflict_shows_the_newer_value(rt, login):
    b = login("rt_d1head")
    page = b.get("/routine/").get_data(as_text=True)
    assert "d1staff" in page or str(rt.ids["d1staff"]) in page
    url = f"/routine/periods/{rt.period_id}/rate/{rt.ids['d1staff']}/supervisor"
    b.get(url)
    assert b.post(url, {"s_ethics": "you", "s_work": "50", "comment": "good"}).status_code == 302
    # meanwhile the rater changes it through the API (version 1 → 2)
    assert rate(rt, "d1head", "d1staff", "supervisor", {"ethics": "liang", "work": 44}, version=1).status_code == 200
    resp = b.post(url, {"s_ethics": "cha", "s_work": "30", "version": "1"})
    assert resp.status_code == 409
    text = resp.get_data(as_text=True)
    assert 'data-testid="conflict"' in text and "44" in text


@pytest.mark.parametrize("rt", [3], indirect=True)   # the national anonymity minimum
def test_office_pages(rt, login):
    b = login("t1admin")
    assert b.get("/routine/admin").status_code == 302
    page = b.get(f"/routine/units/{rt.unit_id}").get_data(as_text=True)
    assert "2" in page and rt.client is not None
    for path in ("indicators", "schemes", "assignments", "peer-groups"):
        assert b.get(f"/routine/units/{rt.unit_id}/{path}").status_code == 200, path
    # a bad scheme is refused naming the section, nothing written
    resp = b.post(f"/routine/units/{rt.unit_id}/schemes", {
        "code": "s2", "name": "方案二", "basis": "points", "total": "100",
        "sections": "a | A | 50 | work\nb | B | 40 | ethics", "w_supervisor": "1", "w_self": "0", "w_peer": "0",
        "w_democratic": "0"})
    assert resp.status_code == 422
    text = resp.get_data(as_text=True)
    assert "sections.a.indicators" in text or "section a" in text
    # a good one, weights 90% / 10%
    resp = b.post(f"/routine/units/{rt.unit_id}/schemes", {
        "code": "s3", "name": "本职中心", "basis": "weight", "total": "100",
        "sections": "own | 本职工作 | 90% | \ncenter | 中心工作 | 10% |", "w_supervisor": "0.6", "w_self": "0.1",
        "w_peer": "0", "w_democratic": "0.3"})
    assert resp.status_code == 422 and "has no indicators" in resp.get_data(as_text=True)
    # indicator form
    resp = b.post(f"/routine/units/{rt.unit_id}/indicators", {"code": "x1", "name": "测试", "dimension": "ji",
                                                                "kind": "deduction", "max": "5", "per": "1", "cap": "9"})
    assert resp.status_code == 422 and "cap" in resp.get_data(as_text=True)
    resp = b.post(f"/routine/units/{rt.unit_id}/indicators", {"code": "x1", "name": "测试", "dimension": "ji",
                                                                "kind": "deduction", "max": "5", "per": "1", "cap": "5"})
    assert resp.status_code == 302
    # the period page: board, transitions, compute
    url = f"/routine/periods/{rt.period_id}"
    page = b.get(url).get_data(as_text=True)
    assert 'data-to="rating"' in page and "board" in page
    resp = b.post(f"{url}/transition", {"to": "final"}, follow_redirects=True)
    body = resp.get_data(as_text=True)   # the states as words of the page's language (issue 16)
    assert "处于“进行中”的考核期不能转为“已归档”，只能转为：评价中。" in body and "Allowed" not in body
    assert b.post(f"{url}/transition", {"to": "rating"}).status_code == 302
    rate(rt, "d1head", "d1staff", "supervisor")
    resp = b.post(f"{url}/events", {"person_id": rt.ids["d1staff"], "indicator_code": "discipline",
                                     "occurred_on": local_today().isoformat(), "evidence": "抽查脱岗"})
    assert resp.status_code == 302
    resp = b.post(f"{url}/compute", {})
    assert resp.status_code == 302 and "job=" in resp.headers["Location"]
    page = b.get(resp.headers["Location"]).get_data(as_text=True)
    assert "抽查脱岗" in page and 'data-person="%d"' % rt.ids["d1staff"] in page
    # the person page shows who voted, never anonymous values
    rate(rt, "d2staff", "d1staff", "peer", {"ethics": "cha", "work": 13.5})
    page = b.get(f"{url}/people/{rt.ids['d1staff']}").get_data(as_text=True)
    assert 'data-testid="voters"' in page and "13.5" not in page


def test_staff_sees_result_only_when_published(rt, login):
    b = login("t1staff")
    url = f"/routine/periods/{rt.period_id}/result"
    assert b.get(url).status_code == 403
    assert transition(rt, "rating").status_code == 200
    rate(rt, "d1head", "d1staff", "supervisor", comment="认真负责")
    rate_everything(rt)
    assert transition(rt, "review").status_code == 200
    rt.client.post(f"{API}/periods/{rt.period_id}/compute", headers=rt.h("admin"))
    resp = rt.client.put(f"{API}/periods/{rt.period_id}/results/{rt.ids['d1staff']}/feedback",
                         json={"feedback": "继续保持"}, headers=rt.h("admin"))
    assert resp.status_code == 200
    assert transition(rt, "publicised").status_code == 200
    page = b.get(url).get_data(as_text=True)
    assert 'data-testid="score"' in page and "继续保持" in page and "认真负责" in page
    assert "较好" in page or "好" in page


def test_home_panel_and_nav(rt, login):
    b = login("t1staff")
    page = b.get("/").get_data(as_text=True)
    assert 'data-testid="routine-panel"' in page
    assert "/routine/" in page


def test_office_home_shows_the_running_period_and_what_is_missing(rt, login, login_new):
    import re

    page = login("t1admin").get("/").get_data(as_text=True)
    assert 'data-testid="routine-admin-panel"' in page
    panel = page.split('data-testid="routine-admin-panel"', 1)[1].split("</ul>", 1)[0]
    assert f"/routine/periods/{rt.period_id}" in panel
    # Nobody has written or rated yet: all six owe a record, and the badges say so.
    assert re.search(r"6 (人未写工作写实|without a work record)", panel), panel
    assert "已全部完成" not in panel
    # Staff see their own panel, not the office's.
    assert 'data-testid="routine-admin-panel"' not in login_new("t1staff").get("/").get_data(as_text=True)


def test_correction_page_flow(rt, login, login_new):
    b = login("t1staff")
    day = (local_today() - dt.timedelta(days=1)).isoformat()
    resp = b.post("/routine/correction", {"day": day, "reason": "", "sign_in_at": "08:40"})
    assert resp.status_code == 422
    resp = b.post("/routine/correction", {"day": day, "reason": "县里开会", "sign_in_at": "08:40"})
    assert resp.status_code == 302
    head = login_new("rt_d1head")
    page = head.get("/routine/").get_data(as_text=True)
    assert "县里开会" in page


def test_office_cannot_edit_another_units_group_or_scheme_through_its_own_page(rt, app, world, login):
    """An admin of T1 who also sees T2 (a staff grant there) posts T2's peer
    group / opens T2's scheme on T1's pages: not found, nothing changes."""
    from sqlalchemy import select

    from kaohe.audit.service import Actor, reset_actor, set_actor
    from kaohe.auth import service as auth_service
    from kaohe.auth.models import User
    from kaohe.auth.roles import Role
    from kaohe.extensions import db
    from kaohe.people.models import Person
    from kaohe.routine import indicators, schemes
    from kaohe.routine.models import PeerGroup
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    from .conftest import LIBRARY, SCHEME

    with app.app_context():
        apply_scope(Scope.system("test"))
        token = set_actor(Actor(None, "test"))
        t2 = db.session.get(OrgNode, world.p1.nodes["T2"].id)
        admin = db.session.execute(select(User).where(User.username == "t1admin")).scalar_one()
        auth_service.grant_role(admin, Role.staff, t2, check=False)
        a, b = (Person(root_id=t2.root_id, org_id=t2.id, unit_id=t2.id, staff_no=f"t2-{i}", name=f"T2人{i}")
                for i in (1, 2))
        db.session.add_all([a, b])
        db.session.flush()
        group = schemes.save_peer_group(t2, "T2互评组", [a.id, b.id])
        for ind in LIBRARY:
            indicators.save_indicator(t2, dict(ind))
        scheme = schemes.save_scheme(t2, dict(SCHEME))
        db.session.commit()
        gid, sid = group.id, scheme.id
        reset_actor(token)
        db.session.remove()
    br = login("t1admin")
    resp = br.post(f"/routine/units/{rt.unit_id}/peer-groups",
                   {"group_id": str(gid), "name": "改名", "member_ids": [str(rt.ids["d1staff"]), str(rt.ids["d2staff"])]})
    assert resp.status_code == 404
    assert br.get(f"/routine/units/{rt.unit_id}/schemes?edit={sid}").status_code == 404
    with app.app_context():
        apply_scope(Scope.system("test"))
        assert db.session.get(PeerGroup, gid).name == "T2互评组"
        db.session.remove()


def test_rater_sees_progress_done_of_total(rt, login):
    """Issue 16, finding 7: the to-do list and the rating form show done / total."""
    import re

    def progress(html):
        m = re.search(r'data-testid="rating-progress" data-done="(\d+)" data-total="(\d+)"', html)
        assert m, "no progress shown"
        return int(m.group(1)), int(m.group(2))

    b = login("t1staff")        # d1staff: self, peers d2staff and d2head, democratic colleague d1head
    page = b.get("/routine/").get_data(as_text=True)
    done, total = progress(page)
    assert done == 0 and total == 4
    assert "已评 0 / 共 4" in page
    url = f"/routine/periods/{rt.period_id}/rate/{rt.ids['d1staff']}/self"
    assert progress(b.get(url).get_data(as_text=True)) == (0, 4)
    assert b.post(url, {"s_ethics": "you", "s_work": "58"}).status_code == 302
    assert progress(b.get("/routine/").get_data(as_text=True)) == (1, 4)
    assert progress(b.get(url).get_data(as_text=True)) == (1, 4)


def test_state_refusals_and_the_incomplete_inputs_blocker_in_the_page_language(rt, login):
    """Issue 16, item 2: moving a period on with incomplete inputs, and a step
    the period's state does not accept, are refused in Chinese on a Chinese
    page, states and rater kinds as words (no English, no state codes)."""
    assert transition(rt, "rating").status_code == 200
    rate_everything(rt, skip=("d2staff",))
    b = login("t1admin")
    url = f"/routine/periods/{rt.period_id}"
    body = b.post(f"{url}/transition", {"to": "review"}, follow_redirects=True).get_data(as_text=True)
    assert "1 人的考核数据不完整：" in body and "请补齐评价，或逐人登记免评并写明理由。" in body
    assert "d2staff（缺少评价：" in body and "主管领导评价" in body and "；缺少指标值：" in body
    assert "incomplete inputs" not in body and "no rating by" not in body and "supervisor" not in body
    # a step the state does not accept: computing an open period
    b2 = b
    assert transition(rt, "open").status_code == 200
    body = b2.post(f"{url}/compute", {}, follow_redirects=True).get_data(as_text=True)
    assert "只有考核期处于“评价中或审核”时才能计算结果；本考核期当前为“进行中”。" in body
    assert "accepted only" not in body and "rating or review" not in body
    # the same refusal on an English page, in English words
    b2.get("/lang/en")
    body = b2.post(f"{url}/compute", {}, follow_redirects=True).get_data(as_text=True)
    assert "Computing is accepted only while the period is Rating or Review; this period is Open." in body
