"""Issue 16, finding 8: the province enters a year's public holidays and
make-up working days on a page; working days use them before the built-in
``chinese_calendar`` data; the notice about a missing year speaks HR and is
shown only to the administrators it concerns, with the way to fix it."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import kaohe.core.calendar as core_calendar
from kaohe.extensions import db


def test_entered_year_wins_over_the_package():
    day = dt.date(2026, 3, 3)                       # a Tuesday the package counts as a working day
    sat = dt.date(2026, 3, 7)
    assert core_calendar.WorkCalendar().is_workday(day)
    old = core_calendar._year_provider
    core_calendar.set_year_provider(lambda y: ({day}, {sat}) if y == 2026 else None)
    try:
        cal = core_calendar.WorkCalendar()
        assert not cal.is_workday(day) and cal.is_workday(sat)
        assert not cal.is_workday(dt.date(2026, 10, 1)) is False    # only the entered list counts for 2026
        assert core_calendar.known_year(2026)
        # the policy's own extra days still come first
        assert core_calendar.WorkCalendar(extra_workdays=[day]).is_workday(day)
    finally:
        core_calendar.set_year_provider(old)


def test_policy_admin_enters_a_year_and_deadlines_use_it(app, world, login_fresh):
    login = login_fresh
    year = 2099                                     # a year the package will not know
    b = login("policy")
    r = b.get("/policy/holidays")
    assert r.status_code == 302 and "/policy/holidays/" in r.headers["Location"]
    page = b.get(f"/policy/holidays/{year}").get_data(as_text=True)
    assert "尚未录入" in page and 'name="holidays"' in page and 'name="workdays"' in page
    # bad lines are named, nothing is written
    r = b.post(f"/policy/holidays/{year}", {"holidays": f"{year}-01-01 元旦\n{year}-13-01 错误\n2098-05-01 劳动节",
                                            "workdays": f"{year}-01-05"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "第 2 行" in html and "第 3 行" in html and "不是日期" in html and f"不在 {year} 年" in html
    assert "周六或周日" in html                      # 2099-01-05 is a Monday
    from kaohe.policy.models import CalendarYear
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system("t"))
        assert db.session.execute(select(CalendarYear)).first() is None
        db.session.remove()
    # a good list is saved and audited
    r = b.post(f"/policy/holidays/{year}", {"holidays": f"{year}-01-01 元旦\n{year}-01-02 元旦",
                                            "workdays": f"{year}-01-03"})      # a Saturday
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    page = b.get(f"/policy/holidays/{year}").get_data(as_text=True)
    assert f"{year}-01-02 元旦" in page and "尚未录入" not in page
    with app.app_context():
        from kaohe.audit.models import AuditEntry

        apply_scope(Scope.province(world.ids["P1-P"], label="t"))
        assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "policy.calendar.set")).first()
        cal = core_calendar.WorkCalendar()
        assert not cal.is_workday(dt.date(year, 1, 2))          # a Friday, entered as a holiday
        assert cal.is_workday(dt.date(year, 1, 3))              # a Saturday, entered as a working day
        assert cal.add_workdays(dt.date(year, 1, 1), 1) == dt.date(year, 1, 3)
        assert core_calendar.uncovered_years(dt.date(year, 1, 1), dt.date(year, 12, 31)) == []
        # another province does not see it
        apply_scope(Scope.province(world.ids["P2-P"], label="t"))
        assert core_calendar.WorkCalendar().is_workday(dt.date(year, 1, 2))
        db.session.remove()
    # lower roles cannot reach the page
    assert login("t1admin").get(f"/policy/holidays/{year}").status_code in (403, 404)


@pytest.fixture
def login_fresh(app):
    """Each login on a client of its own."""
    def _login(username):
        from conftest import Browser
        from kaohe.testing.world import PASSWORD

        b = Browser(app.test_client())
        b.get("/login")
        assert b.post("/login", {"username": username, "password": PASSWORD}).status_code in (302, 303)
        b.get("/")
        return b
    return _login


@pytest.fixture
def no_calendar(monkeypatch):
    monkeypatch.setattr(core_calendar, "covers_year", lambda y: False)


def test_missing_year_notice_only_for_the_admins_it_concerns(app, world, login_fresh, no_calendar):
    login = login_fresh
    html = login("policy").get("/annual/appeals").get_data(as_text=True)
    assert "data-calendar-gap" in html and "/policy/holidays/" in html and "尚未录入" in html
    assert "chinese_calendar" not in html and "calendar.extra_holidays" not in html
    html = login("t1admin").get("/annual/appeals").get_data(as_text=True)
    assert "data-calendar-gap" in html and "/policy/holidays/" not in html and "政策管理员" in html
    # staff and leaders are not shown it
    from kaohe.shell.labels import calendar_gap

    for user in ("t1staff", "t1leader"):
        with app.test_request_context():
            from flask_login import login_user

            from kaohe.auth.models import User
            from kaohe.tenancy.scope import Scope, apply_scope

            apply_scope(Scope.system("t"))
            u = db.session.execute(select(User).where(User.username == user)).scalar_one()
            login_user(u)
            assert calendar_gap() is None, user
            db.session.remove()
