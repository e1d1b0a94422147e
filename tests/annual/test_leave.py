"""Finding 8 (issue 12): leave was a day count compared with 183.  Leave is
now recorded as date ranges (annual_leave); the annual eligibility counts
their calendar days and working days (China's holidays and 调休 from the
working calendar), and the policy setting eligibility.leave_measure says
which decides "more than half the year" (6A).  A day count recorded before
(annual_record, kind leave) is kept as a legacy figure, used only for a
person and year without any range."""
from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest
from sqlalchemy import select

from kaohe.annual.calc import leave as calc
from kaohe.annual.calc.person import PersonInput
from kaohe.annual.calc.unit import compute_unit
from kaohe.annual.policy import DEFAULTS
from kaohe.extensions import db

from .conftest import YEAR

D = dt.date


# -- the arithmetic -------------------------------------------------------------------------------

def test_calendar_and_working_days_follow_chinese_holidays_and_make_up_days():
    wd = calc.year_workdays(2025, chinese_calendar.is_workday)
    # 2025-09-28 (Sunday) and 2025-10-11 (Saturday) are make-up working days; 10-01..10-08 the National Day holiday
    assert calc.measure([(D(2025, 9, 28), D(2025, 10, 11))], wd) == (14, 6)
    assert calc.measure([(D(2025, 10, 1), D(2025, 10, 8))], wd) == (8, 0)
    assert len(wd) == sum(chinese_calendar.is_workday(D(2025, 1, 1) + dt.timedelta(i)) for i in range(365))


def test_unit_calendar_settings_change_the_working_days():
    base = calc.year_workdays(2026, chinese_calendar.is_workday)
    pol = {"calendar.extra_holidays": ["2026-03-02"], "calendar.extra_workdays": ["2026-03-07"]}
    wd = calc.unit_workdays(base, 2026, pol)
    assert D(2026, 3, 2) not in wd and D(2026, 3, 7) in wd and len(wd) == len(base)


@pytest.mark.parametrize("start,end,others,field,words", [
    (D(2026, 5, 10), D(2026, 5, 1), [], "end_date", "before the first"),
    (D(2025, 12, 20), D(2026, 1, 10), [], "start_date", "inside the assessment year 2026"),
    (D(2026, 12, 20), D(2027, 1, 10), [], "end_date", "two ranges"),
    (D(2026, 3, 5), D(2026, 3, 9), [(1, D(2026, 3, 1), D(2026, 3, 5))], "start_date", "overlaps the leave from 2026-03-01"),
    (D(2026, 2, 20), D(2026, 3, 20), [(1, D(2026, 3, 1), D(2026, 3, 5))], "start_date", "overlaps"),
])
def test_bad_ranges_are_refused_naming_the_rule(start, end, others, field, words):
    errors = calc.range_errors(2026, start, end, "sick", others)
    assert words in errors[field][0]


def test_good_ranges_and_touching_ranges_pass():
    assert calc.range_errors(2026, D(2026, 3, 6), D(2026, 3, 6), "personal", [(1, D(2026, 3, 1), D(2026, 3, 5))]) == {}
    assert "kind" in calc.range_errors(2026, D(2026, 3, 6), D(2026, 3, 6), "holiday")


def _code(p: PersonInput, measure: str) -> str:
    out = compute_unit([p, PersonInput(2, routine=[(85, "jiaohao")] * 4, leader_score=85)],
                       {**DEFAULTS, "eligibility.leave_measure": measure}, YEAR)
    return out.results[0].code


