"""Finding 10 (issue 12): a routine talk task shows the person and records
the talk (date, who talked, what was said, follow-up), closing the task; on
the page (linked from the leader's home and the period page) and the API."""
from __future__ import annotations

import datetime as dt

from kaohe.core.clock import local_today

from .conftest import rate_everything, transition

API = "/api/v1/routine"


def _criticism_task(rt):
    assert transition(rt, "rating").status_code == 200
    rate_everything(rt, scores={"d1staff": ("cha", 20, 2)})
    assert transition(rt, "review").status_code == 200
    rt.client.post(f"{API}/periods/{rt.period_id}/compute", headers=rt.h("admin"))
    tasks = rt.client.get(f"{API}/tasks", headers=rt.h("d1head")).get_json()
    assert [t["kind"] for t in tasks] == ["routine.criticism_talk"]
    return tasks[0]


def test_talk_page_records_the_talk_and_closes_the_task(rt, login, login_new):
    task = _criticism_task(rt)
    url = f"/routine/tasks/{task['id']}"
    leader = login(rt.users["d1head"])
    home = leader.get("/").get_data(as_text=True)
    assert url in home
    unit_page = login_new("t1admin").get(f"/routine/units/{rt.unit_id}").get_data(as_text=True)
    assert url in unit_page
    page = leader.get(url).get_data(as_text=True)
    assert 'data-testid="task-person"' in page and "talk-form" in page
    assert "d1staff" in page or "D1" in page or "staff" in page.lower()
    # what was said is required, and the talk cannot be dated in the future
    resp = leader.post(url, {"talked_on": local_today().isoformat(), "talked_by": "张主任", "content": ""})
    assert resp.status_code == 200 and "field-error" in resp.get_data(as_text=True)
    future = (local_today() + dt.timedelta(days=3)).isoformat()
    resp = leader.post(url, {"talked_on": future, "talked_by": "张主任", "content": "指出问题"})
    assert resp.status_code == 200 and "field-error" in resp.get_data(as_text=True)
    assert rt.client.get(f"{API}/tasks", headers=rt.h("d1head")).get_json()[0]["status"] == "open"
    # the person the talk is about may not open the task
    assert login_new("t1staff").get(url).status_code == 403
    resp = leader.post(url, {"talked_on": local_today().isoformat(), "talked_by": "张主任",
                             "content": "指出本季度工作中存在的问题，提出改进要求。", "follow_up": "下月复查工作台账"})
    assert resp.status_code in (302, 303)
    page = leader.get(url).get_data(as_text=True)
    assert 'data-testid="talk-record"' in page and "下月复查工作台账" in page and "talk-form" not in page
    assert rt.client.get(f"{API}/tasks", headers=rt.h("d1head")).get_json() == []
    talk = rt.client.get(f"{API}/tasks/{task['id']}/talk", headers=rt.h("d1head")).get_json()
    assert talk["talked_by"] == "张主任" and talk["follow_up"] == "下月复查工作台账"
    # the period page links the talk
    office = login_new("t1admin").get(f"/routine/periods/{rt.period_id}").get_data(as_text=True)
    assert url in office
    # recorded once: a second talk on the closed task is a conflict
    resp = rt.client.post(f"{API}/tasks/{task['id']}/talk", json={
        "talked_on": local_today().isoformat(), "talked_by": "x", "content": "y"}, headers=rt.h("d1head"))
    assert resp.status_code == 409
    assert resp.get_json()["errors"]["status"] == ["The task is already done."]   # in words, not the raw status
    resp = rt.client.post(f"{API}/tasks/{task['id']}/talk", json={
        "talked_on": local_today().isoformat(), "talked_by": "x", "content": "y"},
        headers={**rt.h("d1head"), "Accept-Language": "zh-CN"})
    assert resp.get_json()["errors"]["status"] == ["该任务已办结。"]


def test_talk_api(rt):
    task = _criticism_task(rt)
    url = f"{API}/tasks/{task['id']}/talk"
    assert rt.client.get(url, headers=rt.h("d1head")).status_code == 404
    resp = rt.client.post(url, json={"talked_on": local_today().isoformat(), "talked_by": "张主任", "content": "谈话"},
                          headers=rt.h("d2head"))
    assert resp.status_code == 403
    resp = rt.client.post(url, json={"talked_on": "2026-13-01", "talked_by": "张主任", "content": "谈话"},
                          headers=rt.h("d1head"))
    assert resp.status_code == 422 and "talked_on" in resp.get_json()["errors"]
    resp = rt.client.post(url, json={"talked_on": local_today().isoformat(), "talked_by": "张主任",
                                     "content": "谈话内容"}, headers=rt.h("d1head"))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["content"] == "谈话内容"
