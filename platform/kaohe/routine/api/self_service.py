"""Self service: attendance, corrections (decided by the supervisor) and
work records (commented by the supervising rater)."""
from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import select

from ...extensions import db
from ...people.models import Person
from ...tenancy.scope import get_in_scope
from .. import attendance, work_records
from ..models import Correction, WorkRecord
from ..schemas import AttendanceSchema, CommentSchema, CorrectionInSchema, CorrectionSchema, DecisionSchema, SignSchema, WorkRecordInSchema, WorkRecordSchema
from .common import blp, load_period, me


@blp.route("/me/attendance", methods=["POST"])
@blp.arguments(SignSchema)
@blp.response(200, AttendanceSchema)
def attendance_sign(data):
    """Sign in or out now."""
    out = attendance.sign_now(getattr(current_user, "person_id", None), data["what"])
    db.session.commit()
    return out


@blp.route("/me/corrections", methods=["POST"])
@blp.arguments(CorrectionInSchema)
@blp.response(201, CorrectionSchema)
def correction_request(data):
    """Ask the supervisor to approve an attendance correction."""
    c = attendance.request_correction(me(), data["day"], data["reason"], data.get("sign_in_at"), data.get("sign_out_at"))
    db.session.commit()
    return c


@blp.route("/corrections/pending")
@blp.response(200, CorrectionSchema(many=True))
def corrections_pending():
    """Correction requests waiting for me (as supervisor)."""
    mine = me()
    staff = select(Person.id).where(Person.supervisor_id == mine.id)
    return db.session.execute(select(Correction).where(Correction.status == "pending",
                                                       Correction.person_id.in_(staff))).scalars().all()


@blp.route("/corrections/<int:correction_id>/decision", methods=["POST"])
@blp.arguments(DecisionSchema)
@blp.response(200, CorrectionSchema)
def correction_decide(data, correction_id):
    c = get_in_scope(Correction, correction_id)
    attendance.decide_correction(c, me(), data["approve"], data.get("note"), data.get("version"))
    db.session.commit()
    return c


@blp.route("/periods/<int:period_id>/records/mine")
class MyRecords(MethodView):
    @blp.response(200, WorkRecordSchema(many=True))
    def get(self, period_id):
        period = load_period(period_id)
        return db.session.execute(select(WorkRecord).where(WorkRecord.period_id == period.id,
                                                           WorkRecord.person_id == me().id)
                                  .order_by(WorkRecord.on_date)).scalars().all()

    @blp.arguments(WorkRecordInSchema)
    @blp.response(200, WorkRecordSchema)
    def put(self, data, period_id):
        """Write (or update, with its version) my work record (工作写实)."""
        period = load_period(period_id)
        wr = work_records.save_work_record(period, me(), data["on_date"], data["done"], data.get("plan"), data["kind"],
                                      data.get("version"))
        db.session.commit()
        return wr


@blp.route("/records/<int:record_id>/comment", methods=["POST"])
@blp.arguments(CommentSchema)
@blp.response(200, WorkRecordSchema)
def record_comment(data, record_id):
    """The supervising rater comments on a work record (审核评鉴)."""
    wr = get_in_scope(WorkRecord, record_id)
    period = load_period(wr.period_id)
    work_records.comment_work_record(period, wr, me(), data["comment"], data["visible"])
    db.session.commit()
    return wr
