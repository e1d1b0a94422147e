"""Marshmallow schemas of the annual API (the OpenAPI document is generated
from them)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

GRADES = ("youxiu", "chenzhi", "jibenchenzhi", "buchenzhi")


class AnnualYearArgs(Schema):
    year = fields.Int(validate=validate.Range(min=2000, max=2100))


class AnnualAssessmentSchema(Schema):
    id = fields.Int()
    org_id = fields.Int()
    year = fields.Int()
    status = fields.Str()
    org_grade = fields.Str(allow_none=True)
    major_contribution = fields.Bool()
    current_run_id = fields.Int(allow_none=True)
    quota = fields.Dict(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
    publicity_start = fields.Date(allow_none=True)
    filed_open_reason = fields.Str(allow_none=True, dump_only=True)
    filed_open_cases = fields.List(fields.Int(), allow_none=True, dump_only=True)
    filing_updated_at = fields.DateTime(allow_none=True, dump_only=True)
    corrections = fields.Int(dump_only=True)
    publicity_end = fields.Date(allow_none=True)
    notified_on = fields.Date(allow_none=True)
    filed_at = fields.DateTime(allow_none=True)
    version = fields.Int()


class AnnualComputeSchema(Schema):
    subtree = fields.Bool(load_default=False)


class AnnualJobStartedSchema(Schema):
    job_id = fields.Str()
    status_url = fields.Str()


class AnnualResultSchema(Schema):
    person_id = fields.Int()
    rank_group = fields.Str()
    score = fields.Float(allow_none=True)
    grade = fields.Str(allow_none=True)
    code = fields.Str()
    eligible_youxiu = fields.Bool()
    rank = fields.Int(allow_none=True)
    flags = fields.List(fields.Str(), allow_none=True)
    talks = fields.List(fields.Str(), allow_none=True)
    explain = fields.Dict(allow_none=True)


class AnnualOutcomeSchema(Schema):
    id = fields.Int()
    person_id = fields.Int()
    year = fields.Int()
    score = fields.Float(allow_none=True)
    computed_grade = fields.Str(allow_none=True)
    grade = fields.Str(allow_none=True)
    code = fields.Str()
    adjusted = fields.Bool()
    reason = fields.Str(allow_none=True)
    pay_cents = fields.Int(allow_none=True)
    notice_on = fields.Date(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    changed_by_appeal = fields.Bool()


class AnnualAdjustSchema(Schema):
    person_id = fields.Int(required=True)
    grade = fields.Str(required=True, validate=validate.OneOf(GRADES))
    reason = fields.Str(required=True, validate=validate.Length(min=4, max=2000))


class AnnualVersionSchema(Schema):
    version = fields.Int(allow_none=True)
    status = fields.Str(dump_only=True)


class AnnualPublishSchema(Schema):
    start = fields.Date(load_default=None)


class AnnualNotifySchema(Schema):
    notice_on = fields.Date(load_default=None)


class AnnualCorrectSchema(Schema):
    reason = fields.Str(required=True, metadata={"description": "Why the notified result is corrected (补定)."})
    version = fields.Int(allow_none=True)


class AnnualFileSchema(Schema):
    open_cases_reason = fields.Str(load_default=None, allow_none=True,
                                   metadata={"description": "The recorded decision to file while review/appeal "
                                             "windows or cases are still open (its reason)."})


class AnnualRecordCreateSchema(Schema):
    person_id = fields.Int(required=True)
    kind = fields.Str(required=True, validate=validate.OneOf(("leave", "investigation", "sanction", "refusal")))
    year = fields.Int(required=True, validate=validate.Range(min=2000, max=2100))
    sanction_kind = fields.Str(load_default=None)
    start_date = fields.Date(load_default=None)
    end_date = fields.Date(load_default=None)
    days = fields.Int(load_default=None)
    note = fields.Str(load_default=None, validate=validate.Length(max=2000))


class AnnualRecordSchema(Schema):
    id = fields.Int()
    person_id = fields.Int()
    kind = fields.Str()
    year = fields.Int()
    sanction_kind = fields.Str(allow_none=True)
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    days = fields.Int(allow_none=True)
    note = fields.Str(allow_none=True)


class AnnualReviewSchema(Schema):
    person_id = fields.Int(required=True)
    leader_score = fields.Float(load_default=None, validate=validate.Range(min=0, max=100))
    recommended_grade = fields.Str(load_default=None, validate=validate.OneOf(GRADES))
    comment = fields.Str(load_default=None, validate=validate.Length(max=5000))
    votes_youxiu = fields.Int(load_default=None, validate=validate.Range(min=0))
    votes_chenzhi = fields.Int(load_default=None, validate=validate.Range(min=0))
    votes_jibenchenzhi = fields.Int(load_default=None, validate=validate.Range(min=0))
    votes_buchenzhi = fields.Int(load_default=None, validate=validate.Range(min=0))


class AnnualSummarySchema(Schema):
    text = fields.Str(required=True, validate=validate.Length(min=20, max=20000))
    submit = fields.Bool(load_default=False)


class AnnualFileCaseSchema(Schema):
    stage = fields.Str(required=True, validate=validate.OneOf(("review", "appeal")))
    grounds = fields.Str(required=True, validate=validate.Length(min=10, max=5000))


class AnnualAppealSchema(Schema):
    id = fields.Int()
    outcome_id = fields.Int()
    person_id = fields.Int()
    org_id = fields.Int()
    decider_org_id = fields.Int()
    stage = fields.Str()
    route = fields.Str(allow_none=True)
    grade_appealed = fields.Str()
    grounds = fields.Str()
    filed_on = fields.Date()
    file_by = fields.Date()
    decide_by = fields.Date()
    extended = fields.Bool()
    status = fields.Str()
    decision_note = fields.Str(allow_none=True)
    new_grade = fields.Str(allow_none=True)
    decided_on = fields.Date(allow_none=True)


class AnnualAppealDecisionSchema(Schema):
    decision = fields.Str(required=True, validate=validate.OneOf(("upheld", "reversed", "extend")))
    note = fields.Str(required=True, validate=validate.Length(min=4, max=5000))
    new_grade = fields.Str(load_default=None, validate=validate.OneOf(GRADES))

    @validates_schema
    def _grade_for_reversal(self, data, **kw):
        if data.get("decision") == "reversed" and not data.get("new_grade"):
            raise ValidationError({"new_grade": ["A reversal names the new grade."]})


class AnnualCampaignCreateSchema(Schema):
    org_id = fields.Int(required=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    kind = fields.Str(load_default="other", validate=validate.OneOf(("flood", "epidemic", "village_team", "other")))
    result_type = fields.Str(required=True, validate=validate.OneOf(("grade", "comment", "points")))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    description = fields.Str(load_default=None, validate=validate.Length(max=5000))


class AnnualCampaignSchema(Schema):
    id = fields.Int()
    org_id = fields.Int()
    year = fields.Int()
    name = fields.Str()
    kind = fields.Str()
    result_type = fields.Str()
    starts_on = fields.Date()
    ends_on = fields.Date()
    status = fields.Str()


class AnnualSpecialResultInSchema(Schema):
    person_id = fields.Int(required=True)
    grade = fields.Str(load_default=None, validate=validate.OneOf(("hao", "jiaohao", "yiban", "jiaocha")))
    points = fields.Float(load_default=None, validate=validate.Range(min=-100, max=100))
    score = fields.Float(load_default=None, validate=validate.Range(min=0, max=100))
    comment = fields.Str(load_default=None, validate=validate.Length(max=5000))


class AnnualAlertRowSchema(Schema):
    person_id = fields.Integer()
    name = fields.String()
    staff_no = fields.String()
    unit_id = fields.Integer()
    unit_name = fields.String()
    grades = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True),
                         metadata={"description": "year → grade code (null: no grade)"})
    good_years = fields.Integer()
    youxiu_streak = fields.Integer()
    buchenzhi_streak = fields.Integer()


class AnnualAlertsSchema(Schema):
    year = fields.Integer()
    org_id = fields.Integer()
    alerts = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(AnnualAlertRowSchema)),
                         metadata={"description": "kind → people: salary_step, level, merit_third_class, dismissal "
                                                  "(due this year); dismissal_risk, merit_next, regrade (at risk)"})


class AnnualLeaveCreateSchema(Schema):
    person_id = fields.Int(required=True)
    year = fields.Int(required=True, validate=validate.Range(min=2000, max=2100))
    start_date = fields.Date(required=True, metadata={"description": "First day of the leave (inside the year)."})
    end_date = fields.Date(required=True, metadata={"description": "Last day of the leave (inside the year)."})
    kind = fields.Str(required=True, validate=validate.OneOf(("sick", "personal", "other")))
    note = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class AnnualLeaveUpdateSchema(Schema):
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    kind = fields.Str(required=True, validate=validate.OneOf(("sick", "personal", "other")))
    note = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    version = fields.Int(load_default=None, metadata={"description": "The version read (optimistic locking)."})


class AnnualLeaveSchema(Schema):
    id = fields.Int()
    person_id = fields.Int()
    year = fields.Int()
    start_date = fields.Date()
    end_date = fields.Date()
    kind = fields.Str()
    note = fields.Str(allow_none=True)
    version = fields.Int()


class AnnualLeavePersonSchema(Schema):
    person_id = fields.Int()
    ranges = fields.List(fields.Nested(AnnualLeaveSchema))
    calendar_days = fields.Int(metadata={"description": "Calendar days of the ranges (or the legacy day count)."})
    working_days = fields.Int(allow_none=True, metadata={"description": "Working days of the ranges; null when "
                                                         "only a legacy day count is recorded."})
    legacy_days = fields.Int(allow_none=True, metadata={"description": "A day count recorded before ranges "
                                                        "existed, used only while the person has no range."})
    ignored_legacy_days = fields.Int(allow_none=True)
    long = fields.Bool(metadata={"description": "More than half the year under the policy's measure (6A)."})


class AnnualLeaveSummarySchema(Schema):
    year = fields.Int()
    measure = fields.Str(metadata={"description": "eligibility.leave_measure: calendar_days or working_days."})
    limit_days = fields.Int()
    year_working_days = fields.Int()
    half_working_days = fields.Float()
    people = fields.List(fields.Nested(AnnualLeavePersonSchema))
