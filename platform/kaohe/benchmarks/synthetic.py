"""A synthetic province for measurements (``kaohe bench annual``, and the
supervision slice's ``kaohe bench dashboard``).

    from kaohe.benchmarks.synthetic import build_synthetic_province
    info = build_synthetic_province(100_000, "postgresql+psycopg://postgres@127.0.0.1/kaohe_bench", year=2026)

builds, on an already migrated PostgreSQL database and as its owner (a
superuser: the loader turns foreign-key triggers off with
``session_replication_role = replica`` and streams every table with COPY):

* a province → cities → counties → townships (15–60 people each, 3–6
  departments), each township an assessment unit with its annual assessment
  opened;
* people with realistic roles (head, 2–3 deputies, a head per department,
  staff; supervisors wired), 3 % in probation, 1 % on long leave, about 1.5 %
  with sanctions of every kind (this year or last), 0.3 % under
  investigation, 0.2 % refusing;
* four quarterly routine results per person (in the routine slice's
  ``routine_period``/``routine_result`` when that slice is installed, else in
  ``annual_routine_import``), an annual review per person (leader score;
  democratic votes for department heads), organisational grades for 30 % of
  the townships, and one special assessment per county (flood duty, add /
  subtract points) with about 10 % of its people taking part.

Returns {"root_id", "code", "people", "units", "counties", "seconds"}.  The
data is deterministic for a given (n, seed)."""
from __future__ import annotations

import datetime as dt
import io
import json
import random
import time
from contextlib import ExitStack
from ..core.clock import local_today

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程魏苏吕丁任沈姚卢姜崔"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文斌宇浩凯晨琳雪梅婷欣悦瑞博轩涵航峰亮成志海波宁"
SANCTION_KINDS = ["jinggao", "jiguo", "jidaguo", "jiangji", "chezhi", "jiechen", "tiaozheng"]


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://").replace("postgresql+psycopg2://", "postgresql://")


def _val(v) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, (dict, list)):
        v = json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    s = str(v)
    if "\\" in s or "\t" in s or "\n" in s:
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return s


class _Copy:
    """A COPY ... FROM STDIN on its own connection, fed row by row."""

    def __init__(self, stack: ExitStack, url: str, table: str, cols: list[str]):
        import psycopg

        self.conn = stack.enter_context(psycopg.connect(url))
        # SET LOCAL (in the one transaction of the COPY) also reaches Citus workers with this setting.
        self.conn.execute("SET citus.propagate_set_commands = 'local'")
        self.conn.execute("SET LOCAL session_replication_role = replica")
        self.cur = stack.enter_context(self.conn.cursor())
        self.copy = stack.enter_context(self.cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN"))
        self.buf = io.StringIO()
        self.n = 0

    def row(self, *values) -> None:
        self.buf.write("\t".join(_val(v) for v in values))
        self.buf.write("\n")
        self.n += 1
        if self.n % 20000 == 0:
            self.flush()

    def flush(self) -> None:
        self.copy.write(self.buf.getvalue())
        self.buf = io.StringIO()


def _next_ids(conn, table: str, n: int) -> int:
    """Reserve ``n`` ids of ``table``; returns the first."""
    seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,)).fetchone()[0]
    last = conn.execute("SELECT setval(%s, nextval(%s) + %s - 1)", (seq, seq, n)).fetchone()[0]
    return int(last) - n + 1


def _routine_tables(conn) -> bool:
    rows = conn.execute("SELECT table_name, column_name, is_nullable, column_default FROM information_schema.columns "
                        "WHERE table_name IN ('routine_period', 'routine_result')").fetchall()
    if not rows:
        return False
    known = {"routine_period": {"id", "root_id", "org_id", "year", "cycle", "seq", "starts_on", "ends_on", "state",
                                "created_at", "version"},
             "routine_result": {"id", "root_id", "org_id", "period_id", "person_id", "score", "grade", "breakdown",
                                "flags", "computed_at"}}
    for table, col, nullable, default in rows:
        if nullable == "NO" and default is None and col not in known[table]:
            return False     # a schema this builder does not know: use the annual import table instead
    return True


