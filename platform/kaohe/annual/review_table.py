"""The review table: every person's leader score, recommended grade, comment
and democratic votes entered as one table and saved together (one
transaction: all rows or none, each bad cell named by row), from the page or
from an xlsx file downloaded from it and filled in offline."""
from __future__ import annotations

import io
import zipfile

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from ..core import xlsx_guard
from ..core.errors import Invalid
from ..extensions import db
from ..people.models import Person
from .calc.codes import GRADE_LABELS, GRADES, VOTE_POINTS
from .models import AnnualAssessment, AnnualReview
from .records import save_review

VOTES = tuple(VOTE_POINTS)                    # youxiu, chenzhi, jibenchenzhi, buchenzhi
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
FIELDS = ("leader_score", "recommended_grade", "comment", *(f"votes_{g}" for g in VOTES))


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def parse_row(raw: dict, *, votes_allowed: bool) -> tuple[dict, dict]:
    """Strings from a form or a sheet → (values, {field: message})."""
    values: dict = {}
    errors: dict = {}
    score = _text(raw.get("leader_score"))
    if score:
        try:
            values["leader_score"] = float(score)
            if not 0 <= values["leader_score"] <= 100:
                errors["leader_score"] = _("The score is between 0 and 100.")
        except ValueError:
            errors["leader_score"] = _("Enter a number between 0 and 100.")
    else:
        values["leader_score"] = None
    grade = _text(raw.get("recommended_grade"))
    by_label = {lab: code for code, labs in GRADE_LABELS.items() for lab in labs}
    grade = by_label.get(grade, grade)
    if grade and grade not in GRADES:
        errors["recommended_grade"] = _("Unknown grade.")
    values["recommended_grade"] = grade or None
    values["comment"] = _text(raw.get("comment"))[:2000]
    votes = {}
    for g in VOTES:
        v = _text(raw.get(f"votes_{g}"))
        if not v:
            continue
        if not v.isdigit():
            errors[f"votes_{g}"] = _("Vote counts are whole numbers ≥ 0.")
        else:
            votes[g] = int(v)
    if votes and not votes_allowed:
        errors["votes"] = _("Only the unit administrator enters democratic evaluation votes.")
    values["votes"] = votes
    return values, errors


def save_table(a: AnnualAssessment, rows: dict[int, dict], roster: list[Person], *, votes_allowed: bool) -> int:
    """Validate every row, then save the changed ones (each audited by
    ``save_review``).  Raises Invalid with ``{"<person_id>.<field>": [msg]}``
    and writes nothing when any row is wrong.  Returns the rows changed."""
    people = {p.id: p for p in roster}
    errors: dict = {}
    parsed: dict[int, dict] = {}
    for pid, raw in rows.items():
        if pid not in people:
            errors[f"{pid}._"] = [_("This person is not on the list you may review.")]
            continue
        values, errs = parse_row(raw, votes_allowed=votes_allowed)
        for field, msg in errs.items():
            errors[f"{pid}.{field}"] = [msg]
        parsed[pid] = values
    if errors:
        raise Invalid(errors)
    existing = {r.person_id: r for r in db.session.execute(select(AnnualReview).where(
        AnnualReview.root_id == a.root_id, AnnualReview.assessment_id == a.id,
        AnnualReview.person_id.in_(list(parsed) or [0]))).scalars()}
    changed = 0
    for pid, v in parsed.items():
        r = existing.get(pid)
        old = (r.leader_score, r.recommended_grade, r.comment or "", r.votes()) if r else (None, None, "", {})
        new_votes = {**(r.votes() if r else {}), **v["votes"]} if votes_allowed else (r.votes() if r else {})
        if r is None and v["leader_score"] is None and not v["recommended_grade"] and not v["comment"] \
                and not v["votes"]:
            continue
        if (v["leader_score"], v["recommended_grade"], v["comment"], new_votes) == old:
            continue
        save_review(a, people[pid], leader_score=v["leader_score"], recommended_grade=v["recommended_grade"],
                    comment=v["comment"], votes=v["votes"] if votes_allowed else None,
                    clear=("leader_score", "recommended_grade"))
        changed += 1
    return changed


def rows_from_form(form, roster: list[Person]) -> dict[int, dict]:
    out = {}
    for p in roster:
        if f"ls_{p.id}" not in form:
            continue
        out[p.id] = {"leader_score": form.get(f"ls_{p.id}"), "recommended_grade": form.get(f"rg_{p.id}"),
                     "comment": form.get(f"c_{p.id}"),
                     **{f"votes_{g}": form.get(f"v{g}_{p.id}") for g in VOTES}}
    return out


# -- xlsx round trip -----------------------------------------------------------------------------

def headers() -> list[str]:
    return [_("No."), _("Staff number"), _("Name"), _("Leader score (0–100)"), _("Recommended grade"),
            _("Comment"), *(_("Votes: %(grade)s", grade=GRADE_LABELS[g][0]) for g in VOTES)]


def to_xlsx(roster: list[Person], revs: dict[int, AnnualReview], *, votes_allowed: bool) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "reviews"
    hs = headers()
    ws.append(hs if votes_allowed else hs[:6])
    for p in roster:
        r = revs.get(p.id)
        row = [p.id, p.staff_no, p.name, r.leader_score if r else None,
               GRADE_LABELS[r.recommended_grade][0] if r and r.recommended_grade else None, r.comment if r else None]
        if votes_allowed:
            row += [getattr(r, f"votes_{g}") if r else None for g in VOTES]
        ws.append(row)
    for col, width in zip("ABCDEFGHIJ", (8, 12, 14, 16, 12, 30, 10, 10, 12, 10)):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rows_from_xlsx(data: bytes, roster: list[Person]) -> dict[int, dict]:
    """The rows of an uploaded review sheet, read defensively: size, zip
    members and row count are bounded before anything is parsed."""
    if not data:
        raise Invalid({"file": [_("Choose the filled-in review sheet (.xlsx).")]})
    if len(data) > MAX_UPLOAD_BYTES:
        raise Invalid({"file": [_("The file is larger than 2 MB; this is not a review sheet.")]})
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise Invalid({"file": [_("This is not an .xlsx file: download the review sheet and fill it in.")]})
    # Sizes declared and streamed, compression ratio, merged cells: the one guard of every upload.
    xlsx_guard.check(data, config=current_app.config)
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any parse failure is "not a workbook we can read"
        raise Invalid({"file": [_("This is not an .xlsx file: download the review sheet and fill it in.")]})
    ws = wb.worksheets[0]
    ids = {p.id for p in roster}
    out: dict[int, dict] = {}
    errors: dict = {}
    limit = len(roster) + 50
    for n, row in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
        if n > limit:
            errors["file"] = [_("The sheet has more rows than people on the list.")]
            break
        if not row or all(c is None or _text(c) == "" for c in row):
            continue
        cells = list(row) + [None] * 10
        try:
            pid = int(_text(cells[0]))
        except ValueError:
            errors[f"row{n}"] = [_("Row %(n)s: the No. column was changed; download the sheet again.", n=n)]
            continue
        if pid not in ids:
            errors[f"row{n}"] = [_("Row %(n)s: this person is not on the list you may review.", n=n)]
            continue
        out[pid] = {"leader_score": cells[3], "recommended_grade": cells[4], "comment": cells[5],
                    **{f"votes_{g}": cells[6 + i] for i, g in enumerate(VOTES)}}
    wb.close()
    if errors:
        raise Invalid(errors)
    return out
