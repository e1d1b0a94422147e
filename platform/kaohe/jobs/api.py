from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..extensions import db
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from ..tenancy.scope import in_scope
from .models import Job
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


def job_status(job_id: str) -> dict:
    job_row = db.session.execute(select(Job).where(Job.id == str(job_id)[:36])).scalar_one_or_none()
    if job_row is None or not in_scope(job_row):
        raise NotFound()
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