def build_synthetic_province(n: int, db_url: str, *, year: int | None = None, seed: int = 7,
                             code: str | None = None, log=None) -> dict:
    import psycopg

    t0 = time.perf_counter()
    year = year or local_today().year
    rng = random.Random(seed * 1_000_003 + n)
    url = _libpq(db_url)
    code = code or f"BENCH{n}"
    now = dt.datetime.now(dt.timezone.utc)
    # The shape first (how many of each), so ids can be reserved in blocks.
    sizes = []
    total = 0
    while total < n:
        s = min(rng.randint(15, 60), n - total) if n - total >= 15 else n - total
        sizes.append(s)
        total += s
    townships = len(sizes)
    counties = max(1, round(townships / 12))
    cities = max(1, round(counties / 8))
    depts = [rng.randint(3, 6) for _ in sizes]
    n_nodes = 1 + cities + counties + townships + sum(depts)
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM org_node WHERE parent_id IS NULL AND code = %s", (code,)).fetchone():
            raise ValueError(f"a province with code {code} exists already")
        node_id = _next_ids(conn, "org_node", n_nodes)
        person_id = _next_ids(conn, "person", n)
        assess_id = _next_ids(conn, "annual_assessment", townships)
        use_routine = _routine_tables(conn)
        period_id = _next_ids(conn, "routine_period", townships * 4) if use_routine else 0
        camp_id = _next_ids(conn, "special_campaign", counties)
        has_orgperf = conn.execute("SELECT to_regclass('org_performance_grade')").fetchone()[0] is not None
    root = node_id
    with ExitStack() as stack:
        nodes = _Copy(stack, url, "org_node", ["id", "root_id", "parent_id", "path", "depth", "kind", "code", "name",
                                               "name_en", "is_assessment_unit", "sort_order", "created_at", "version"])
        people = _Copy(stack, url, "person", ["id", "root_id", "org_id", "unit_id", "staff_no", "name", "gender", "post",
                                              "rank_group", "job_category", "position_role", "hire_date",
                                              "probation_end", "supervisor_id", "active", "created_at", "version"])
        assess = _Copy(stack, url, "annual_assessment", ["id", "root_id", "org_id", "year", "status",
                                                         "major_contribution", "created_at", "version"])
        reviews = _Copy(stack, url, "annual_review", ["root_id", "org_id", "assessment_id", "person_id",
                                                      "leader_score", "votes_youxiu", "votes_chenzhi",
                                                      "votes_jibenchenzhi", "votes_buchenzhi", "updated_at",
                                                      "version"])
        records = _Copy(stack, url, "annual_record", ["root_id", "org_id", "person_id", "kind", "year",
                                                      "sanction_kind", "start_date", "end_date", "days", "created_at",
                                                      "version"])
        camps = _Copy(stack, url, "special_campaign", ["id", "root_id", "org_id", "year", "name", "kind",
                                                       "result_type", "starts_on", "ends_on", "status", "created_at",
                                                       "version"])
        specials = _Copy(stack, url, "special_result", ["root_id", "org_id", "campaign_id", "person_id", "year",
                                                        "points", "version"])
        if use_routine:
            periods = _Copy(stack, url, "routine_period", ["id", "root_id", "org_id", "year", "cycle", "seq",
                                                           "starts_on", "ends_on", "state", "created_at", "version"])
            results = _Copy(stack, url, "routine_result", ["root_id", "org_id", "period_id", "person_id", "score",
                                                           "grade", "breakdown", "flags", "computed_at"])
        else:
            results = _Copy(stack, url, "annual_routine_import", ["root_id", "org_id", "person_id", "year",
                                                                  "period_no", "score", "grade"])
        grades = _Copy(stack, url, "org_performance_grade", ["root_id", "org_id", "year", "grade",
                                                             "major_contribution", "graded_at", "version"]) \
            if has_orgperf else None

        nxt = [node_id]

        def node(parent, parent_path, depth, kind, ncode, name, unit=False):
            nid = nxt[0]
            nxt[0] += 1
            path = f"{parent_path}{nid}/"
            nodes.row(nid, root, parent, path, depth, kind, ncode, name, None, unit, 0, now, 1)
            return nid, path

        _, root_path = node(None, "/", 0, "province", code, f"合成省{n}")
        city_nodes = [node(root, root_path, 1, "city", f"{code}-C{i}", f"第{i}市") for i in range(cities)]
        county_nodes = [node(city_nodes[i % cities][0], city_nodes[i % cities][1], 2, "county", f"{code}-K{i}",
                             f"第{i}县") for i in range(counties)]
        for k, (kid, _kp) in enumerate(county_nodes):
            camps.row(camp_id + k, root, kid, year, "防汛值守", "flood", "points", dt.date(year, 6, 1),
                      dt.date(year, 9, 30), "closed", now, 1)
        qdays = [(dt.date(year, 1, 1), dt.date(year, 3, 31)), (dt.date(year, 4, 1), dt.date(year, 6, 30)),
                 (dt.date(year, 7, 1), dt.date(year, 9, 30)), (dt.date(year, 10, 1), dt.date(year, 12, 31))]
        pid = person_id
        for t, size in enumerate(sizes):
            k = t % counties
            kid, kpath = county_nodes[k]
            uid, upath = node(kid, kpath, 3, "township", f"{code}-T{t}", f"第{t}镇", True)
            dids = [node(uid, upath, 4, "department", f"{code}-T{t}-D{d}", f"第{d}科")[0] for d in range(depts[t])]
            aid = assess_id + t
            assess.row(aid, root, uid, year, "open", False, now, 1)
            if grades is not None and rng.random() < 0.3:
                grades.row(root, uid, year, rng.choice(["youxiu", "lianghao", "lianghao", "yiban", "jiaocha"]),
                           rng.random() < 0.05, now, 1)
            if use_routine:
                for q in range(4):
                    periods.row(period_id + t * 4 + q, root, uid, year, "quarter", q + 1, qdays[q][0], qdays[q][1],
                                "final", now, 1)
            head = pid
            n_dep = min(rng.randint(2, 3), max(0, size - 1))
            roles = ["head"] + ["deputy"] * n_dep
            heads_needed = min(len(dids), size - len(roles))
            roles += ["dept_head"] * heads_needed
            roles += ["staff"] * (size - len(roles))
            dept_heads = {}
            for i, role in enumerate(roles):
                p = pid + i
                if role in ("head", "deputy"):
                    org, sup, rank = uid, (None if role == "head" else head), "leader"
                elif role == "dept_head":
                    d = dids[len(dept_heads)]
                    dept_heads[d] = p
                    org, sup, rank = d, head + 1 + (len(dept_heads) % max(1, n_dep)) if n_dep else head, "staff"
                else:
                    org = dids[i % len(dids)] if dids else uid
                    sup, rank = dept_heads.get(org, head), "staff"
                r = rng.random()
                hire = dt.date(year - rng.randint(1, 30), rng.randint(1, 12), 1)
                prob_end = None
                if r < 0.03:
                    hire = dt.date(year, rng.randint(3, 12), 1)
                    prob_end = dt.date(year + 1, hire.month, 1)
                people.row(p, root, org, uid, f"{t}-{i}", rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                           rng.choice("MF"), None, rank, "general", role, hire, prob_end, sup, True, now, 1)
                base = rng.gauss(84, 6)
                scores = []
                for q in range(4):
                    s = round(min(100.0, max(40.0, rng.gauss(base, 4))), 1)
                    g = "hao" if s >= 90 else "jiaohao" if s >= 80 else "yiban" if s >= 60 else "jiaocha"
                    scores.append(s)
                    if use_routine:
                        results.row(root, org, period_id + t * 4 + q, p, s, g, {}, [], now)
                    else:
                        results.row(root, uid, p, year, q + 1, s, g)
                votes = (rng.randint(5, 20), rng.randint(5, 20), rng.randint(0, 3), rng.randint(0, 1)) \
                    if role == "dept_head" else (0, 0, 0, 0)
                reviews.row(root, uid, aid, p, round(min(100.0, max(40.0, rng.gauss(base, 5))), 1), *votes, now, 1)
                if rng.random() < 0.10:
                    specials.row(root, kid, camp_id + k, p, year, rng.choice([-5, 5, 10, 10, 15, 20]), 1)
                x = rng.random()
                if x < 0.01:
                    records.row(root, uid, p, "leave", year, None, dt.date(year, 2, 1), None, rng.randint(184, 300), now, 1)
                elif x < 0.025:
                    records.row(root, uid, p, "sanction", year - rng.randint(0, 1), rng.choice(SANCTION_KINDS),
                                None, None, None, now, 1)
                elif x < 0.028:
                    records.row(root, uid, p, "investigation", year, None, dt.date(year, 5, 1),
                                None if rng.random() < 0.7 else dt.date(year + 1, 1, 20), None, now, 1)
                elif x < 0.030:
                    records.row(root, uid, p, "refusal", year, None, None, None, None, now, 1)
            pid += size
        copies = [nodes, people, assess, reviews, records, camps, specials, results] + \
                 ([periods] if use_routine else []) + ([grades] if grades is not None else [])
        for c in copies:
            c.flush()
    # all COPYs committed when their connections closed (ExitStack)
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("org_node", "person", "annual_assessment", "annual_review", "annual_record", "special_result",
                      "routine_result" if use_routine else "annual_routine_import"):
            conn.execute(f"ANALYZE {table}")
    info = {"root_id": root, "code": code, "people": n, "units": townships, "counties": counties,
            "routine_in": "routine_result" if use_routine else "annual_routine_import",
            "seconds": round(time.perf_counter() - t0, 1)}
    if log:
        log(f"built {code}: {n} people in {townships} townships, {counties} counties ({info['seconds']}s)")
    return info