def test_the_policy_measure_decides_more_than_half_the_year():
    routine = [(85, "jiaohao")] * 4
    weekdays = PersonInput(1, routine=routine, leader_score=85, leave_days=140, leave_workdays=130, year_workdays=248)
    assert _code(weekdays, "working_days") == "6A" and _code(weekdays, "calendar_days") == "2"
    long_but_holidays = PersonInput(1, routine=routine, leader_score=85, leave_days=190, leave_workdays=120,
                                    year_workdays=248)
    assert _code(long_but_holidays, "calendar_days") == "6A" and _code(long_but_holidays, "working_days") == "2"
    exactly_half = PersonInput(1, routine=routine, leader_score=85, leave_days=170, leave_workdays=124,
                               year_workdays=248)
    assert _code(exactly_half, "working_days") == "2"
    # a legacy day count (no ranges: working days unknown) is compared with the day limit under either measure
    legacy = PersonInput(1, routine=routine, leader_score=85, leave_days=200)
    assert _code(legacy, "working_days") == "6A" == _code(legacy, "calendar_days")
    rule = compute_unit([legacy], DEFAULTS, YEAR).results[0].rules[0]
    assert rule["rule"] == "long_leave" and rule["detail"] == {"days": 200, "limit": 183}


def test_the_measure_is_a_bounded_policy_setting_defaulting_to_calendar_days():
    from kaohe.policy import registry as reg

    s = reg.REGISTRY["eligibility.leave_measure"]
    assert s.default == "calendar_days" and s.kind == reg.BOUNDED
    assert set(s.choices) == {"calendar_days", "working_days"}


# -- page, API and the computation ----------------------------------------------------------------

def _weekday_blocks(first_monday: dt.date, weeks: int) -> list[tuple[dt.date, dt.date]]:
    return [(first_monday + dt.timedelta(weeks=w), first_monday + dt.timedelta(weeks=w, days=4)) for w in range(weeks)]


def _oracle(ranges):
    cal = sum((e - s).days + 1 for s, e in ranges)
    work = sum(chinese_calendar.is_workday(s + dt.timedelta(i)) for s, e in ranges for i in range((e - s).days + 1))
    total = sum(chinese_calendar.is_workday(D(YEAR, 1, 1) + dt.timedelta(i)) for i in range(365))
    return cal, work, total


def _codes(client, h, unit):
    base = f"/api/v1/annual/units/{unit}/{YEAR}"
    assert client.post(f"{base}/compute", headers=h).status_code in (200, 202)
    return {r["person_id"]: r for r in client.get(f"{base}/results", headers=h).get_json()}


def test_leave_ranges_through_the_api_decide_eligibility_by_the_policy_measure(app, world, t1_seeded, client,
                                                                               api_token):
    h = api_token("t1admin")
    unit, pid = world.ids["P1-T1"], t1_seeded["people"]["d1staff"]
    ranges = _weekday_blocks(D(YEAR, 1, 5), 28)
    cal, work, total = _oracle(ranges)
    assert cal <= 183 < 2 * work + 183 and 2 * work > total     # long by working days only
    for s, e in ranges:
        resp = client.post(f"/api/v1/annual/units/{unit}/leave", headers=h, json={
            "person_id": pid, "year": YEAR, "start_date": s.isoformat(), "end_date": e.isoformat(), "kind": "sick"})
        assert resp.status_code == 201, resp.get_json()
    summary = client.get(f"/api/v1/annual/units/{unit}/{YEAR}/leave", headers=h).get_json()
    row = next(r for r in summary["people"] if r["person_id"] == pid)
    assert (row["calendar_days"], row["working_days"], summary["year_working_days"]) == (cal, work, total)
    assert summary["measure"] == "calendar_days" and row["long"] is False
    res = _codes(client, h, unit)
    assert res[pid]["code"] != "6A" and res[pid]["grade"]
    # the province reads "half the year" as working days
    from kaohe.policy import settings
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system("t"))
        settings.set_value(db.session.get(OrgNode, world.ids["P1-P"]), "eligibility.leave_measure", "working_days")
        db.session.commit()
        db.session.remove()
    summary = client.get(f"/api/v1/annual/units/{unit}/{YEAR}/leave", headers=h).get_json()
    assert summary["measure"] == "working_days" and next(r for r in summary["people"] if r["person_id"] == pid)["long"]
    res = _codes(client, h, unit)
    assert res[pid]["code"] == "6A" and res[pid]["grade"] is None
    detail = next(r for r in res[pid]["explain"]["rules"] if r["rule"] == "long_leave")["detail"]
    assert detail["working_days"] == work and detail["measure"] == "working_days"
    # deleting a range brings the person back below half the year (audited)
    first = next(r for r in summary["people"] if r["person_id"] == pid)["ranges"]
    gone = [x for x in first][:4]
    for x in gone:
        assert client.delete(f"/api/v1/annual/leave/{x['id']}", headers=h).status_code == 204
    assert _codes(client, h, unit)[pid]["code"] != "6A"
    with app.app_context():
        from kaohe.audit.models import AuditEntry

        apply_scope(Scope.system("t"))
        actions = list(db.session.execute(select(AuditEntry.action).where(
            AuditEntry.action.like("annual.leave.%"))).scalars())
        assert actions.count("annual.leave.add") == 28 and actions.count("annual.leave.delete") == 4
        db.session.remove()


