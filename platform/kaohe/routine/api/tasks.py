"""Tasks: my open tasks and closing one."""
from __future__ import annotations

from flask_login import current_user

from ...auth.roles import Perm
from ...auth.service import current_grants, has_perm
from ...core.errors import Forbidden
from ...extensions import db
from ...tenancy.models import OrgNode
from ...tenancy.scope import get_in_scope
from .. import tasks
from ..models import Task
from ..schemas import TalkInSchema, TalkSchema, TaskCloseSchema, TaskSchema
from .common import blp


@blp.route("/tasks")
@blp.response(200, TaskSchema(many=True))
def tasks_mine():
    """Open tasks for me: as a person, as an account, or for a role I hold."""
    admin_orgs = [g.org_id for g in current_grants() if g.role.value == "unit_admin" and g.org_id]
    return tasks.my_tasks(getattr(current_user, "person_id", None), current_user.id, admin_orgs)


@blp.route("/tasks/<int:task_id>/close", methods=["POST"])
@blp.arguments(TaskCloseSchema)
@blp.response(200, TaskSchema)
def task_close(data, task_id):
    task = get_in_scope(Task, task_id)
    mine = task.assignee_user_id == current_user.id or (
        task.assignee_person_id is not None and task.assignee_person_id == getattr(current_user, "person_id", None)) \
        or (task.assignee_role == "unit_admin" and has_perm(Perm.unit_admin, db.session.get(OrgNode, task.org_id)))
    if not mine:
        raise Forbidden({"rule": ["Only the assignee closes a task."]})
    tasks.close_task(task, data.get("closed_type"), data.get("closed_id"), data.get("note"), data["status"])
    db.session.commit()
    return task


def _handled_task(task_id: int) -> Task:
    task = get_in_scope(Task, task_id)
    if not tasks.may_handle(task, current_user, has_perm(Perm.unit_admin, db.session.get(OrgNode, task.org_id))):
        raise Forbidden({"rule": ["Only the assignee or the unit's assessment office handles this task."]})
    return task


@blp.route("/tasks/<int:task_id>/talk", methods=["GET"])
@blp.response(200, TalkSchema)
def task_talk_get(task_id):
    """The talk recorded for a talk task (404 while none is recorded)."""
    rec = tasks.talk_of(_handled_task(task_id))
    if rec is None:
        from flask import abort
        abort(404)
    return rec


@blp.route("/tasks/<int:task_id>/talk", methods=["POST"])
@blp.arguments(TalkInSchema)
@blp.response(201, TalkSchema)
def task_talk(data, task_id):
    """Record a routine talk (date, who talked, what was said, follow-up); closes the task."""
    task = _handled_task(task_id)
    rec = tasks.record_talk(task, data["talked_on"], data["talked_by"], data["content"], data.get("follow_up"),
                            getattr(current_user, "display_name", None))
    db.session.commit()
    return rec
