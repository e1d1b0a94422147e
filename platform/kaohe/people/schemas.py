"""Schemas of the roster import, shared by the API and the pages."""
from __future__ import annotations

from flask_babel import gettext
from marshmallow import Schema, fields, validate

from . import id_number, roster_format, roster_plan


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


class ChangeSchema(Schema):
    field = fields.Str(metadata={"description": "name, gender, dept (department code), post, rank_group, "
                                                "job_category, position_role, hire_date, probation_end, supervisor "
                                                "(staff no.), staff_category, id_number, birth_date, "
                                                "political_status, post_rank, work_start_date, active"})
    old = fields.Raw(allow_none=True)
    new = fields.Raw(allow_none=True, metadata={"description": "null: the value is cleared (清空)"})


class ChangeItemSchema(Schema):
    row = fields.Int(allow_none=True, metadata={"description": "Excel row (null: a person missing from the file)"})
    op = fields.Str(metadata={"description": "new | update | remove | charge_add | charge_remove"})
    kinds = fields.List(fields.Str(), metadata={"description": "new, updated, moved, cleared, reactivated, "
                                                               "removed, charges_added, charges_removed"})
    staff_no = fields.Str(metadata={"description": "the person (or the leader of a 分管 link)"})
    name = fields.Str(allow_none=True)
    dept = fields.Str(allow_none=True, metadata={"description": "new person's / 分管 department code"})
    reason = fields.Str(metadata={"description": "a removal: marker (离开 in the file) | missing (option)"})
    changes = fields.List(fields.Nested(ChangeSchema))


class ChangesSchema(Schema):
    counts = fields.Dict(keys=fields.Str(), values=fields.Int())
    kind = fields.Str(allow_none=True)
    items = fields.List(fields.Nested(ChangeItemSchema))


class ChangesArgs(Schema):
    kind = fields.Str(validate=validate.OneOf(roster_plan.KINDS),
                      metadata={"description": "only this kind of change"})
    reveal_id_numbers = fields.Bool(load_default=False,
                                    metadata={"description": "full ID numbers in the changes (masked by default)"})


def changes_answer(stored: dict | None, kind: str | None, reveal: bool) -> dict | None:
    """The list of changes for the API; ID numbers masked unless asked."""
    if not stored:
        return None
    items = roster_plan.entries(stored, kind)
    if not reveal:
        for item in items:
            for c in item.get("changes", ()):
                if c["field"] == "id_number":
                    c["old"], c["new"] = id_number.mask(c["old"]), id_number.mask(c["new"])
    return {"counts": stored.get("counts", {}), "kind": kind, "items": items}


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
    changes = fields.Nested(ChangesSchema, attribute="changes_view", allow_none=True, dump_only=True, metadata={
        "description": "a clean file: every change the import will make (made, once imported)"})
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
        exclude = ("errors", "changes")
