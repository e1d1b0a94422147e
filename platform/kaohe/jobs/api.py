from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..extensions import db
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from ..tenancy.scope import in_scope
from .models import Job
from . import health
from .queue import live_progress

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs", description="Background jobs")


class JobSchema(Schema):
    id = fields.Str()
    kind = fields.Str()
    status = fields.Str(metadata={"description": "queued, running, done or failed"})
    progress = fields.Int()
    total = fields.Int()
    percent = fields.Int()
    message = fields.Str(allow_none=True)
    result = fields.Raw(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    retryable = fields.Bool(metadata={"description": "a failed job can be started again (POST .../retry)"})


class RetriedSchema(Schema):
    id = fields.Str(metadata={"description": "the new job"})
    retry_of = fields.Str()


def job_status(job_id: str) -> dict:
    job_row = db.session.execute(select(Job).where(Job.id == str(job_id)[:36])).scalar_one_or_none()
    if job_row is None or not in_scope(job_row):
        raise NotFound()
    if job_row.status in ("queued", "running"):
        health.reap(job_row)   # its worker is gone: failed with a message, retryable
    data = job_row.to_dict()
    live = live_progress(job_id)
    if live and job_row.status == "running":
        done, total, msg = live
        data.update(progress=done, total=total, message=msg, percent=int(100 * done / total) if total else 0)
    return data


@blp.route("/<job_id>")
@blp.response(200, JobSchema)
def job_get(job_id):
    """Status and progress of a job started in your scope."""
    return job_status(job_id)


def retry_job(job_id: str) -> str:
    """Start a failed job of the caller's scope again (its creator)."""
    from flask_login import current_user

    from ..tenancy.scope import current_scope

    job_row = db.session.execute(select(Job).where(Job.id == str(job_id)[:36])).scalar_one_or_none()
    if job_row is None or not in_scope(job_row):
        raise NotFound()
    if job_row.status in ("queued", "running"):
        health.reap(job_row)
    user_id = current_user.id if current_user.is_authenticated else None
    return health.retry(job_row, user_id, all_roots=current_scope().all_roots)


@blp.route("/<job_id>/retry", methods=["POST"])
@blp.response(202, RetriedSchema)
def job_retry(job_id):
    """Start a failed job again with the same parameters (409 unless it failed)."""
    return {"id": retry_job(job_id), "retry_of": job_id}
