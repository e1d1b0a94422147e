"""The page where the province's policy administrator enters a year's public
holidays and make-up working days (policy.holidays)."""
from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth.roles import Perm
from ..auth.service import has_perm
from ..core import calendar as core_calendar
from ..core.clock import local_today
from ..core.errors import KaoheError
from ..extensions import db
from ..tenancy.models import OrgNode
from ..web.i18n import pick
from . import holidays
from .views import _top_nodes, bp


def _province() -> OrgNode:
    """The caller's province, when they may edit its policy (else 403: the
    page is for the province's policy administrators)."""
    for n in _top_nodes():
        root = n if n.parent_id is None else db.session.get(OrgNode, n.root_id)
        if root is not None and has_perm(Perm.policy_edit, root):
            return root
    abort(403)


def _package_days(year: int) -> tuple[str, str]:
    """The year as the package knows it, as a starting point for the form."""
    if not core_calendar.covers_year(year):
        return "", ""
    import chinese_calendar as cc
    from chinese_calendar.constants import Holiday

    # the holiday's name in the page's language (the package knows both)
    name = {h.value: pick(h.chinese, h.value) for h in Holiday}
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    hol = [f"{d.isoformat()} {name.get(cc.get_holiday_detail(d)[1], '')}".strip()
           for d in cc.get_holidays(start, end, include_weekends=False)]
    work = [d.isoformat() for d in cc.get_workdays(start, end, include_weekends=False) if d.weekday() >= 5]
    return "\n".join(hol), "\n".join(work)


def _render(root, year, errors=None, holidays_text=None, workdays_text=None, status=200):
    row = holidays.get_year(root.id, year)
    if holidays_text is None:
        if row is not None:
            holidays_text = "\n".join(f"{h['day']} {h.get('name') or ''}".strip() for h in row.holidays)
            workdays_text = "\n".join(row.workdays)
        else:
            holidays_text, workdays_text = _package_days(year)
    today = local_today()
    years = sorted({today.year - 1, today.year, today.year + 1, year})
    status_of = {y: ("entered" if holidays.get_year(root.id, y) else
                     "package" if core_calendar.covers_year(y) else "missing") for y in years}
    return render_template("policy/holidays.html", root=root, year=year, row=row, years=years,
                           status_of=status_of, errors=errors or {}, holidays_text=holidays_text,
                           workdays_text=workdays_text or ""), status


@bp.route("/holidays")
def holidays_index():
    root = _province()
    today = local_today()
    missing = [y for y in (today.year, today.year + 1) if not core_calendar.known_year(y)]
    return redirect(url_for("policy.holidays_year", year=missing[0] if missing else today.year + 1))


@bp.route("/holidays/<int:year>", methods=["GET", "POST"])
def holidays_year(year):
    root = _province()
    if not 2000 <= year <= 2100:
        abort(404)
    if request.method == "GET":
        return _render(root, year)
    form = request.form
    try:
        if form.get("action") == "clear":
            holidays.clear_year(root, year)
            db.session.commit()
            flash(_("The holidays entered for %(year)s were removed; the built-in calendar applies again.",
                    year=year), "ok")
        else:
            holidays.save_year(root, year, form.get("holidays", ""), form.get("workdays", ""),
                               expected_version=form.get("version", type=int))
            db.session.commit()
            flash(_("The public holidays of %(year)s are saved; deadlines in that year now use them.", year=year),
                  "ok")
    except KaoheError as exc:
        db.session.rollback()
        return _render(root, year, errors=exc.errors, holidays_text=form.get("holidays", ""),
                       workdays_text=form.get("workdays", ""), status=422)
    return redirect(url_for("policy.holidays_year", year=year))


def _org_links(node):
    if node.parent_id is None and has_perm(Perm.policy_edit, node):
        return [{"url": url_for("policy.holidays_index"), "label": _("Public holidays")}]
    return []


from ..web import add_org_links  # noqa: E402

add_org_links(_org_links)
