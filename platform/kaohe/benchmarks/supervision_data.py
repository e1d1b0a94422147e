"""A synthetic province for `kaohe bench dashboard` with
``--generator supervision`` (or off PostgreSQL, where the annual generator
``synthetic`` cannot COPY): cities → counties →
townships of ~30 people, two routine quarters (one final, one in progress
in varied states), last year's annual outcomes, some appeals and talks.

Written in bulk (COPY on PostgreSQL, executemany elsewhere) as the table
owner, with explicit ids; sequences are moved past them at the end.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import math
import random
from typing import Callable, Iterable, Sequence

from sqlalchemy import text

from ..core.db import utcnow

YEAR = 2026


def _fill(cols, rows: Iterable[dict]) -> Iterable[tuple]:
    """Rows as tuples in column order, with column defaults filled in."""
    now = utcnow()
    defaults = {}
    for c in cols:
        d = c.default
        if d is None:
            defaults[c.name] = None
        elif d.is_callable:
            try:
                defaults[c.name] = d.arg(None)
            except TypeError:
                defaults[c.name] = now
        else:
            defaults[c.name] = d.arg
    for r in rows:
        yield tuple(r[c.name] if c.name in r else defaults[c.name] for c in cols)


def _copy_text(v) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, (dict, list)):
        v = json.dumps(v, ensure_ascii=False)
    elif isinstance(v, (dt.datetime, dt.date)):
        v = v.isoformat()
    return str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def write(conn, table, rows: Iterable[dict]) -> int:
    import itertools

    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    rows = itertools.chain([first], rows)
    columns = [c for c in table.c if c.name != "id" or "id" in first]   # no id given: the sequence numbers
    cols = [c.name for c in columns]
    n = 0
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            with cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as cp:
                buf = io.StringIO()
                for t in _fill(columns, rows):
                    buf.write("\t".join(_copy_text(v) for v in t))
                    buf.write("\n")
                    n += 1
                    if n % 20000 == 0:
                        cp.write(buf.getvalue())
                        buf = io.StringIO()
                cp.write(buf.getvalue())
        return n
    batch: list[dict] = []
    for t in _fill(columns, rows):
        batch.append(dict(zip(cols, t)))
        n += 1
        if len(batch) >= 5000:
            conn.execute(table.insert(), batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
    return n


def _next_id(conn, table: str) -> int:
    return int(conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()) + 1  # noqa: S608


def _bump_sequences(conn, tables: Sequence[str]) -> None:
    if conn.dialect.name != "postgresql":
        return
    for t in tables:
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                          f"(SELECT coalesce(max(id), 1) FROM {t}))"))


def build(conn, people: int, *, code: str = "BENCH", seed: int = 7, log: Callable[[str], None] = print) -> int:
    """Create the province; returns its root id.  ``conn`` is an owner
    connection inside a transaction."""
    from ..annual import models as am
    from ..people.models import Person
    from ..routine import models as rm
    from ..tenancy.models import OrgNode

    rng = random.Random(seed)
    per_unit = 30
    n_units = max(1, math.ceil(people / per_unit))
    per_county = 15
    n_counties = max(1, math.ceil(n_units / per_county))
    n_cities = min(14, n_counties)
    org_id = _next_id(conn, "org_node")
    root = org_id
    nodes = [{"id": root, "root_id": root, "parent_id": None, "path": f"/{root}/", "depth": 0, "kind": "province",
              "code": code, "name": f"{code}省", "name_en": f"{code} province", "is_assessment_unit": False,
              "sort_order": 0, "version": 1}]
    nid = root + 1
    cities, counties, units = [], [], []
    for c in range(n_cities):
        nodes.append({"id": nid, "root_id": root, "parent_id": root, "path": f"/{root}/{nid}/", "depth": 1,
                      "kind": "city", "code": f"{code}-C{c:02d}", "name": f"{c}市", "is_assessment_unit": False,
                      "sort_order": c, "version": 1})
        cities.append(nodes[-1])
        nid += 1
    for k in range(n_counties):
        city = cities[k % n_cities]
        nodes.append({"id": nid, "root_id": root, "parent_id": city["id"], "path": f"{city['path']}{nid}/",
                      "depth": 2, "kind": "county", "code": f"{code}-K{k:04d}", "name": f"{k}县",
                      "is_assessment_unit": False, "sort_order": k, "version": 1})
        counties.append(nodes[-1])
        nid += 1
    for u in range(n_units):
        county = counties[u // per_county]
        nodes.append({"id": nid, "root_id": root, "parent_id": county["id"], "path": f"{county['path']}{nid}/",
                      "depth": 3, "kind": "township", "code": f"{code}-T{u:05d}", "name": f"{u}镇",
                      "is_assessment_unit": True, "sort_order": u, "version": 1})
        units.append(nodes[-1])
        nid += 1
    write(conn, OrgNode.__table__, nodes)
    log(f"  {len(nodes)} org nodes ({n_cities} cities, {n_counties} counties, {n_units} townships)")

    pid = _next_id(conn, "person")
    person_rows = []
    unit_people: list[tuple[int, int]] = []
    for i in range(people):
        u = units[i // per_unit if i // per_unit < n_units else n_units - 1]
        person_rows.append({"id": pid + i, "root_id": root, "org_id": u["id"], "unit_id": u["id"],
                            "staff_no": f"S{i:07d}", "name": f"人员{i}", "position_role": "staff",
                            "rank_group": "staff", "job_category": "general", "active": True, "version": 1})
        unit_people.append((u["id"], pid + i))
    write(conn, Person.__table__, person_rows)
    log(f"  {people} people")
    del person_rows

    # Routine: Q2 final everywhere, Q3 in varied states (5% not opened).
    per_id = _next_id(conn, "routine_period")
    periods = []
    q3_state: dict[int, str] = {}
    period_of: dict[tuple[int, int], int] = {}
    for u in units:
        for seq in (2, 3):
            if seq == 3 and rng.random() < 0.05:
                continue
            state = "final" if seq == 2 else rng.choice(["open", "rating", "rating", "review", "publicised", "final"])
            computed = state in ("review", "publicised", "final")
            starts = dt.date(YEAR, 3 * seq - 2, 1)
            ends = dt.date(YEAR, 3 * seq + 1, 1) - dt.timedelta(days=1)
            periods.append({"id": per_id, "root_id": root, "org_id": u["id"], "year": YEAR, "cycle": "quarter",
                            "seq": seq, "starts_on": starts, "ends_on": ends, "state": state,
                            "computed_at": dt.datetime(YEAR, 3 * seq + 1, 8, tzinfo=dt.timezone.utc) if computed else None,
                            "publicity_from": ends + dt.timedelta(days=10) if state in ("publicised", "final") else None,
                            "publicity_until": ends + dt.timedelta(days=13) if state in ("publicised", "final") else None,
                            "version": 1})
            period_of[(u["id"], seq)] = per_id
            if seq == 3:
                q3_state[u["id"]] = state
            per_id += 1
    write(conn, rm.Period.__table__, periods)
    log(f"  {len(periods)} routine periods")

    def routine_rows():
        for unit_id, person_id in unit_people:
            for seq in (2, 3):
                p = period_of.get((unit_id, seq))
                if p is not None:
                    yield p, seq, unit_id, person_id

    n = write(conn, rm.Participant.__table__, (
        {"root_id": root, "org_id": u, "period_id": p, "person_id": person, "position_role": "staff",
         "scheme_code": "general", "personal": []} for p, seq, u, person in routine_rows()))
    log(f"  {n} participants")
    grades = ("hao", "jiaohao", "yiban", "jiaocha")

    def score_grade():
        s = round(rng.gauss(86, 6), 1)
        g = "hao" if s >= 90 else "jiaohao" if s >= 80 else "yiban" if s >= 60 else "jiaocha"
        return min(s, 100.0), g

    def results():
        for p, seq, u, person in routine_rows():
            if seq == 2 or q3_state.get(u) in ("review", "publicised", "final"):
                s, g = score_grade()
                yield {"root_id": root, "org_id": u, "period_id": p, "person_id": person, "score": s, "grade": g,
                       "breakdown": {}, "flags": []}
    n = write(conn, rm.Result.__table__, results())
    log(f"  {n} routine results")
    t0 = dt.datetime(YEAR, 10, 3, 9, tzinfo=dt.timezone.utc)

    def ratings():
        for i, (p, seq, u, person) in enumerate(routine_rows()):
            if seq == 3 and (q3_state.get(u) != "open") and rng.random() < 0.9:
                yield {"root_id": root, "org_id": u, "period_id": p, "ratee_id": person, "rater_id": person,
                       "rater_kind": "supervisor", "scores": {}, "comment_visible": True,
                       "submitted_at": t0 + dt.timedelta(minutes=i % 5000), "version": 1}
    n = write(conn, rm.Rating.__table__, ratings())
    log(f"  {n} ratings")

    def work_records():
        for p, seq, u, person in routine_rows():
            if seq == 3 and rng.random() < 0.85:
                yield {"root_id": root, "org_id": u, "period_id": p, "person_id": person, "kind": "monthly",
                       "on_date": dt.date(YEAR, 7, 1), "done": "完成本月工作", "comment_visible": True, "version": 1}
    n = write(conn, rm.WorkRecord.__table__, work_records())
    log(f"  {n} work records")

    # Annual: last year's outcomes for everyone, this year's assessments open.
    aid = _next_id(conn, "annual_assessment")
    assess = []
    assess_of: dict[tuple[int, int], int] = {}
    for u in units:
        for year, status in ((YEAR - 1, "filed"), (YEAR, "open")):
            assess.append({"id": aid, "root_id": root, "org_id": u["id"], "year": year, "status": status,
                           "major_contribution": False, "quota": {"all": {"quota": 6, "awarded": 6}} if year < YEAR else None,
                           "version": 1})
            assess_of[(u["id"], year)] = aid
            aid += 1
    write(conn, am.AnnualAssessment.__table__, assess)
    oid = _next_id(conn, "annual_outcome")
    outcomes = []

    def outcome_rows():
        for i, (u, person) in enumerate(unit_people):
            g = "youxiu" if i % per_unit < 6 else ("chenzhi" if rng.random() < 0.97 else "jibenchenzhi")
            yield {"id": oid + i, "root_id": root, "org_id": u, "assessment_id": assess_of[(u, YEAR - 1)],
                   "person_id": person, "year": YEAR - 1, "score": round(rng.gauss(85, 5), 1), "computed_grade": g,
                   "grade": g, "code": {"youxiu": "1", "chenzhi": "2", "jibenchenzhi": "3"}[g], "adjusted": False,
                   "changed_by_appeal": False, "version": 1}
    n = write(conn, am.AnnualOutcome.__table__, outcome_rows())
    log(f"  {n} annual outcomes")
    appeals, talks = [], []
    for j, (u, person) in enumerate(unit_people[:: max(1, people // 200)]):
        appeals.append({"root_id": root, "org_id": u, "outcome_id": oid + j * max(1, people // 200),
                        "person_id": person, "decider_org_id": u, "stage": "review", "grade_appealed": "jibenchenzhi",
                        "grounds": "不服", "filed_on": dt.date(YEAR, 2, 1), "file_by": dt.date(YEAR, 2, 10),
                        "decide_by": dt.date(YEAR, 3, 1) if j % 3 == 0 else dt.date(YEAR, 12, 20),
                        "extended": False, "status": "pending", "version": 1})
        talks.append({"root_id": root, "org_id": u, "year": YEAR, "person_id": person, "kind": "criticism",
                      "reason": "平时考核得分低于60分", "due_on": dt.date(YEAR, 11, 1) if j % 2 else dt.date(YEAR, 12, 31),
                      "version": 1})
    write(conn, am.AnnualAppeal.__table__, appeals)
    write(conn, am.AnnualTalk.__table__, talks)
    log(f"  {len(appeals)} appeals, {len(talks)} talks")
    _bump_sequences(conn, ["org_node", "person", "routine_period", "routine_participant", "routine_result",
                           "routine_rating", "routine_work_record", "annual_assessment", "annual_outcome",
                           "annual_appeal", "annual_talk"])
    if conn.dialect.name == "postgresql":
        for t in ("org_node", "person", "routine_period", "routine_participant", "routine_result", "routine_rating",
                  "routine_work_record", "annual_assessment", "annual_outcome"):
            conn.execute(text(f"ANALYZE {t}"))
    return root
