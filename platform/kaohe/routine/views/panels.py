"""Home panels: a person's routine at a glance, and the office's periods
under way with what is still missing."""
from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ...auth.roles import Perm
from ...auth.service import has_perm
from ...extensions import db
from ...people.models import Person
from ...web.home_panels import add_panel
from ..common import today
from ..completeness import completeness, todo_for
from ..models import Attendance, Period, RoutineReminder
from ..tasks import my_tasks
from .common import admin_units, open_periods


@add_panel
def _panel():
    if not current_user.is_authenticated or not getattr(current_user, "person_id", None):
        return None
    try:
        person = db.session.execute(select(Person).where(Person.id == current_user.person_id)).scalar_one_or_none()
        if person is None:
            return None
        day = today()
        att = db.session.execute(select(Attendance).where(Attendance.person_id == person.id,
                                                          Attendance.day == day)).scalar_one_or_none()
        current = next((p for p in open_periods(person.unit_id) if p.state in ("open", "rating")), None)
        owed = [t for t in todo_for(current, person.id) if not t["done"]] if current else []
        reminders = db.session.execute(select(RoutineReminder).where(
            RoutineReminder.person_id == person.id, RoutineReminder.day == day)).scalars().all()
        tasks = my_tasks(person.id, current_user.id)
        html = render_template("routine/_panel.html", att=att, current=current, owed=owed, reminders=reminders,
                               tasks=tasks)
        return {"key": "routine", "title": _("Routine assessment"), "html": html}
    except Exception:  # a panel must never break the home page
        import logging

        logging.getLogger("kaohe.routine").exception("routine panel failed")
        return None


@add_panel
def _admin_panel():
    """The office's home: the periods under way in each unit it runs, with
    what is still missing, and the tasks addressed to the office."""
    if not current_user.is_authenticated or not has_perm(Perm.unit_admin):
        return None
    try:
        units = [u for u in admin_units()][:6]
        if not units:
            return None
        ids = [u.id for u in units]
        running = db.session.execute(select(Period).where(
            Period.org_id.in_(ids), Period.state.in_(("open", "rating", "review", "publicised")))
            .order_by(Period.org_id, Period.year, Period.seq)).scalars().all()
        rows = []
        for p in running:
            unit = next(u for u in units if u.id == p.org_id)
            totals = completeness(p)["totals"] if p.state in ("open", "rating") else None
            rows.append({"unit": unit, "period": p, "totals": totals})
        tasks = my_tasks(None, None, admin_org_ids=ids)
        html = render_template("routine/_admin_panel.html", rows=rows, units=units, tasks=tasks[:10],
                               more_tasks=max(0, len(tasks) - 10))
        return {"key": "routine-admin", "title": _("Assessment office"), "html": html}
    except Exception:  # a panel must never break the home page
        import logging

        logging.getLogger("kaohe.routine").exception("routine admin panel failed")
        return None
