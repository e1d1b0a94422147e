from marshmallow import Schema, fields, validate

from .roles import Role


class TokenRequestSchema(Schema):
    username = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=256), load_only=True)
    name = fields.Str(load_default="api", validate=validate.Length(max=80))


class TokenSchema(Schema):
    token = fields.Str()
    token_id = fields.Int()
    expires_at = fields.DateTime()


class GrantSchema(Schema):
    id = fields.Int(dump_only=True)
    role = fields.Str(required=True, validate=validate.OneOf([r.value for r in Role]))
    org_id = fields.Int(allow_none=True, load_default=None)


class UserSchema(Schema):
    id = fields.Int(dump_only=True)
    username = fields.Str(dump_only=True)
    display_name = fields.Str(dump_only=True)
    email = fields.Str(dump_only=True, allow_none=True)
    root_id = fields.Int(dump_only=True, allow_none=True)
    org_id = fields.Int(dump_only=True, allow_none=True)
    person_id = fields.Int(dump_only=True, allow_none=True)
    active = fields.Bool(dump_only=True)
    grants = fields.List(fields.Nested(GrantSchema), dump_only=True)


class UserCreateSchema(Schema):
    username = fields.Str(required=True, validate=[validate.Length(min=3, max=64),
                                                   validate.Regexp(r"^[A-Za-z0-9_.@-]+$",
                                                                   error="Letters, digits and _ . @ - only.")])
    display_name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    password = fields.Str(required=True, load_only=True, validate=validate.Length(min=10, max=256))
    org_id = fields.Int(required=True)
    email = fields.Email(load_default=None, allow_none=True)
    grants = fields.List(fields.Nested(GrantSchema), load_default=list)


class UserUpdateSchema(Schema):
    display_name = fields.Str(validate=validate.Length(min=1, max=120))
    email = fields.Email(allow_none=True)
    active = fields.Bool()
    password = fields.Str(load_only=True, validate=validate.Length(min=10, max=256))
    # Required to change your own password (not when managing another account).
    current_password = fields.Str(load_only=True, validate=validate.Length(max=256))


class UserListArgs(Schema):
    org_id = fields.Int()
    q = fields.Str(validate=validate.Length(max=64))
