"""Marshmallow schemas of routine assessment, shared by the API and the pages."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from .calc import DIMENSIONS, GRADES, KINDS, RATER_KINDS

CODE = validate.Regexp(r"^[A-Za-z0-9_.-]{1,40}$", error="Letters, digits, '_', '-' or '.', at most 40.")


class IndicatorSchema(Schema):
    id = fields.Int(dump_only=True)
    code = fields.Str(required=True, validate=CODE)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    name_en = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=160))
    dimension = fields.Str(required=True, validate=validate.OneOf(DIMENSIONS))
    kind = fields.Str(required=True, validate=validate.OneOf(KINDS))
    levels = fields.Dict(keys=fields.Str(), values=fields.Float(), allow_none=True,
                         metadata={"description": "graded: points for you/liang/zhong/cha (优/良/中/差)"})
    max = fields.Float(allow_none=True, metadata={"description": "scored/deduction/data: maximum points"})
    per = fields.Float(allow_none=True, metadata={"description": "deduction/bonus: points per occurrence"})
    cap = fields.Float(allow_none=True, metadata={"description": "deduction/bonus: at most this many points"})
    veto = fields.Str(allow_none=True, validate=validate.OneOf(["zero", "grade_cap"]))
    cap_grade = fields.Str(allow_none=True, validate=validate.OneOf(GRADES))
    formula = fields.Dict(allow_none=True, metadata={"description": "data: {type: linear|threshold|ratio, ...}"})
    description = fields.Str(allow_none=True, load_default=None)
    active = fields.Bool(load_default=True)
    source = fields.Str(dump_only=True, metadata={"description": "common (inherited) or unit"})
    version = fields.Int(load_only=True, metadata={"description": "The version you edited (409 when stale)."})


class SectionSchema(Schema):
    code = fields.Str(required=True, validate=CODE)
    name = fields.Str(load_default="")
    points = fields.Float(allow_none=True)
    weight = fields.Float(allow_none=True)
    indicators = fields.List(fields.Str(), load_default=list)
    personal = fields.Bool(load_default=False)
    extra = fields.Bool(load_default=False)
    raters = fields.Dict(keys=fields.Str(validate=validate.OneOf(RATER_KINDS)), values=fields.Float(),
                         allow_none=True, load_default=None)


class SchemeSchema(Schema):
    id = fields.Int(dump_only=True)
    org_id = fields.Int(dump_only=True)
    code = fields.Str(required=True, validate=CODE)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    job_category = fields.Str(load_default="general", validate=validate.OneOf(["general", "police", "service_window"]))
    basis = fields.Str(required=True, validate=validate.OneOf(["points", "weight"]))
    total = fields.Float(load_default=100)
    sections = fields.List(fields.Nested(SectionSchema), required=True, validate=validate.Length(min=1))
    rater_weights = fields.Dict(keys=fields.Str(validate=validate.OneOf(RATER_KINDS)), values=fields.Float(),
                                allow_none=True, load_default=None)
    leader_score_mode = fields.Str(allow_none=True, load_default=None, validate=validate.OneOf(["rated", "derived"]))
    democratic_scope = fields.Str(load_default="department", validate=validate.OneOf(["department", "unit"]))
    active = fields.Bool(metadata={"description": "Used when periods open (default true); an active scheme must "
                                                  "rate every mandatory common indicator of the province."})
    version = fields.Int()


class PersonalIndicatorSchema(Schema):
    code = fields.Str(required=True, validate=CODE)
    name = fields.Str(required=True)
    section = fields.Str(required=True)
    dimension = fields.Str(load_default="ji", validate=validate.OneOf(DIMENSIONS))
    kind = fields.Str(required=True, validate=validate.OneOf(["graded", "scored"]))
    levels = fields.Dict(allow_none=True)
    max = fields.Float(allow_none=True)


class AssignmentSchema(Schema):
    id = fields.Int(dump_only=True)
    person_id = fields.Int(required=True)
    scheme_id = fields.Int(required=True)
    personal = fields.List(fields.Nested(PersonalIndicatorSchema), load_default=list)
    letter_note = fields.Str(allow_none=True, load_default=None)
    version = fields.Int()


class PeerGroupSchema(Schema):
    id = fields.Int(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    member_ids = fields.List(fields.Int(), required=True)


class PeriodCreateSchema(Schema):
    unit_id = fields.Int(required=True)
    year = fields.Int(required=True, validate=validate.Range(min=2000, max=2100))
    seq = fields.Int(required=True, validate=validate.Range(min=1, max=12))
    cycle = fields.Str(validate=validate.OneOf(["month", "quarter", "half_year"]))


class PeriodSchema(Schema):
    id = fields.Int()
    org_id = fields.Int()
    label = fields.Str()
    year = fields.Int()
    cycle = fields.Str()
    seq = fields.Int()
    starts_on = fields.Date()
    ends_on = fields.Date()
    state = fields.Str()
    allowed = fields.List(fields.Str(), metadata={"description": "States it may move to next"})
    publicity_from = fields.Date(allow_none=True)
    publicity_until = fields.Date(allow_none=True)
    computed_at = fields.DateTime(allow_none=True)
    compute_summary = fields.Dict(allow_none=True)
    policy = fields.Dict(allow_none=True, metadata={"description": "The policy frozen when the period opened"})
    version = fields.Int()


class TransitionSchema(Schema):
    to = fields.Str(required=True, validate=validate.OneOf(["open", "rating", "review", "publicised", "final"]))
    version = fields.Int(metadata={"description": "The period version you saw (409 when stale)."})


class RatingInSchema(Schema):
    ratee_id = fields.Int(required=True)
    rater_kind = fields.Str(required=True, validate=validate.OneOf(RATER_KINDS))
    scores = fields.Dict(keys=fields.Str(), values=fields.Raw(), required=True)
    comment = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=4000))
    comment_visible = fields.Bool(load_default=True)
    proposed_grade = fields.Str(allow_none=True, load_default=None, validate=validate.OneOf(GRADES))
    version = fields.Int(metadata={"description": "Required when changing a rating you already submitted."})


class RatingSchema(Schema):
    id = fields.Int()
    period_id = fields.Int()
    ratee_id = fields.Int()
    rater_kind = fields.Str()
    scores = fields.Dict()
    comment = fields.Str(allow_none=True)
    comment_visible = fields.Bool()
    proposed_grade = fields.Str(allow_none=True)
    version = fields.Int()


class AdjustSchema(Schema):
    scores = fields.Dict(required=True)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    version = fields.Int(required=True)


class EventInSchema(Schema):
    person_id = fields.Int(required=True)
    indicator_code = fields.Str(required=True)
    occurred_on = fields.Date(required=True)
    points = fields.Float(allow_none=True, load_default=None)
    evidence = fields.Str(required=True, validate=validate.Length(min=1, max=4000))


class EventSchema(Schema):
    id = fields.Int()
    person_id = fields.Int()
    indicator_code = fields.Str()
    kind = fields.Str()
    occurred_on = fields.Date()
    points = fields.Float()
    evidence = fields.Str()
    recorded_by_name = fields.Str(allow_none=True)
    voided = fields.Bool()
    void_reason = fields.Str(allow_none=True)


class VoidSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class MetricRowSchema(Schema):
    person_id = fields.Int()
    staff_no = fields.Str()
    indicator_code = fields.Str(required=True)
    value = fields.Float(required=True)


class MetricImportSchema(Schema):
    source = fields.Str(load_default="api", validate=validate.Length(max=80))
    rows = fields.List(fields.Nested(MetricRowSchema), required=True, validate=validate.Length(min=1, max=100000))


class WorkRecordInSchema(Schema):
    on_date = fields.Date(required=True)
    kind = fields.Str(load_default="monthly", validate=validate.OneOf(["monthly", "daily"]))
    plan = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=8000))
    done = fields.Str(required=True, validate=validate.Length(min=1, max=8000))
    version = fields.Int()


class WorkRecordSchema(Schema):
    id = fields.Int()
    period_id = fields.Int()
    person_id = fields.Int()
    kind = fields.Str()
    on_date = fields.Date()
    plan = fields.Str(allow_none=True)
    done = fields.Str()
    supervisor_comment = fields.Str(allow_none=True)
    comment_visible = fields.Bool()
    version = fields.Int()


class CommentSchema(Schema):
    comment = fields.Str(required=True, validate=validate.Length(min=1, max=4000))
    visible = fields.Bool(load_default=True)


class SignSchema(Schema):
    what = fields.Str(required=True, validate=validate.OneOf(["in", "out"]))


class AttendanceSchema(Schema):
    id = fields.Int()
    person_id = fields.Int()
    day = fields.Date()
    sign_in_at = fields.DateTime(allow_none=True)
    sign_out_at = fields.DateTime(allow_none=True)
    corrected = fields.Bool()


class CorrectionInSchema(Schema):
    day = fields.Date(required=True)
    sign_in_at = fields.AwareDateTime(allow_none=True, load_default=None, default_timezone=None)
    sign_out_at = fields.AwareDateTime(allow_none=True, load_default=None, default_timezone=None)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class CorrectionSchema(Schema):
    id = fields.Int()
    person_id = fields.Int()
    day = fields.Date()
    sign_in_at = fields.DateTime(allow_none=True)
    sign_out_at = fields.DateTime(allow_none=True)
    reason = fields.Str()
    status = fields.Str()
    decision_note = fields.Str(allow_none=True)
    version = fields.Int()


class DecisionSchema(Schema):
    approve = fields.Bool(required=True)
    note = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    version = fields.Int()


class TieSchema(Schema):
    group = fields.Str(required=True)
    chosen = fields.List(fields.Int(), required=True)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class FeedbackSchema(Schema):
    feedback = fields.Str(required=True, validate=validate.Length(min=1, max=4000))


class AmendSchema(Schema):
    what = fields.Str(required=True, validate=validate.OneOf(["event", "void_event", "rating", "metric"]))
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    person_id = fields.Int()
    indicator_code = fields.Str()
    occurred_on = fields.Date()
    points = fields.Float(allow_none=True)
    evidence = fields.Str()
    event_id = fields.Int()
    rating_id = fields.Int()
    scores = fields.Dict()
    staff_no = fields.Str()
    value = fields.Float()


class ResultSchema(Schema):
    person_id = fields.Int()
    name = fields.Str()
    score = fields.Float(allow_none=True)
    grade = fields.Str(allow_none=True)
    rank = fields.Int(allow_none=True)
    rank_of = fields.Int(allow_none=True)
    pay_cents = fields.Int(allow_none=True, metadata={"description": "pay with the period (routine.period_pay_share)"})
    flags = fields.List(fields.Str())
    breakdown = fields.Dict()
    feedback = fields.Str(allow_none=True)


class TaskSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    title = fields.Str()
    person_id = fields.Int(allow_none=True)
    assignee_person_id = fields.Int(allow_none=True)
    assignee_user_id = fields.Int(allow_none=True)
    assignee_role = fields.Str(allow_none=True)
    due_on = fields.Date(allow_none=True)
    status = fields.Str()
    source_type = fields.Str(allow_none=True)
    source_id = fields.Int(allow_none=True)


class TaskCloseSchema(Schema):
    status = fields.Str(load_default="done", validate=validate.OneOf(["done", "cancelled"]))
    note = fields.Str(allow_none=True, load_default=None)
    closed_type = fields.Str(allow_none=True, load_default=None)
    closed_id = fields.Int(allow_none=True, load_default=None)


class TalkInSchema(Schema):
    talked_on = fields.Date(required=True, metadata={"description": "The day of the talk (not in the future)."})
    talked_by = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    content = fields.Str(required=True, validate=validate.Length(min=1))
    follow_up = fields.Str(allow_none=True, load_default=None)


class TalkSchema(Schema):
    id = fields.Int()
    task_id = fields.Int()
    person_id = fields.Int()
    talked_on = fields.Date()
    talked_by = fields.Str()
    content = fields.Str()
    follow_up = fields.Str(allow_none=True)
    by_name = fields.Str(allow_none=True)
    created_at = fields.DateTime()


class TodoSchema(Schema):
    person_id = fields.Int()
    name = fields.Str()
    kind = fields.Str()
    done = fields.Bool()
    version = fields.Int(allow_none=True)


class UnitArgs(Schema):
    unit_id = fields.Int(required=True)
