from marshmallow import Schema, fields, validate

from .models import OrgKind

KINDS = [k.value for k in OrgKind]


class OrgSchema(Schema):
    id = fields.Int(dump_only=True)
    root_id = fields.Int(dump_only=True)
    parent_id = fields.Int(dump_only=True, allow_none=True)
    path = fields.Str(dump_only=True)
    depth = fields.Int(dump_only=True)
    kind = fields.Str(dump_only=True)
    code = fields.Str(dump_only=True)
    name = fields.Str(dump_only=True)
    name_en = fields.Str(dump_only=True, allow_none=True)
    is_assessment_unit = fields.Bool(dump_only=True)
    version = fields.Int(dump_only=True)


class OrgCreateSchema(Schema):
    parent_id = fields.Int(required=True)
    kind = fields.Str(required=True, validate=validate.OneOf(KINDS))
    code = fields.Str(required=True, validate=validate.Length(min=1, max=32))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    name_en = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=160))
    is_assessment_unit = fields.Bool(load_default=False)


class OrgUpdateSchema(Schema):
    code = fields.Str(validate=validate.Length(min=1, max=32))
    name = fields.Str(validate=validate.Length(min=1, max=120))
    name_en = fields.Str(allow_none=True, validate=validate.Length(max=160))
    is_assessment_unit = fields.Bool()
    version = fields.Int(metadata={"description": "The version you edited; a stale one gets 409."})


class OrgMoveSchema(Schema):
    parent_id = fields.Int(required=True)


class OrgListArgs(Schema):
    parent_id = fields.Int()
    kind = fields.Str(validate=validate.OneOf(KINDS))
    code = fields.Str()
