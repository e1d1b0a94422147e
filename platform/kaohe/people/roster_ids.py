"""ID numbers in a roster workbook: the birth date and gender they carry
(filled in when the cells are empty, checked when given), masked numbers
(an export re-imported keeps the stored number), and uniqueness in the
province: within the file (naming both rows), against this unit's people
(naming the person) and against other units' people (one set-based look-up
at the end of the pass, which names nobody: they are outside the caller's
view).

Pure code: no Flask, no database.
"""
from __future__ import annotations

from typing import Any

from . import id_number as idn
from .roster_format import CLEAR, GENDER_WORDS, Problem, Report, UnitContext


class IdIndex:
    """The ID numbers seen so far: number -> (row, staff_no, name)."""

    def __init__(self, ctx: UnitContext, sheet: str, report: Report):
        self.ctx, self.sheet, self.report = ctx, sheet, report
        self.seen: dict[str, tuple[int, str, str]] = {}
        self.owner = {cur["id_number"]: s for s, cur in ctx.current.items() if cur.get("id_number")}
        self.changed_away: set[str] = set()     # staff numbers whose row gives another number

    def add(self, number: str, row_no: int, staff_no: str | None, name: str | None) -> bool:
        first = self.seen.get(number)
        if first is not None:
            self.report.add(Problem(self.sheet, row_no, None, "id_number", "duplicate_id_number", number,
                                    {"first_row": first[0], "other": f"{first[1]} {first[2] or ''}".strip()}))
            return False
        self.seen[number] = (row_no, staff_no or "", name or "")
        holder = self.owner.get(number)
        if holder is not None and holder != staff_no:
            other = self.ctx.current[holder]
            self.report.add(Problem(self.sheet, row_no, None, "id_number", "id_number_taken", number,
                                    {"other": f"{holder} {other.get('name') or ''}".strip()}))
            return False
        return True

    def finish(self) -> None:
        """Numbers held by people of other units (asked once for all)."""
        lookup = self.ctx.ids_elsewhere
        fresh = [n for n in self.seen if n not in self.owner]
        if lookup is None or not fresh:
            return
        for number in sorted(lookup(fresh)):
            row_no = self.seen[number][0]
            self.report.add(Problem(self.sheet, row_no, None, "id_number", "id_number_elsewhere", number))
        # A plan built on a refused file is never used: the report is not ok.


def complete(values: dict[str, Any]) -> None:
    """Birth date and gender from a (valid, unmasked) ID number, where the
    row leaves them empty."""
    number = values.get("id_number")
    if not isinstance(number, str) or idn.is_masked(number):
        return
    if values.get("birth_date") is None:
        values["birth_date"] = idn.birth_date(number)
    if values.get("gender") is None:
        values["gender"] = idn.gender(number)


def check(values: dict[str, Any], cur: dict | None, sheet: str, row_no: int, report: Report, index: IdIndex,
          staff_no: str | None) -> bool:
    """The row's identity cells; fills the derived ones.  False on a problem."""
    number = values.get("id_number")
    ok = True
    if isinstance(number, str) and idn.is_masked(number):
        stored = (cur or {}).get("id_number")
        if stored and idn.mask(stored) == number:
            values["id_number"] = None          # the export's masked form: keep the stored number
            number = None
        else:
            report.add(Problem(sheet, row_no, None, "id_number", "id_masked", number))
            return False
    if not isinstance(number, str):
        return ok
    born, sex = idn.birth_date(number), idn.gender(number)
    given_born, given_sex = values.get("birth_date"), values.get("gender")
    if given_born not in (None, CLEAR) and given_born != born:
        ok = False
        report.add(Problem(sheet, row_no, None, "birth_date", "id_birth_mismatch", given_born.isoformat(),
                           {"expected": born.isoformat()}))
    if given_sex not in (None, CLEAR) and given_sex != sex:
        ok = False
        report.add(Problem(sheet, row_no, None, "gender", "id_gender_mismatch", given_sex,
                           {"expected": GENDER_WORDS[sex]}))
    complete(values)
    if values.get("birth_date") is CLEAR:
        values["birth_date"] = born
    if values.get("gender") is CLEAR:
        values["gender"] = sex
    return index.add(number, row_no, staff_no, values.get("name")) and ok
