"""Routine talk tasks (批评谈话 / 提醒谈话): the page that shows the person and
their result and records the talk (date, who talked, what was said,
follow-up), closing the task."""
from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ...auth.roles import Perm
from ...auth.service import has_perm
from ...core.errors import Invalid, KaoheError
from ...extensions import db
from ...people.models import Person
from ...tenancy.models import OrgNode
from ...tenancy.scope import get_in_scope
from ..common import today
from ..models import Period, Result, Task
from ..tasks import TALK_KINDS, may_handle, record_talk, talk_of
from .common import bp, error_messages, render


def _task(task_id: int) -> Task:
    task = get_in_scope(Task, task_id)
    if not may_handle(task, current_user, has_perm(Perm.unit_admin, db.session.get(OrgNode, task.org_id))):
        abort(403)
    return task


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
def task_page(task_id):
    task = _task(task_id)
    errors, values = {}, {}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            try:
                on = dt.date.fromisoformat(values.get("talked_on") or "")
            except ValueError:
                raise Invalid({"talked_on": ["Give the date of the talk (YYYY-MM-DD)."]})
            record_talk(task, on, values.get("talked_by", ""), values.get("content", ""), values.get("follow_up"),
                        getattr(current_user, "display_name", None))
            db.session.commit()
            flash(_("Talk recorded; the task is closed."), "ok")
            return redirect(url_for("routine.task_page", task_id=task.id))
        except KaoheError as exc:
            db.session.rollback()
            errors = error_messages(exc)
            task = _task(task_id)
    person = db.session.get(Person, task.person_id) if task.person_id else None
    dept = db.session.get(OrgNode, person.org_id) if person else None
    period = result = None
    if task.source_type == "routine_period" and task.source_id:
        period = db.session.get(Period, task.source_id)
        result = db.session.execute(select(Result).where(Result.period_id == task.source_id,
                                                         Result.person_id == task.person_id)).scalar_one_or_none()
    return render("routine/task.html", task=task, person=person, dept=dept, period=period, result=result,
                  talk=talk_of(task), is_talk=task.kind in TALK_KINDS, errors=errors, values=values,
                  today=today())
