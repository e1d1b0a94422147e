"""Helpers shared by API endpoints: permission checks and paging."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..auth.roles import Perm
from ..auth.service import has_perm
from ..core.errors import Forbidden


def require(perm: Perm, org=None) -> None:
    if not has_perm(perm, org):
        raise Forbidden()


class PageArgs(Schema):
    page = fields.Int(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))


class ErrorSchema(Schema):
    code = fields.Int()
    status = fields.Str()
    message = fields.Str()
    errors = fields.Dict()
