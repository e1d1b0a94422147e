"""Streaming the normalised rows of a workbook that passed the check, for
the import (the new people's values, the 分管 rows).

Pure code: no Flask, no database.
"""
from __future__ import annotations

from typing import Iterator

from .roster_check import _dept_code, _dept_of, _find_sheet, _header, _rows
from .roster_format import CHARGE_COLUMNS, CHARGE_SHEET, CLEAR, PEOPLE_COLUMNS, PEOPLE_SHEET, Report, UnitContext
from .roster_ids import complete as _complete_identity

def iter_people(wb, ctx: UnitContext) -> Iterator[dict]:
    """Normalised people rows of a workbook that passed ``check_workbook``
    (the import reads the new people's values from here; the clear marker
    reads as empty), departments resolved to ``dept_id`` (None: the unit
    itself), birth date and gender completed from the ID number."""
    ws = _find_sheet(wb, PEOPLE_SHEET)
    positions = _header(ws, PEOPLE_COLUMNS, ws.title, Report())
    for _row_no, values, _ok in _rows(ws, positions, PEOPLE_COLUMNS, ws.title, None):
        values = {k: (None if v is CLEAR else v) for k, v in values.items()}
        _complete_identity(values)
        out = {k: v for k, v in values.items() if k not in ("dept_code", "dept_name")}
        code = _dept_code(ctx, values.get("dept_code"), values.get("dept_name"))[0]
        out["dept_id"] = ctx.departments[code][0] if code else None
        yield out


def iter_charges(wb, ctx: UnitContext) -> Iterator[tuple[str, int, bool]] | None:
    """(leader staff no, department id, remove) rows, or None when the workbook
    has no (or an empty) charges sheet — the unit's charges then stay as they
    are.  Only a row marked in the remove column ends a charge."""
    ws = _find_sheet(wb, CHARGE_SHEET)
    if ws is None:
        return None
    first = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), None)
    if not first or all(v is None for v in first):
        return None
    positions = _header(ws, CHARGE_COLUMNS, ws.title, Report())

    def gen():
        for _row_no, values, _ok in _rows(ws, positions, CHARGE_COLUMNS, ws.title, None):
            dept_id, _c, _p = _dept_of(ctx, values.get("dept_code"), values.get("dept_name"))
            if dept_id is not None:
                yield values["leader_staff_no"], dept_id, values.get("remove") == "yes"
    return gen()
