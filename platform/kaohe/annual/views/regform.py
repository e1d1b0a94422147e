"""The 公务员年度考核登记表 as A4 print pages and .docx, per person and in one
batch per unit (issue 17).  The unit's office and supervisors see every
form; a person sees their own."""
from __future__ import annotations

from flask import abort, render_template, send_file
from flask_login import current_user

from ...auth.roles import Perm
from ...auth.service import has_perm
from .. import regform, service
from .common import assessment_unit, bp

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _load(org_id, year, person_id=None):
    unit = assessment_unit(org_id)
    office = has_perm(Perm.unit_admin, unit) or has_perm(Perm.supervise, unit)
    own = person_id is not None and current_user.person_id == person_id
    if not (office or own):
        abort(403)
    a = service.find(unit, year)
    if a is None:
        abort(404)
    forms = regform.forms_for(unit, a, [person_id] if person_id is not None else None)
    if person_id is not None and not forms:
        abort(404)
    return unit, forms


def _docx(forms, name):
    import io

    return send_file(io.BytesIO(regform.regform_docx(forms)), as_attachment=True, download_name=name, mimetype=DOCX)


@bp.route("/unit/<int:org_id>/<int:year>/regform/<int:person_id>")
def regform_page(org_id, year, person_id):
    unit, forms = _load(org_id, year, person_id)
    return render_template("annual/regform.html", unit=unit, year=year, forms=forms, fmt=regform._d,
                           person_id=person_id)


@bp.route("/unit/<int:org_id>/<int:year>/regform/<int:person_id>.docx")
def regform_docx(org_id, year, person_id):
    unit, forms = _load(org_id, year, person_id)
    return _docx(forms, f"登记表-{year}-{unit.code}-{forms[0].staff_no}.docx")


@bp.route("/unit/<int:org_id>/<int:year>/regforms")
def regforms_page(org_id, year):
    unit, forms = _load(org_id, year)
    return render_template("annual/regform.html", unit=unit, year=year, forms=forms, fmt=regform._d, person_id=None)


@bp.route("/unit/<int:org_id>/<int:year>/regforms.docx")
def regforms_docx(org_id, year):
    unit, forms = _load(org_id, year)
    return _docx(forms, f"登记表-{year}-{unit.code}.docx")
