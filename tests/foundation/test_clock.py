"""The business clock: days are Beijing days, whatever the server's zone."""
from __future__ import annotations

import datetime as dt

from kaohe.core import clock

LATE_UTC = dt.datetime(2026, 12, 1, 17, 48, tzinfo=dt.timezone.utc)  # 01:48 on 2 December in Beijing


def test_a_late_utc_evening_is_the_next_beijing_day(monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: LATE_UTC)
    assert clock.local_today() == dt.date(2026, 12, 2)
    assert clock.local_now().hour == 1
    assert clock.local_day(LATE_UTC) == dt.date(2026, 12, 2)
    assert clock.local_day(LATE_UTC.replace(tzinfo=None)) == dt.date(2026, 12, 2)  # naive = UTC


def test_new_year_in_beijing_starts_a_new_year_and_quarter(monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.timezone.utc))
    today = clock.local_today()
    assert (today.year, (today.month - 1) // 3 + 1) == (2027, 1)