def test_api_refuses_bad_ranges_with_field_messages_and_writes_nothing(world, t1_seeded, client, api_token):
    h = api_token("t1admin")
    unit, pid = world.ids["P1-T1"], t1_seeded["people"]["d1staff"]
    url = f"/api/v1/annual/units/{unit}/leave"
    body = {"person_id": pid, "year": YEAR, "kind": "personal"}
    ok = client.post(url, headers=h, json={**body, "start_date": f"{YEAR}-03-02", "end_date": f"{YEAR}-03-06"})
    assert ok.status_code == 201
    for start, end, field, words in [(f"{YEAR}-03-06", f"{YEAR}-03-10", "start_date", "overlaps"),
                                     (f"{YEAR}-04-10", f"{YEAR}-04-01", "end_date", "before the first"),
                                     (f"{YEAR}-12-28", f"{YEAR + 1}-01-05", "end_date", "two ranges")]:
        resp = client.post(url, headers=h, json={**body, "start_date": start, "end_date": end})
        assert resp.status_code == 422 and words in resp.get_json()["errors"][field][0], resp.get_json()
    # an update obeys the same rules; a stale version is a conflict
    rid, version = ok.get_json()["id"], ok.get_json()["version"]
    resp = client.put(f"/api/v1/annual/leave/{rid}", headers=h,
                      json={"start_date": f"{YEAR}-03-06", "end_date": f"{YEAR}-03-02", "kind": "sick"})
    assert resp.status_code == 422 and "end_date" in resp.get_json()["errors"]
    resp = client.put(f"/api/v1/annual/leave/{rid}", headers=h, json={
        "start_date": f"{YEAR}-03-02", "end_date": f"{YEAR}-03-04", "kind": "sick", "version": version})
    assert resp.status_code == 200 and resp.get_json()["end_date"] == f"{YEAR}-03-04"
    resp = client.put(f"/api/v1/annual/leave/{rid}", headers=h, json={
        "start_date": f"{YEAR}-03-02", "end_date": f"{YEAR}-03-05", "kind": "sick", "version": version})
    assert resp.status_code == 409
    summary = client.get(f"/api/v1/annual/units/{unit}/{YEAR}/leave", headers=h).get_json()
    assert [len(r["ranges"]) for r in summary["people"]] == [1]
    # a staff member may not record leave
    assert client.post(url, headers=api_token("t1staff"), json={
        **body, "start_date": f"{YEAR}-05-04", "end_date": f"{YEAR}-05-05"}).status_code == 403
    # the old day count is refused: leave is a range now
    resp = client.post(f"/api/v1/annual/units/{unit}/records", headers=h,
                       json={"person_id": pid, "kind": "leave", "year": YEAR, "days": 200})
    assert resp.status_code == 422 and "date ranges" in resp.get_json()["errors"]["kind"][0]


