"""Reminders (missing sign-ins, overdue records and ratings) and the CLI."""
from __future__ import annotations

import datetime as dt

from kaohe.core.clock import local_today

from kaohe.core.calendar import WorkCalendar

from .conftest import transition

API = "/api/v1/routine"


def _workday_in_quarter() -> dt.date:
    cal = WorkCalendar()
    d = local_today()
    start = dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    while d >= start:
        if cal.is_workday(d):
            return d
        d -= dt.timedelta(days=1)
    return None


def test_remind_cli_is_idempotent(rt, runner):
    day = _workday_in_quarter()
    if day is None:       # the quarter began today on a holiday: nothing to check
        return
    rt.client.post(f"{API}/me/attendance", json={"what": "in"}, headers=rt.h("d1staff"))
    assert transition(rt, "rating").status_code == 200
    res = runner.invoke(args=["routine", "remind", "--day", day.isoformat()])
    assert res.exit_code == 0, res.output
    assert "sign_in" in res.output
    first = res.output.splitlines()[0]    # province P1 (the test world's first)
    assert "rating 0" not in first        # the raters still owe ratings in the rating stage
    assert "sign_in 0" not in first
    res = runner.invoke(args=["routine", "remind", "--day", day.isoformat()])
    again = res.output.splitlines()[0]
    assert res.exit_code == 0 and "sign_in 0" in again and "rating 0" in again
    # the staff member who owes ratings sees the reminder on the home panel
    from kaohe.extensions import db
    from kaohe.routine.models import RoutineReminder
    from kaohe.tenancy.scope import Scope, apply_scope
    from sqlalchemy import select

    with rt.app.app_context():
        apply_scope(Scope.system("t"))
        kinds = {(p, k) for p, k in db.session.execute(select(RoutineReminder.person_id, RoutineReminder.kind))}
        db.session.remove()
    assert (rt.ids["d2staff"], "sign_in") in kinds
    if day == local_today():
        assert (rt.ids["d1staff"], "sign_in") not in kinds
    assert (rt.ids["d1head"], "rating") in kinds


def test_remind_cli_bad_input(rt, runner):
    res = runner.invoke(args=["routine", "remind", "--day", "yesterday"])
    assert res.exit_code != 0 and "ISO date" in res.output and "Traceback" not in res.output
    res = runner.invoke(args=["routine", "remind", "--province", "NOPE"])
    assert res.exit_code != 0 and "no province" in res.output


def test_working_days():
    cal = WorkCalendar()
    # 2026-10-01..08 is the National Day holiday; 2026-09-28 (Mon) a normal working day
    assert not cal.is_workday(dt.date(2026, 10, 1))
    assert cal.add_workdays(dt.date(2026, 9, 30), 3) > dt.date(2026, 10, 8)
    local = WorkCalendar(extra_holidays=["2026-11-23"], extra_workdays=["2026-11-22"])
    assert not local.is_workday(dt.date(2026, 11, 23)) and local.is_workday(dt.date(2026, 11, 22))
    assert cal.add_workdays(dt.date(2026, 11, 20), 3) == dt.date(2026, 11, 24)   # Fri → Mon, Tue
