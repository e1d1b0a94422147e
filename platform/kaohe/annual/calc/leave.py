"""Leave in an assessment year, from date ranges: calendar days, working
days, and whether it is "more than half the year" (6A, no grade).

Which measure decides is the policy's ``eligibility.leave_measure``:
``calendar_days`` -- more calendar days than ``eligibility.leave_days``
(183 by default); ``working_days`` -- more working days than half of the
year's working days (holidays and 调休 from the working calendar).  A day
count recorded before ranges existed (the legacy figure) is compared with
``eligibility.leave_days`` whatever the measure: it is a count of unknown
days.  Pure: the working calendar comes in as a function."""
from __future__ import annotations

import datetime as dt
from typing import Callable, Iterable, Sequence

MEASURES = ("calendar_days", "working_days")
KINDS = ("sick", "personal", "other")
ONE_DAY = dt.timedelta(days=1)


def N_(message: str) -> str:
    """Marks a message for the catalog (kaohe i18n); pages translate it."""
    return message


# Messages with values: registered as templates (kaohe.annual.leave) so pages translate them.
MSG_KIND = N_("Choose the kind of leave (sick, personal or other).")
MSG_START = N_("Give the first day of the leave.")
MSG_END = N_("Give the last day of the leave.")
MSG_ORDER = N_("The last day (%(end)s) is before the first (%(start)s).")
MSG_YEAR = N_("The leave must lie inside the assessment year %(year)s; "
              "record a leave across the new year as two ranges, one in each year.")
MSG_OVERLAP = N_("It overlaps the leave from %(start)s to %(end)s already recorded for this person; "
                 "change that one instead.")
TEMPLATES = (MSG_ORDER, MSG_YEAR, MSG_OVERLAP)


def range_errors(year: int, start: dt.date | None, end: dt.date | None, kind: str | None,
                 others: Iterable[tuple[int, dt.date, dt.date]] = ()) -> dict[str, list[str]]:
    """Field → messages for a leave range of ``year`` against the person's
    other ranges (id, start, end); empty when valid."""
    errors: dict[str, list[str]] = {}
    if kind not in KINDS:
        errors["kind"] = [MSG_KIND]
    if start is None:
        errors["start_date"] = [MSG_START]
    if end is None:
        errors["end_date"] = [MSG_END]
    if start is None or end is None:
        return errors
    if end < start:
        errors["end_date"] = [MSG_ORDER % {"end": end.isoformat(), "start": start.isoformat()}]
        return errors
    if start.year != year or end.year != year:
        errors["start_date" if start.year != year else "end_date"] = [MSG_YEAR % {"year": year}]
        return errors
    for _other_id, s, e in others:
        if start <= e and s <= end:
            errors["start_date"] = [MSG_OVERLAP % {"start": s.isoformat(), "end": e.isoformat()}]
            break
    return errors


def year_workdays(year: int, is_workday: Callable[[dt.date], bool]) -> frozenset[dt.date]:
    d, end, out = dt.date(year, 1, 1), dt.date(year, 12, 31), []
    while d <= end:
        if is_workday(d):
            out.append(d)
        d += ONE_DAY
    return frozenset(out)


def measure(ranges: Sequence[tuple[dt.date, dt.date]], workdays: frozenset[dt.date]) -> tuple[int, int]:
    """(calendar days, working days) of non-overlapping ranges."""
    cal = work = 0
    for start, end in ranges:
        cal += (end - start).days + 1
        d = start
        while d <= end:
            work += d in workdays
            d += ONE_DAY
    return cal, work


def is_long(calendar_days: int, working_days: int | None, year_working_days: int | None, mode: str,
            limit_days: int) -> bool:
    """More than half the year?  ``working_days`` None: only the legacy figure
    (a day count) is known, compared with ``limit_days``."""
    if mode == "working_days" and working_days is not None and year_working_days:
        return 2 * working_days > year_working_days
    return calendar_days > limit_days


def rule_detail(calendar_days: int, working_days: int | None, year_working_days: int | None, mode: str,
                limit_days: int) -> dict:
    """The 6A rule's explanation.  A legacy day count (working days None)
    keeps the explanation it always had: {"days", "limit"}."""
    detail: dict = {"days": calendar_days, "limit": limit_days}
    if working_days is not None:
        detail.update(working_days=working_days, year_working_days=year_working_days, measure=mode)
        if mode == "working_days" and year_working_days:
            detail["limit"] = year_working_days / 2
    return detail


def _iso_dates(values) -> set[dt.date]:
    return {v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)) for v in values or ()}


def unit_workdays(base: frozenset[dt.date], year: int, pol: dict) -> frozenset[dt.date]:
    """The year's working days of a unit: the national ones (``base``, from
    the working calendar without local changes) with the unit policy's
    calendar.extra_workdays added and calendar.extra_holidays removed, as
    kaohe.core.calendar.WorkCalendar.is_workday decides (an extra working
    day wins over an extra holiday)."""
    extra_w = {d for d in _iso_dates(pol.get("calendar.extra_workdays")) if d.year == year}
    extra_h = {d for d in _iso_dates(pol.get("calendar.extra_holidays")) if d.year == year}
    if not extra_w and not extra_h:
        return base
    return frozenset((base - extra_h) | extra_w)
