"""REST endpoints of the earlier years' grades import (the same service and
rule as the page and ``kaohe annual history-import``)."""
from __future__ import annotations

import io

from flask import current_app, request, send_file
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..api.common import require
from ..auth.roles import Perm
from ..core import xlsx_guard
from ..core.errors import Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import get_in_scope
from . import history_import

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
blp_history = Blueprint("annual_history", __name__, url_prefix="/api/v1/annual",
                        description="Annual grades of earlier years (imported)")

# The one rule: the unit's assessment office.
HISTORY_PERM = Perm.unit_admin


class HistoryFormSchema(Schema):
    dry_run = fields.Bool(load_default=False, metadata={"description": "check only, write nothing"})


class HistoryFileSchema(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"})


class HistoryReportSchema(Schema):
    rows = fields.Int()
    created = fields.Int()
    updated = fields.Int()
    unchanged = fields.Int()
    dry_run = fields.Bool()


def import_upload(unit: OrgNode, file_storage, dry_run: bool) -> dict:
    """Check the permission, guard the file, run the import (flush)."""
    require(HISTORY_PERM, unit)
    if file_storage is None or not getattr(file_storage, "filename", ""):
        raise Invalid({"file": ["Choose an .xlsx file to upload."]})
    data = file_storage.read()
    xlsx_guard.check(data, ignore_sheets=history_import.NOTES, config=current_app.config)
    return history_import.run_import(unit, data, file_storage.filename, dry_run=dry_run)


@blp_history.route("/units/<int:org_id>/history-template")
@blp_history.response(200, content_type=XLSX, description="The template with the unit's people")
def history_template(org_id):
    """Download the template (xlsx: 工号, 姓名, 年度, 等次) for the unit."""
    unit = get_in_scope(OrgNode, org_id)
    require(HISTORY_PERM, unit)
    return send_file(io.BytesIO(history_import.template_bytes(unit)), mimetype=XLSX, as_attachment=True,
                     download_name=f"annual-history-{unit.code}.xlsx")


@blp_history.route("/units/<int:org_id>/history", methods=["POST"])
@blp_history.arguments(HistoryFormSchema, location="form")
@blp_history.arguments(HistoryFileSchema, location="files")
@blp_history.response(200, HistoryReportSchema)
def history_upload(form, files, org_id):
    """Import earlier years' annual grades (multipart `file`): checked whole,
    every problem answered as 422 by row, nothing written unless the file is
    clean.  Imported years are marked imported and feed the multi-year
    counters and alert lists."""
    unit = get_in_scope(OrgNode, org_id)
    report = import_upload(unit, request.files.get("file"), form["dry_run"])
    db.session.commit()
    return report