def test_leave_page_records_edits_and_explains_in_chinese(app, world, t1_seeded, login_as):
    unit, pid = world.ids["P1-T1"], t1_seeded["people"]["d1staff"]
    admin = login_as("t1admin")
    page = f"/annual/unit/{unit}/{YEAR}/leave"
    assert admin.get(page).status_code == 200
    r = admin.post(page, {"person_id": str(pid), "start_date": f"{YEAR}-06-01", "end_date": f"{YEAR}-06-30",
                          "kind": "sick", "note": "住院"})
    assert r.status_code == 302
    r = admin.post(page, {"person_id": str(pid), "start_date": f"{YEAR}-06-20", "end_date": f"{YEAR}-07-10",
                          "kind": "personal"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "重叠" in html and f"{YEAR}-06-01" in html and "overlaps" not in html
    r = admin.post(page, {"person_id": str(pid), "start_date": f"{YEAR}-08-10", "end_date": f"{YEAR}-08-01",
                          "kind": "personal"})
    assert r.status_code == 422 and "早于开始日期" in r.get_data(as_text=True)
    r = admin.post(page, {"person_id": str(pid), "start_date": f"{YEAR}-12-30", "end_date": f"{YEAR + 1}-01-02",
                          "kind": "personal"})
    assert r.status_code == 422 and "分两段登记" in r.get_data(as_text=True)
    html = admin.get(page).get_data(as_text=True)
    assert "住院" in html and ">30<" in html and "自然日" in html     # June: 30 calendar days
    from kaohe.annual.models import AnnualLeave
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system("t"))
        rec = db.session.execute(select(AnnualLeave)).scalar_one()
        rid, version = rec.id, rec.version
        db.session.remove()
    r = admin.post(f"/annual/leave/{rid}/edit", {"start_date": f"{YEAR}-06-01", "end_date": f"{YEAR}-06-10",
                                                 "kind": "sick", "version": str(version)})
    assert r.status_code == 302
    assert ">10<" in admin.get(page).get_data(as_text=True)
    r = admin.post(f"/annual/leave/{rid}/edit", {"start_date": f"{YEAR}-06-11", "end_date": f"{YEAR}-06-10",
                                                 "kind": "sick"})
    assert r.status_code == 422 and "早于开始日期" in r.get_data(as_text=True)
    assert admin.post(f"/annual/leave/{rid}/delete", {}).status_code == 302
    assert "本年度尚无请假登记" in admin.get(page).get_data(as_text=True)
    # a staff member has no access to the page
    assert login_as("t1staff").get(page).status_code == 403


def test_a_legacy_day_count_counts_only_until_a_range_is_entered(app, world, t1_seeded, client, api_token, login_as):
    from kaohe.annual.models import AnnualRecord
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    h = api_token("t1admin")
    unit, pid = world.ids["P1-T1"], t1_seeded["people"]["d1staff"]
    with app.app_context():   # as recorded before ranges existed
        apply_scope(Scope.system("t"))
        db.session.add(AnnualRecord(root_id=db.session.get(OrgNode, unit).root_id, org_id=unit, person_id=pid,
                                    kind="leave", year=YEAR, days=200))
        db.session.commit()
        db.session.remove()
    assert _codes(client, h, unit)[pid]["code"] == "6A"
    html = login_as("t1admin").get(f"/annual/unit/{unit}/{YEAR}/leave").get_data(as_text=True)
    assert "原按天数登记200天" in html
    resp = client.post(f"/api/v1/annual/units/{unit}/leave", headers=h, json={
        "person_id": pid, "year": YEAR, "start_date": f"{YEAR}-03-02", "end_date": f"{YEAR}-03-13", "kind": "sick"})
    assert resp.status_code == 201
    assert _codes(client, h, unit)[pid]["code"] != "6A"     # the ranges decide now
    assert "原登记的200天已不再使用" in login_as("t1admin").get(f"/annual/unit/{unit}/{YEAR}/leave").get_data(as_text=True)
