"""Tasks raised by routine assessment (talks to hold, ...): listing one's
own and closing them."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import and_, or_, select

from ..web.messages import N_
from ..audit.service import record
from ..core.db import utcnow
from ..core.errors import Conflict
from ..extensions import db
from .common import invalid
from .models import Task, TalkRecord

TALK_KINDS = ("routine.criticism_talk", "routine.reminder_talk")
# a closed task's refusal in words (never the raw status)
CLOSED = {"done": N_("The task is already done."), "cancelled": N_("The task was already cancelled.")}


def my_tasks(person_id: int | None, user_id: int | None, admin_org_ids: Iterable[int] = ()) -> list[Task]:
    conds = []
    if person_id:
        conds.append(Task.assignee_person_id == person_id)
    if user_id:
        conds.append(Task.assignee_user_id == user_id)
    ids = list(admin_org_ids)
    if ids:
        conds.append(and_(Task.assignee_role == "unit_admin", Task.assignee_org_id.in_(ids)))
    if not conds:
        return []
    return list(db.session.execute(select(Task).where(Task.status == "open", or_(*conds))
                                   .order_by(Task.due_on, Task.id).limit(200)).scalars())


def close_task(task: Task, closed_type: str | None = None, closed_id: int | None = None,
               note: str | None = None, status: str = "done") -> Task:
    if task.status != "open":
        raise Conflict({"status": [CLOSED.get(task.status, CLOSED["done"])]})
    if status not in ("done", "cancelled"):
        raise invalid("status", N_("done or cancelled."))
    task.status, task.closed_type, task.closed_id, task.note = status, closed_type, closed_id, note
    task.closed_at = utcnow()
    db.session.flush()
    record("routine.task.close", root_id=task.root_id, org_id=task.org_id, target_type="routine_task",
           target_id=task.id, after={"status": status, "closed_by": closed_type, "closed_id": closed_id, "note": note})
    return task


def may_handle(task: Task, user, is_unit_admin: bool) -> bool:
    """The assignee (person, account) or, for the office's tasks, an admin of
    the task's unit; the unit admin may also record a talk held by a leader."""
    return (task.assignee_user_id is not None and task.assignee_user_id == user.id) or (
        task.assignee_person_id is not None and task.assignee_person_id == getattr(user, "person_id", None)) \
        or is_unit_admin


def record_talk(task: Task, talked_on, talked_by: str, content: str, follow_up: str | None,
                by_name: str | None) -> TalkRecord:
    """Record the talk a routine talk task asks for and close the task with it."""
    import datetime as dt

    from .common import today

    if task.kind not in TALK_KINDS:
        raise invalid("task", N_("Only talk tasks (criticism or reminder talks) are closed with a talk record."))
    if task.status != "open":
        raise Conflict({"status": [CLOSED.get(task.status, CLOSED["done"])]})
    errs: dict[str, list[str]] = {}
    if not isinstance(talked_on, dt.date):
        errs["talked_on"] = ["Give the date of the talk (YYYY-MM-DD)."]
    elif talked_on > today():
        errs["talked_on"] = ["The talk cannot be dated in the future."]
    if not (talked_by or "").strip():
        errs["talked_by"] = ["Say who held the talk."]
    if not (content or "").strip():
        errs["content"] = ["Record what was said."]
    if errs:
        from ..core.errors import Invalid
        raise Invalid(errs)
    rec = TalkRecord(root_id=task.root_id, org_id=task.org_id, task_id=task.id, person_id=task.person_id,
                     talked_on=talked_on, talked_by=talked_by.strip(), content=content.strip(),
                     follow_up=(follow_up or "").strip() or None, by_name=by_name)
    db.session.add(rec)
    db.session.flush()
    record("routine.talk.record", root_id=task.root_id, org_id=task.org_id, target_type="routine_task",
           target_id=task.id, after={"person_id": task.person_id, "talked_on": talked_on.isoformat(),
                                     "talked_by": rec.talked_by, "talk_record_id": rec.id})
    close_task(task, "routine_talk_record", rec.id, f"谈话 {talked_on.isoformat()} {rec.talked_by}")
    return rec


def talk_of(task: Task) -> TalkRecord | None:
    if task.closed_type != "routine_talk_record" or task.closed_id is None:
        return None
    return db.session.execute(select(TalkRecord).where(TalkRecord.id == task.closed_id)).scalar_one_or_none()
