"""The per-person work of one chunk of units, as a pure function of plain
data (no database, no Flask): the calc's unit outcomes turned into result
rows (COPY text format on PostgreSQL) with each unit's digest.  The data
are what ``loader.load_chunk`` reads."""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Iterable, Sequence

import orjson

from .calc.codes import SPECIAL_GRADE_POINTS
from .calc.leave import measure as leave_measure, unit_workdays
from .calc.person import PersonInput, Sanction
from .calc.unit import compute_unit

# orjson: 5-10x faster JSON for the explanation column of a million rows.
_dumpb = orjson.dumps
RESULT_COLUMNS = ("root_id", "org_id", "run_id", "person_id", "rank_group", "score", "grade", "code",
                  "eligible_youxiu", "rank", "flags", "talks", "explain")


_GRADE_SCORES = {"hao": 95.0, "jiaohao": 85.0, "yiban": 70.0, "jiaocha": 50.0}


def person_inputs(rows: Sequence[tuple], data: dict, year: int,
                  workdays: frozenset[dt.date] | None = None) -> list[PersonInput]:
    """The calc inputs of ``rows`` (person tuples of ``loader.load_chunk``);
    ``workdays``: the unit's working days of the year (for leave ranges)."""
    routine, reviews, specials, records = data["routine"], data["reviews"], data["specials"], data["records"]
    leave_ranges = data.get("leave") or {}
    no_youxiu = data.get("no_youxiu") or ()
    year_end = dt.date(year, 12, 31)
    grade_points = SPECIAL_GRADE_POINTS
    out = []
    append = out.append
    for pid, _unit, rank_group, hire, probation_end, _sup in rows:
        rt = routine.get(pid)
        if rt is None:
            rt_list = []
        elif len(rt) == 1:
            rt_list = list(rt.values())
        else:
            rt_list = [rt[k] for k in sorted(rt)]
        rv = reviews.get(pid)
        leader = votes = None
        if rv is not None:
            leader, vy, vc, vj, vb = rv
            if vy or vc or vj or vb:
                votes = {"youxiu": vy, "chenzhi": vc, "jibenchenzhi": vj, "buchenzhi": vb}
        pts = scores = ()
        sp = specials.get(pid)
        if sp is not None:
            pts, scores = [], []
            for rtype, grade, points, score in sp:
                if points is not None:
                    pts.append(float(points))
                elif rtype == "grade" and grade in grade_points:
                    pts.append(grade_points[grade])
                if score is not None:
                    scores.append(float(score))
                elif rtype == "grade" and grade:
                    scores.append(_GRADE_SCORES.get(grade, 70.0))
        recs = records.get(pid)
        ranges = leave_ranges.get(pid)
        if ranges is not None and recs is None:
            recs = ()
        if recs is None:
            if pid in no_youxiu:
                append(PersonInput(pid, rank_group or "staff", rt_list, leader, votes, pts, scores, probation_end,
                                   hire, routine_no_youxiu=True))
            else:
                append(PersonInput(pid, rank_group or "staff", rt_list, leader, votes, pts, scores, probation_end,
                                   hire))
            continue
        leave = 0
        inv_open = inv_retro = refused = False
        sanctions = []
        for kind, ryear, sanction_kind, _start, end_date, days in recs:
            if kind == "leave" and ryear == year:
                leave += int(days or 0)
            elif kind == "investigation" and ryear == year:
                if end_date is None:
                    inv_open = True
                elif end_date > year_end:
                    inv_retro = True
            elif kind == "sanction" and sanction_kind:
                sanctions.append(Sanction(sanction_kind, ryear))
            elif kind == "refusal" and ryear == year:
                refused = True
        leave_work = year_work = None
        if ranges is not None:      # date ranges win over a legacy day count (leave_work None: legacy)
            wd = workdays if workdays is not None else frozenset()
            leave, leave_work = leave_measure(ranges, wd)
            year_work = len(wd) or None
        append(PersonInput(pid, rank_group or "staff", rt_list, leader, votes, pts, scores, probation_end, hire,
                           leave, inv_open, inv_retro and not inv_open, sanctions, refused, pid in no_youxiu,
                           leave_work, year_work))
    return out


