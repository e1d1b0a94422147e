"""The national holiday calendar of a year, entered by the province's policy
administrator when the ``chinese_calendar`` package does not know the year
yet (the State Council publishes the list late in the year before).

One row per (province, year): the public holidays (with their names) and
the make-up working days (调休上班日, weekend days that are worked).  When
a row exists, ``core.calendar`` uses it for that year instead of the package
(``year_tables`` is registered as its provider by the shell)."""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import gettext as _

from ..audit.service import current_actor, record
from ..core.errors import Conflict, Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import current_scope
from .models import CalendarYear

_LINE = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2})\s*(.*?)\s*$")


def _parse_day(text: str) -> dt.date | None:
    try:
        y, m, d = (int(x) for x in text.split("-"))
        return dt.date(y, m, d)
    except ValueError:
        return None


def parse_days(text: str, year: int, field: str, *, named: bool) -> tuple[list[tuple[dt.date, str]], list[str]]:
    """One date per line (``2027-01-01 元旦``; the name only for holidays).
    Returns the days and one message per bad line, naming the line."""
    days: list[tuple[dt.date, str]] = []
    errors: list[str] = []
    seen: set[dt.date] = set()
    for n, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        m = _LINE.match(raw)
        day = _parse_day(m.group(1)) if m else None
        if day is None:
            errors.append(_("Line %(n)s: “%(text)s” is not a date; write it as %(example)s.",
                            n=n, text=raw.strip()[:40], example="%d-01-01" % year))
            continue
        if day.year != year:
            errors.append(_("Line %(n)s: %(day)s is not in %(year)s.", n=n, day=day.isoformat(), year=year))
            continue
        if day in seen:
            errors.append(_("Line %(n)s: %(day)s is listed twice.", n=n, day=day.isoformat()))
            continue
        if field == "workdays" and day.weekday() < 5:
            errors.append(_("Line %(n)s: %(day)s is a weekday; make-up working days are Saturdays or Sundays.",
                            n=n, day=day.isoformat()))
            continue
        seen.add(day)
        days.append((day, m.group(2) if named else ""))
    return sorted(days), errors


def province_of(node: OrgNode) -> OrgNode:
    return node if node.parent_id is None else db.session.get(OrgNode, node.root_id)


def get_year(root_id: int, year: int) -> CalendarYear | None:
    return db.session.get(CalendarYear, (root_id, year))


def save_year(root: OrgNode, year: int, holidays_text: str, workdays_text: str,
              expected_version: int | None = None) -> CalendarYear:
    """Validate both lists (every bad line named), then write the year and
    audit the change; flush, never commit."""
    if not 2000 <= int(year) <= 2100:
        raise Invalid({"year": [_("Choose a year between 2000 and 2100.")]})
    holidays, h_err = parse_days(holidays_text, year, "holidays", named=True)
    workdays, w_err = parse_days(workdays_text, year, "workdays", named=False)
    both = sorted({d for d, _n in holidays} & {d for d, _n in workdays})
    if both:
        w_err.append(_("%(days)s cannot be a holiday and a working day at once.",
                       days="、".join(d.isoformat() for d in both)))
    if not holidays and not h_err:
        h_err.append(_("List at least one public holiday."))
    errors = {k: v for k, v in (("holidays", h_err), ("workdays", w_err)) if v}
    if errors:
        raise Invalid(errors)
    row = get_year(root.id, year)
    if row is not None and expected_version is not None and row.version != expected_version:
        raise Conflict({"version": [_("Someone changed this year's calendar first; check it and save again.")]})
    before = _state(row)
    if row is None:
        row = CalendarYear(root_id=root.id, year=year)
        db.session.add(row)
    row.holidays = [{"day": d.isoformat(), "name": name} for d, name in holidays]
    row.workdays = [d.isoformat() for d, _n in workdays]
    row.updated_by_name = current_actor().name
    row.updated_at = dt.datetime.now(dt.timezone.utc)
    db.session.flush()
    _forget(root.id, year)
    record("policy.calendar.set", root_id=root.id, org_id=root.id, target_type="calendar_year",
           target_id=str(year), before=before, after=_state(row))
    return row


def clear_year(root: OrgNode, year: int) -> bool:
    row = get_year(root.id, year)
    if row is None:
        return False
    before = _state(row)
    db.session.delete(row)
    db.session.flush()
    _forget(root.id, year)
    record("policy.calendar.clear", root_id=root.id, org_id=root.id, target_type="calendar_year",
           target_id=str(year), before=before, after=None)
    return True


def _forget(root_id: int, year: int) -> None:
    from flask import g, has_app_context

    if has_app_context():
        g.setdefault("kaohe_calendar_years", {}).pop((root_id, year), None)


def _state(row: CalendarYear | None) -> dict | None:
    if row is None:
        return None
    return {"holidays": list(row.holidays or []), "workdays": list(row.workdays or [])}


def year_tables(year: int) -> tuple[set[dt.date], set[dt.date]] | None:
    """The provider for ``core.calendar``: (holidays, make-up working days)
    the caller's province entered for ``year``, or None."""
    try:
        root_id = current_scope().root_id
    except Exception:  # noqa: BLE001  (no app or no scope: the package alone)
        return None
    if root_id is None:
        return None
    from flask import g, has_app_context

    cache = g.setdefault("kaohe_calendar_years", {}) if has_app_context() else {}
    if (root_id, year) not in cache:
        row = get_year(root_id, year)
        cache[(root_id, year)] = None if row is None else (
            {dt.date.fromisoformat(h["day"]) for h in row.holidays or []},
            {dt.date.fromisoformat(d) for d in row.workdays or []})
    return cache[(root_id, year)]
