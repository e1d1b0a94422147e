"""The page of the earlier years' grades import: the template, the upload
(check only, or import when clean) and every problem by row."""
from __future__ import annotations

import io

from flask import flash, render_template, request, send_file
from flask_babel import gettext as _
from sqlalchemy import func, select

from ...core.errors import KaoheError
from ...extensions import db
from ...people.models import Person
from ..history_api import HISTORY_PERM, XLSX, import_upload
from ..history_import import HistoryImportInvalid, template_bytes
from ..models import AnnualPriorGrade
from .common import assessment_unit, bp, need


def _summary(unit):
    return db.session.execute(
        select(AnnualPriorGrade.year, func.count()).join(
            Person, (Person.id == AnnualPriorGrade.person_id) & (Person.root_id == AnnualPriorGrade.root_id))
        .where(AnnualPriorGrade.root_id == unit.root_id, Person.unit_id == unit.id)
        .group_by(AnnualPriorGrade.year).order_by(AnnualPriorGrade.year)).all()


@bp.route("/unit/<int:org_id>/history", methods=["GET", "POST"])
def history_page(org_id):
    unit = assessment_unit(org_id)
    need(HISTORY_PERM, unit)
    problems, errors, report, status = [], {}, None, 200
    if request.method == "POST":
        dry_run = request.form.get("dry_run") in ("on", "1", "true")
        try:
            report = import_upload(unit, request.files.get("file"), dry_run)
            db.session.commit()
        except HistoryImportInvalid as exc:
            db.session.rollback()
            problems, status = exc.problems, 422
        except KaoheError as exc:
            db.session.rollback()
            errors, status = exc.errors or {"_": [exc.message]}, exc.status
        else:
            flash(_("Checked: the file is clean; nothing was written.") if dry_run else _("Imported."), "ok")
    rendered = [{"row": p.row, "column": p.column, "text": (_(p.message) % p.params) if p.params else _(p.message)}
                for p in problems]
    return render_template("annual/history.html", unit=unit, problems=rendered, errors=errors, report=report,
                           summary=_summary(unit)), status


@bp.route("/unit/<int:org_id>/history-template.xlsx")
def history_template_page(org_id):
    unit = assessment_unit(org_id)
    need(HISTORY_PERM, unit)
    return send_file(io.BytesIO(template_bytes(unit)), mimetype=XLSX, as_attachment=True,
                     download_name=f"annual-history-{unit.code}.xlsx")
