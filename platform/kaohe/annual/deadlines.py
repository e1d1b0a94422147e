"""Deadlines of the annual assessment: the 公示 window in working days and
the review/appeal periods (复核/申诉) in calendar days.

Our reading of the rules (stated on the pages and in docs):

* Periods in days are **calendar days**, counted from the day after the
  event (the notice, the review decision, the filing).  When the last day
  falls on a rest day (weekend, public holiday, or a local extra holiday) the
  period ends on the next working day, as Chinese administrative procedure
  counts periods.  A filing is on time when its date is on or before that day.
* 公示 runs for at least N **working days** including the start day when the
  start day is a working day (otherwise from the next working day).

Working days come from ``kaohe.core.calendar`` (``chinese_calendar``: national holidays and the
weekend days made working days, 调休), plus the policy's
``calendar.extra_holidays`` / ``calendar.extra_workdays``.  For a year the
library does not cover yet, weekends are rest days and the extras apply.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable

from ..core.clock import local_day


def _to_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return local_day(value)
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


@dataclass(frozen=True)
class WorkCalendar:
    extra_holidays: frozenset = field(default_factory=frozenset)
    extra_workdays: frozenset = field(default_factory=frozenset)

    @classmethod
    def from_policy(cls, pol) -> "WorkCalendar":
        get = pol.get if hasattr(pol, "get") else (lambda k, d=None: d)
        return cls(frozenset(_to_date(d) for d in (get("calendar.extra_holidays", None) or [])),
                   frozenset(_to_date(d) for d in (get("calendar.extra_workdays", None) or [])))

    @cached_property
    def _core(self):
        """The shared working-day calendar (kaohe.core.calendar), one source of truth."""
        from ..core.calendar import WorkCalendar as CoreCalendar

        return CoreCalendar(self.extra_holidays, self.extra_workdays)

    def is_workday(self, day: dt.date) -> bool:
        return self._core.is_workday(day)

    def next_workday(self, day: dt.date) -> dt.date:
        return self._core.next_workday(day)

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The last day of a window of ``n`` working days beginning at ``start``
        (the next working day itself when ``n`` is below 1)."""
        start = _to_date(start)
        return self._core.add_workdays(start, n) if n >= 1 else self.next_workday(start)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in [start, end]."""
        return self._core.workdays_between(_to_date(start), end)

    def period_end(self, event: dt.date, days: int) -> dt.date:
        """Last day to act: ``days`` calendar days after ``event``, moved to
        the next working day when it falls on a rest day."""
        return self.next_workday(_to_date(event) + dt.timedelta(days=int(days)))


def on_time(filed: dt.date, deadline: dt.date) -> bool:
    return _to_date(filed) <= _to_date(deadline)


def days_left(today: dt.date, deadline: dt.date) -> int:
    return (_to_date(deadline) - _to_date(today)).days


def appeal_deadlines(cal: WorkCalendar, pol, *, notice_on: dt.date | None = None,
                     review_filed_on: dt.date | None = None, review_decided_on: dt.date | None = None,
                     appeal_filed_on: dt.date | None = None, extended: bool = False) -> dict:
    """Every deadline of a case that its known dates allow."""
    get = pol.get
    out: dict = {}
    if notice_on:
        out["review_apply_by"] = cal.period_end(notice_on, get("appeal.review_apply_days", 30))
        out["direct_appeal_by"] = cal.period_end(notice_on, get("appeal.direct_days", 30))
    if review_filed_on:
        out["review_decide_by"] = cal.period_end(review_filed_on, get("appeal.review_decide_days", 30))
    if review_decided_on:
        out["appeal_after_review_by"] = cal.period_end(review_decided_on, get("appeal.after_review_days", 15))
    if appeal_filed_on:
        days = int(get("appeal.decide_days", 60)) + (int(get("appeal.extension_days", 30)) if extended else 0)
        out["appeal_decide_by"] = cal.period_end(appeal_filed_on, days)
    return out
