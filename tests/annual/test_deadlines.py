"""Working days and appeal deadlines (chinese_calendar + local extras)."""
import datetime as dt

from kaohe.annual.deadlines import WorkCalendar, appeal_deadlines, on_time
from kaohe.annual.policy import DEFAULTS

D = dt.date


def test_weekend_and_national_holiday():
    cal = WorkCalendar()
    assert not cal.is_workday(D(2026, 10, 1))          # National Day
    assert not cal.is_workday(D(2026, 11, 21))         # Saturday
    assert cal.is_workday(D(2026, 11, 23))


def test_adjusted_working_weekend_counts():
    cal = WorkCalendar()
    # 2026-01-04 (Sunday) is a working day made up for the New Year holiday (调休).
    assert cal.is_workday(D(2026, 1, 4))


def test_publicity_five_working_days_over_weekend():
    cal = WorkCalendar()
    # Thursday 2026-11-26: Thu, Fri, Mon, Tue, Wed → ends Wednesday 12-02.
    assert cal.add_working_days(D(2026, 11, 26), 5) == D(2026, 12, 2)
    # Starting on a Saturday starts on Monday.
    assert cal.add_working_days(D(2026, 11, 28), 5) == D(2026, 12, 4)


def test_configured_local_holiday_and_workday():
    cal = WorkCalendar(frozenset({D(2026, 12, 1)}), frozenset({D(2026, 11, 28)}))
    assert not cal.is_workday(D(2026, 12, 1))
    assert cal.is_workday(D(2026, 11, 28))
    # Thu 26, Fri 27, Sat 28 (extra workday), Mon 30, (Tue 1 holiday) Wed 2
    assert cal.add_working_days(D(2026, 11, 26), 5) == D(2026, 12, 2)
    pol = dict(DEFAULTS, **{"calendar.extra_holidays": ["2026-12-01"]})
    assert WorkCalendar.from_policy(pol).add_working_days(D(2026, 11, 27), 3) == D(2026, 12, 2)


def test_period_end_moves_off_rest_days():
    cal = WorkCalendar()
    # 30 days after Fri 2026-10-23 is Sun 11-22 → Monday 11-23.
    assert cal.period_end(D(2026, 10, 23), 30) == D(2026, 11, 23)
    # Ending inside the National Day holiday → first working day after it.
    assert cal.period_end(D(2026, 9, 1), 30) == D(2026, 10, 8)
    # A configured local holiday on the Monday pushes it to Tuesday.
    local = WorkCalendar(frozenset({D(2026, 11, 23)}))
    assert local.period_end(D(2026, 10, 23), 30) == D(2026, 11, 24)
    # A weekday deadline stays where it is.
    assert cal.period_end(D(2026, 10, 20), 30) == D(2026, 11, 19)


def test_appeal_chain_and_one_day_late():
    cal = WorkCalendar()
    dl = appeal_deadlines(cal, DEFAULTS, notice_on=D(2026, 1, 12),
                          review_filed_on=D(2026, 1, 20), review_decided_on=D(2026, 2, 10),
                          appeal_filed_on=D(2026, 2, 20))
    assert dl["review_apply_by"] == D(2026, 2, 11)
    assert on_time(D(2026, 2, 11), dl["review_apply_by"])
    assert not on_time(D(2026, 2, 12), dl["review_apply_by"])
    assert dl["appeal_after_review_by"] == D(2026, 2, 25)
    assert dl["appeal_decide_by"] == cal.period_end(D(2026, 2, 20), 60)
    ext = appeal_deadlines(cal, DEFAULTS, appeal_filed_on=D(2026, 2, 20), extended=True)
    assert ext["appeal_decide_by"] == cal.period_end(D(2026, 2, 20), 90)


def test_year_the_holiday_package_does_not_know():
    """A year outside chinese_calendar's data counts Monday-Friday plus the
    policy's extras, and is reported as not covered (the pages warn)."""
    from kaohe.core.calendar import covers_year, uncovered_years

    assert covers_year(2026) and not covers_year(2099)
    assert uncovered_years(D(2025, 12, 1), D(2026, 1, 31)) == []
    assert uncovered_years(D(2098, 12, 1), D(2099, 1, 31)) == [2098, 2099]
    cal = WorkCalendar()
    assert cal.is_workday(D(2099, 1, 5)) and not cal.is_workday(D(2099, 1, 3))   # Monday / Saturday
    local = WorkCalendar(extra_holidays=frozenset({D(2099, 1, 5)}))
    assert not local.is_workday(D(2099, 1, 5))
    assert local.add_working_days(D(2099, 1, 5), 2) == D(2099, 1, 7)


def test_calendar_gap_message_names_the_years(app):
    from kaohe.shell.labels import calendar_gap

    with app.test_request_context():
        assert calendar_gap(D(2025, 12, 1), D(2026, 1, 31)) is None
        # Only the administrators it concerns see the notice (issue 16): nobody signed in here.
        # tests/policy/test_holidays.py checks the words an administrator sees.
        assert calendar_gap(D(2099, 3, 1)) is None
