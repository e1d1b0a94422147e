"""Schemas of the roster import, shared by the API and the pages."""
from __future__ import annotations

from flask_babel import gettext
from marshmallow import Schema, fields

from . import roster_format


class ProblemSchema(Schema):
    sheet = fields.Str(metadata={"description": "sheet name as in the workbook"})
    row = fields.Int(allow_none=True, metadata={"description": "Excel row number (1 is the header)"})
    column = fields.Str(allow_none=True, metadata={"description": "Excel column letter, when known"})
    field = fields.Str(allow_none=True)
    code = fields.Str(metadata={"description": "machine-readable rule, e.g. duplicate_staff_no, formula"})
    value = fields.Raw(allow_none=True)
    message = fields.Method("get_message")

    def get_message(self, obj):
        return roster_format.message(obj, gettext)


class RosterImportSchema(Schema):
    id = fields.Int()
    unit_id = fields.Int(attribute="org_id")
    filename = fields.Str()
    size = fields.Int()
    status = fields.Str(metadata={"description": "uploaded, checking, invalid, valid, importing, imported"})
    deactivate_missing = fields.Bool()
    rows_total = fields.Int()
    error_count = fields.Int(metadata={"description": "all problems; `errors` lists the first 1000"})
    summary = fields.Dict(allow_none=True, metadata={"description": "new/updated counts; after the import the "
                                                     "created/updated/unchanged/deactivated counts"})
    errors = fields.List(fields.Nested(ProblemSchema), dump_default=list)
    job_id = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    checked_at = fields.DateTime(allow_none=True)
    imported_at = fields.DateTime(allow_none=True)


class UploadFormSchema(Schema):
    unit_id = fields.Int(metadata={"description": "the assessment unit (本机关); required here or in the query "
                                                  "string"})
    deactivate_missing = fields.Bool(load_default=False,
                                     metadata={"description": "people of the unit not in the file leave the roster"})


class UploadFileSchema(Schema):
    # Required, but checked by the route after the unit's scoped look-up and the
    # permission check (a missing file must not answer 422 before 404/403).
    file = fields.Raw(metadata={"type": "string", "format": "binary", "description": "the .xlsx workbook (required)"})


class UploadQueryArgs(Schema):
    unit_id = fields.Int(metadata={"description": "the assessment unit, when not given as a form field"})


class UnitArgs(Schema):
    unit_id = fields.Int(required=True)


class JobStartedSchema(Schema):
    import_id = fields.Int()
    job_id = fields.Str()
    status = fields.Str()


class RosterImportListSchema(RosterImportSchema):
    class Meta:
        exclude = ("errors",)
