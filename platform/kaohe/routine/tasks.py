"""Tasks raised by routine assessment (talks to hold, ...): listing one's
own and closing them."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import and_, or_, select

from ..audit.service import record
from ..core.db import utcnow
from ..core.errors import Conflict
from ..extensions import db
from .common import invalid
from .models import Task


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
        raise Conflict({"status": [f"The task is already {task.status}."]})
    if status not in ("done", "cancelled"):
        raise invalid("status", "done or cancelled.")
    task.status, task.closed_type, task.closed_id, task.note = status, closed_type, closed_id, note
    task.closed_at = utcnow()
    db.session.flush()
    record("routine.task.close", root_id=task.root_id, org_id=task.org_id, target_type="routine_task",
           target_id=task.id, after={"status": status, "closed_by": closed_type, "closed_id": closed_id, "note": note})
    return task
