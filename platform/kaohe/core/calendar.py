"""Working days in China: public holidays and the weekend days made working
days (调休) come from the maintained ``chinese_calendar`` package, or, for a
year the province entered itself (kaohe.policy.holidays), from that list; a
tenant's policy may add local holidays (calendar.extra_holidays) and extra
working days (calendar.extra_workdays) as ISO dates.  Used for 公示 windows
and appeal deadlines (routine and annual slices)."""
from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import Callable, Iterable

try:  # the package covers a fixed range of years; see covers_year
    import chinese_calendar as _cc
except Exception:  # pragma: no cover - dependency missing
    _cc = None

# The years the package has data for: from the first to the last year of its
# published holiday table (its is_workday refuses any other year).
_KNOWN = range(min(_cc.holidays).year, max(_cc.holidays).year + 1) if _cc is not None else range(0)

log = logging.getLogger("kaohe.calendar")

# A year's national holidays entered by the province (kaohe.policy.holidays,
# registered by the shell): year -> (holidays, make-up working days) or None.
_year_provider: Callable[[int], tuple[set, set] | None] | None = None


def set_year_provider(fn: Callable[[int], tuple[set, set] | None] | None) -> None:
    global _year_provider
    _year_provider = fn


def entered_year(year: int) -> tuple[set, set] | None:
    """The holidays and make-up working days the caller's province entered
    for ``year`` (they win over the package), or None."""
    return _year_provider(year) if _year_provider is not None else None


def known_year(year: int) -> bool:
    """True when the province entered the year or the package knows it."""
    return entered_year(year) is not None or covers_year(year)


@functools.lru_cache(maxsize=None)
def covers_year(year: int) -> bool:
    """True when the installed ``chinese_calendar`` knows the holidays and
    调休 days of ``year`` (the State Council publishes a year's list late in
    the year before; the package follows in a release)."""
    if year in _KNOWN:
        return True
    log.warning("chinese_calendar has no holiday data for %s: counting Monday-Friday plus the "
                "policy's calendar.extra_holidays/extra_workdays for that year", year)
    return False


def uncovered_years(start: dt.date, end: dt.date) -> list[int]:
    """Years in [start, end] whose national holidays neither the province
    entered nor the package knows."""
    return [y for y in range(start.year, end.year + 1) if not known_year(y)]


def _dates(values: Iterable | None) -> set[dt.date]:
    out: set[dt.date] = set()
    for v in values or ():
        if isinstance(v, dt.date):
            out.add(v)
        else:
            out.add(dt.date.fromisoformat(str(v)))
    return out


class WorkCalendar:
    def __init__(self, extra_holidays: Iterable | None = None, extra_workdays: Iterable | None = None):
        self.extra_holidays = _dates(extra_holidays)
        self.extra_workdays = _dates(extra_workdays)
        self._entered: dict[int, tuple[set, set] | None] = {}

    @classmethod
    def from_policy(cls, policy: dict | None) -> "WorkCalendar":
        policy = policy or {}
        return cls(policy.get("calendar.extra_holidays"), policy.get("calendar.extra_workdays"))

    def is_workday(self, day: dt.date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        if day.year not in self._entered:
            self._entered[day.year] = entered_year(day.year)
        entered = self._entered[day.year]
        if entered is not None:       # the province's own list for the year wins over the package
            holidays, workdays = entered
            return day in workdays or (day not in holidays and day.weekday() < 5)
        if covers_year(day.year):
            return bool(_cc.is_workday(day))
        # A year the package does not know yet: weekends only, and the pages
        # say so (kaohe.web: calendar_gap) so the office can add the year's
        # holidays to the policy until the package is updated.
        return day.weekday() < 5

    def next_workday(self, day: dt.date, include: bool = True) -> dt.date:
        d = day if include else day + dt.timedelta(days=1)
        while not self.is_workday(d):
            d += dt.timedelta(days=1)
        return d

    def add_workdays(self, start: dt.date, n: int) -> dt.date:
        """The last day of a window of ``n`` working days starting on
        ``start`` (or the next working day when ``start`` is not one)."""
        if n <= 0:
            return start
        d = self.next_workday(start)
        counted = 1
        while counted < n:
            d += dt.timedelta(days=1)
            if self.is_workday(d):
                counted += 1
        return d

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in [start, end]."""
        n, d = 0, start
        while d <= end:
            n += self.is_workday(d)
            d += dt.timedelta(days=1)
        return n


def add_workdays(start: dt.date, n: int, policy: dict | None = None) -> dt.date:
    return WorkCalendar.from_policy(policy).add_workdays(start, n)


def is_workday(day: dt.date, policy: dict | None = None) -> bool:
    return WorkCalendar.from_policy(policy).is_workday(day)
