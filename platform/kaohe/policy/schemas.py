"""Marshmallow schemas of the policy API (also used by the pages)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from .registry import ORG_GRADES

YEAR = dict(validate=validate.Range(2000, 2100, error="must be a year between 2000 and 2100"))


class YearArgs(Schema):
    year = fields.Int(**YEAR, metadata={"description": "Assessment year (default: this year)"})


class ScopedYearArgs(Schema):
    year = fields.Int(load_default=0, validate=validate.Range(0, 2100),
                      metadata={"description": "0 or absent: all years; else that assessment year only"})
    reason = fields.Str(load_default=None, validate=validate.Length(max=500))


class NodeRefSchema(Schema):
    id = fields.Int()
    code = fields.Str()
    name = fields.Str()
    name_en = fields.Str(allow_none=True)
    kind = fields.Str()


class SettingViewSchema(Schema):
    key = fields.Str()
    kind = fields.Str(metadata={"description": "inheritable | province_only | bounded | additive"})
    group = fields.Str()
    zh = fields.Str()
    en = fields.Str()
    unit = fields.Str()
    choices = fields.List(fields.Str())
    bound = fields.Str(allow_none=True)
    value = fields.Raw(allow_none=True)
    default = fields.Raw(allow_none=True)
    source = fields.Nested(NodeRefSchema, allow_none=True, metadata={"description": "null: national default"})
    source_year = fields.Int(allow_none=True, metadata={"description": "0: all years"})
    inherited = fields.Bool()
    locked_by = fields.Nested(NodeRefSchema, allow_none=True)
    locked_here = fields.Bool()
    bounds = fields.Dict(allow_none=True, metadata={"description": "bounds on this node's value, with who set them"})
    child_bounds = fields.Dict(allow_none=True)
    adjusted = fields.Str(allow_none=True)
    contributors = fields.List(fields.Nested(NodeRefSchema))
    own = fields.Dict(metadata={"description": "this node's own rows by year (0 = all years)"})
    editable = fields.Bool()
    lockable = fields.Bool()
    boundable = fields.Bool()


class GroupSchema(Schema):
    code = fields.Str()
    zh = fields.Str()
    en = fields.Str()
    settings = fields.List(fields.Nested(SettingViewSchema))


class PolicyViewSchema(Schema):
    node = fields.Nested(NodeRefSchema)
    year = fields.Int()
    path = fields.List(fields.Nested(NodeRefSchema))
    groups = fields.List(fields.Nested(GroupSchema))


class SetValueSchema(Schema):
    value = fields.Raw(required=True, allow_none=False,
                       metadata={"description": "typed by the setting (see the registry)"})
    year = fields.Int(load_default=0, validate=validate.Range(0, 2100))
    note = fields.Str(load_default=None, validate=validate.Length(max=500))
    reason = fields.Str(load_default=None, validate=validate.Length(max=500))


class LockSchema(Schema):
    year = fields.Int(load_default=0, validate=validate.Range(0, 2100))
    reason = fields.Str(load_default=None, validate=validate.Length(max=500))


class BoundsSchema(Schema):
    min = fields.Float(load_default=None, allow_none=True)
    max = fields.Float(load_default=None, allow_none=True)
    allowed = fields.List(fields.Str(), load_default=None, allow_none=True)
    year = fields.Int(load_default=0, validate=validate.Range(0, 2100))
    reason = fields.Str(load_default=None, validate=validate.Length(max=500))


class ChangeResultSchema(Schema):
    key = fields.Str()
    changed = fields.Bool()
    cleared_below = fields.List(fields.Dict())
    setting = fields.Nested(SettingViewSchema)


class OrgGradeSetSchema(Schema):
    year = fields.Int(required=True, **YEAR)
    grade = fields.Str(required=True, validate=validate.OneOf(ORG_GRADES))
    major_contribution = fields.Bool(load_default=False)
    comment = fields.Str(load_default=None, validate=validate.Length(max=500))
    version = fields.Int(load_default=None)


class OrgGradeSchema(Schema):
    org = fields.Nested(NodeRefSchema)
    year = fields.Int()
    grade = fields.Str(allow_none=True)
    major_contribution = fields.Bool()
    comment = fields.Str(allow_none=True)
    graded_by_name = fields.Str(allow_none=True)
    graded_at = fields.DateTime(allow_none=True)
    version = fields.Int(allow_none=True)


class PoolSchema(Schema):
    group = fields.Str()
    base = fields.Int()
    exact = fields.Str()
    quota = fields.Int()


class StepSchema(Schema):
    zh = fields.Str()
    en = fields.Str()


class QuotaSchema(Schema):
    org = fields.Nested(NodeRefSchema)
    year = fields.Int()
    grade = fields.Str(allow_none=True)
    major_contribution = fields.Bool()
    headcount = fields.Int()
    participants = fields.Int()
    rate = fields.Float()
    table_rate = fields.Float()
    rate_source = fields.Str()
    needs_approval = fields.Bool()
    approved_rate = fields.Float(allow_none=True)
    capped_by = fields.Str(allow_none=True)
    rounding = fields.Str()
    denominator = fields.Str()
    pools = fields.List(fields.Nested(PoolSchema))
    computed_total = fields.Int()
    allocated = fields.Int(allow_none=True)
    total = fields.Int()
    steps = fields.List(fields.Nested(StepSchema))


class ApprovalCreateSchema(Schema):
    year = fields.Int(required=True, **YEAR)
    rate = fields.Float(required=True, validate=validate.Range(0, 1, min_inclusive=False))
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class ApprovalSchema(Schema):
    id = fields.Int()
    org_id = fields.Int()
    year = fields.Int()
    rate = fields.Float()
    status = fields.Str()
    reason = fields.Str()
    approver_org_id = fields.Int()
    decided_by_name = fields.Str(allow_none=True)
    decided_at = fields.DateTime()


class RevokeSchema(Schema):
    reason = fields.Str(load_default=None, validate=validate.Length(max=500))


class AllocationSetSchema(Schema):
    year = fields.Int(required=True, **YEAR)
    count = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    note = fields.Str(load_default=None, validate=validate.Length(max=500))


class AllocationSchema(Schema):
    child = fields.Nested(NodeRefSchema)
    count = fields.Int()
    note = fields.Str(allow_none=True)
    allocated_by_name = fields.Str(allow_none=True)
    allocated_at = fields.DateTime(allow_none=True)


class AllocationOverviewSchema(Schema):
    parent = fields.Nested(NodeRefSchema)
    year = fields.Int()
    total = fields.Int()
    total_source = fields.Str(metadata={"description": "allocation (from the level above) or computed"})
    total_steps = fields.List(fields.Nested(StepSchema))
    allocated = fields.Int()
    remaining = fields.Int()
    children = fields.List(fields.Nested(AllocationSchema))
