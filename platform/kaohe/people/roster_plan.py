"""Every change a roster workbook will make, worked out before anything is
written: the check lists it (page and API) and the import carries out
exactly that list (it checks again and refuses when the list differs).

Rules (the template's notes say the same):
- an empty cell keeps the stored value; the clear marker (清空) empties it;
- a person leaves the roster only by the 离开 marker on their row, or by the
  upload's explicit "people missing from the file have left" option;
- a 分管 link ends only by the 删除 marker on its row.

Pure code: no Flask, no database.  Memory: one short entry per changed
person (new people: row, staff number, name, department), nothing for an
unchanged one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .roster_format import CLEAR, jsonable

# plan field -> the sheet column it comes from (dept: the code/name pair)
FIELD_COLUMNS = {
    "name": "name", "gender": "gender", "post": "post", "rank_group": "rank_group",
    "job_category": "job_category", "position_role": "position_role", "hire_date": "hire_date",
    "probation_end": "probation_end", "supervisor": "supervisor_staff_no", "staff_category": "staff_category",
    "id_number": "id_number", "birth_date": "birth_date", "political_status": "political_status",
    "post_rank": "post_rank", "work_start_date": "work_start_date",
}
PLAN_FIELDS = ("name", "gender", "dept", "post", "rank_group", "job_category", "position_role", "hire_date",
               "probation_end", "supervisor", "staff_category", "id_number", "birth_date", "political_status",
               "post_rank", "work_start_date", "active")
KINDS = ("new", "updated", "moved", "cleared", "reactivated", "removed", "charges_added", "charges_removed")


def tags(changes: dict) -> list[str]:
    """What kind of change an update is: moved (department or supervisor),
    cleared (a stored value emptied), reactivated (back on the roster)."""
    out = []
    if "dept" in changes or "supervisor" in changes:
        out.append("moved")
    if any(new is None and old is not None for f, (old, new) in changes.items() if f != "dept"):
        out.append("cleared")
    if changes.get("active") == [False, True]:
        out.append("reactivated")
    return out


@dataclass
class Plan:
    """``people``: (row, op, staff_no, name, detail); op ``new`` (detail: the
    department code or None), ``update`` (detail: {field: [old, new]}) or
    ``remove`` (detail: "marker" | "missing").  ``charges``: [row, op
    ("add" | "remove"), leader staff_no, department code]."""

    current: dict[str, dict] = field(default_factory=dict)   # staff_no -> plan fields (+ "id")
    people: list[list] = field(default_factory=list)
    charges: list[list] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS + ("unchanged",), 0))

    def person(self, row_no: int, staff_no: str, values: dict[str, Any], dept: tuple[bool, str | None],
               leave: bool) -> None:
        """One clean row of the people sheet.  ``values``: the row's cells
        (None: empty, CLEAR: the marker); ``dept``: (given, code or None for
        the unit itself)."""
        cur = self.current.get(staff_no)
        if cur is None:
            self.counts["new"] += 1
            self.people.append((row_no, "new", staff_no, values.get("name"), dept[1] if dept[0] else None))
            return
        if leave:
            if cur["active"]:
                self.counts["removed"] += 1
                self.people.append((row_no, "remove", staff_no, cur["name"], "marker"))
            else:
                self.counts["unchanged"] += 1
            return
        changes: dict[str, list] = {}
        for f, col in FIELD_COLUMNS.items():
            v = values.get(col)
            if v is None:
                continue                    # an empty cell keeps the value
            new = None if v is CLEAR else v
            if cur.get(f) != new:
                changes[f] = [cur.get(f), new]
        if dept[0] and cur.get("dept") != dept[1]:
            changes["dept"] = [cur.get("dept"), dept[1]]
        if not cur["active"]:
            changes["active"] = [False, True]
        if not changes:
            self.counts["unchanged"] += 1
            return
        self.counts["updated"] += 1
        for t in tags(changes):
            self.counts[t] += 1
        self.people.append((row_no, "update", staff_no, cur["name"],
                            {f: changes[f] for f in PLAN_FIELDS if f in changes}))

    def missing(self, seen) -> None:
        """People of the unit not in the file leave (the upload's option)."""
        for staff_no, cur in sorted(self.current.items()):
            if cur["active"] and staff_no not in seen:
                self.counts["removed"] += 1
                self.people.append((None, "remove", staff_no, cur["name"], "missing"))

    def charge(self, row_no: int, leader: str, dept_code: str, remove: bool, current: set) -> None:
        present = (leader, dept_code) in current
        if remove and present:
            self.counts["charges_removed"] += 1
            self.charges.append([row_no, "remove", leader, dept_code])
        elif not remove and not present:
            self.counts["charges_added"] += 1
            self.charges.append([row_no, "add", leader, dept_code])

    def to_dict(self) -> dict:
        """The stored form (JSON): the same list the page and the API show."""
        return {"counts": dict(self.counts),
                "people": [[r, op, s, n, _json_detail(d)] for r, op, s, n, d in self.people],
                "charges": [list(c) for c in self.charges]}


def _json_detail(detail):
    if isinstance(detail, dict):
        return {f: [jsonable(o), jsonable(n)] for f, (o, n) in detail.items()}
    return detail


def entries(stored: dict | None, kind: str | None = None) -> list[dict]:
    """The stored plan as a flat list of readable entries, filtered by kind
    (one of KINDS, or None for all)."""
    out: list[dict] = []
    if not stored:
        return out
    for r, op, s, n, d in stored.get("people", []):
        item = {"row": r, "op": op, "staff_no": s, "name": n}
        if op == "new":
            item["kinds"] = ["new"]
            item["dept"] = d
        elif op == "remove":
            item["kinds"] = ["removed"]
            item["reason"] = d
        else:
            item["kinds"] = ["updated"] + tags(d)
            item["changes"] = [{"field": f, "old": o, "new": v} for f, (o, v) in d.items()]
        if kind is None or kind in item["kinds"]:
            out.append(item)
    for r, op, leader, dept in stored.get("charges", []):
        k = "charges_added" if op == "add" else "charges_removed"
        if kind is None or kind == k:
            out.append({"row": r, "op": "charge_" + op, "kinds": [k], "staff_no": leader, "dept": dept})
    return out