def _copy_json(v) -> bytes:
    """``v`` as JSON (orjson's bytes), escaped for COPY text format (JSON
    escapes tabs and newlines itself; only its backslashes need doubling)."""
    return _dumpb(v).replace(b"\\", b"\\\\")


_LIST_JSON: dict[tuple, bytes] = {}


def _copy_json_list(v: list) -> bytes:
    """``_copy_json`` of a short list of strings (flags, talks), memoised."""
    key = tuple(v)
    try:
        return _LIST_JSON[key]
    except KeyError:
        b = _copy_json(v)
        if len(_LIST_JSON) < 4096:
            _LIST_JSON[key] = b
        return b
    except TypeError:      # unhashable items
        return _copy_json(v)


NULL = "\\N"


def result_body(r) -> bytes:
    """One result row in COPY text format (UTF-8), without root/org/run (the
    part that must be equal between two runs over the same inputs)."""
    s, k = r.score, r.rank
    head = "\t".join((str(r.person_id), r.rank_group, NULL if s is None else repr(s) if isinstance(s, float) else str(s),
                      r.grade or NULL, r.code, "t" if r.eligible_youxiu else "f",
                      NULL if k is None else repr(k) if isinstance(k, float) else str(k), ""))
    return b"".join((head.encode(), _copy_json_list(r.flags), b"\t", _copy_json_list(r.talks), b"\t",
                     _dumpb({"components": r.components, "rules": r.rules}).replace(b"\\", b"\\\\")))


def digest_bodies(bodies: Iterable) -> str:
    """sha256 over every body (str or UTF-8 bytes) followed by a newline."""
    h = hashlib.sha256()
    update = h.update
    for b in bodies:
        update(b if type(b) is bytes else b.encode())
        update(b"\n")
    return h.hexdigest()


def compute_units(specs: Sequence[tuple], data: dict, year: int, root_id: int, copy_lines: bool,
                  base_workdays: frozenset[dt.date] | None = None) -> list[tuple]:
    """The per-person work of one chunk, as a pure function of plain data
    (no database, no Flask).

    ``specs``: per unit (unit_id, run_id, policy dict, org_grade,
    major_contribution, approved_rate, allocated).  Returns per unit
    (unit_id, people, digest, quota, payload, talks): ``payload`` is the
    unit's result rows in COPY text format (one bytes object) when
    ``copy_lines``, else the rows as tuples in RESULT_COLUMNS order;
    ``talks`` [(person_id, supervisor_id, kind)].  ``base_workdays``: the
    year's national working days (for leave ranges; each unit's calendar
    settings applied here)."""
    by_unit: dict[int, list] = {}
    for row in data["people"]:
        u = by_unit.get(row[1])
        if u is None:
            by_unit[row[1]] = [row]
        else:
            u.append(row)
    out = []
    for unit_id, run_id, pol, grade, major, approved_rate, allocated in specs:
        rows_u = by_unit.get(unit_id, ())
        wd = unit_workdays(base_workdays, year, pol) if base_workdays is not None and data.get("leave") else None
        outcome = compute_unit(person_inputs(rows_u, data, year, wd), pol, year, org_grade=grade,
                                    major_contribution=major, approved_rate=approved_rate, allocated=allocated)
        results = outcome.results
        bodies = [result_body(r) for r in results]
        # Row by row: hashing one large buffer would release the GIL and
        # leave this thread queueing for it behind the reader and writer.
        digest = digest_bodies(bodies)
        if copy_lines:
            if bodies:
                prefix = f"{root_id}\t{unit_id}\t{run_id}\t".encode()
                payload = b"".join((prefix, (b"\n" + prefix).join(bodies), b"\n"))
            else:
                payload = b""
        else:
            payload = [(root_id, unit_id, run_id, r.person_id, r.rank_group, r.score, r.grade, r.code,
                        r.eligible_youxiu, r.rank, r.flags, r.talks, {"components": r.components, "rules": r.rules})
                       for r in results]
        talks = []
        if any(r.talks for r in results):
            sup = {row[0]: row[5] for row in rows_u}
            talks = [(r.person_id, sup.get(r.person_id), kind) for r in results for kind in r.talks]
        out.append((unit_id, len(results), digest, outcome.quota, payload, talks))
    return out
