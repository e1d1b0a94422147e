"""`kaohe bench roster`: the Excel roster import of one assessment unit,
measured in two phases — upload + check (the per-row report) and the import
— both run in-process as the slice's own jobs.  Reported, never asserted.

The workbook is generated in memory in the template's format, from the
column definitions in ``people.roster_format`` (so it stays in step with the checker):
a head and deputies directly in the unit, a head and staff per department,
supervisor links (staff → their department head → the deputy in charge →
the head) and a charges sheet (分管)."""
from __future__ import annotations

import datetime as dt
import gc
import io
import os
import random
import time
import tracemalloc
from collections import Counter

import click
from flask import current_app
from flask.cli import with_appcontext

from .annual import peak_rss_mb
from ..core.terminal import one_line_errors

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
            "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国文辉鹏飞宇浩然欣怡子涵俊杰晓东海燕红梅志强"
         "春梅丹凤晨阳思远嘉怡雨轩佳琪梓萱博文天佑立新永红金凤德明春生玉珍淑芬秋菊")
DEPARTMENTS = ("党政综合办公室", "党建工作办公室", "经济发展办公室", "社会事务办公室", "综合行政执法队", "财政所",
               "农业农村综合服务中心", "便民服务中心", "退役军人服务站", "自然资源所", "应急管理办公室",
               "社会治安综合治理中心", "文化综合服务站", "司法所", "林业工作站", "水利站", "社会保障服务中心",
               "规划建设办公室", "生态环境办公室", "人大办公室")
STAFF_POSTS = ("科员", "专干", "办事员", "统计员", "信息员", "文书", "会计", "出纳", "网格员", "技术员")


def _choice_spelling(col, code: str) -> str:
    """How a clerk writes an enum value: its first (Chinese) spelling."""
    return col.choices[code][0]


def generate_workbook(rows: int, departments: list[tuple[str, str]], *, seed: int = 20261201) -> tuple[bytes, dict]:
    """An xlsx of ``rows`` valid people rows for a unit with ``departments``
    [(code, name)], in the template's format (openpyxl write-only)."""
    from openpyxl import Workbook

    from ..people import roster_format

    rnd = random.Random(seed)
    cols = {c.key: c for c in roster_format.PEOPLE_COLUMNS}
    width = max(5, len(str(rows)))
    n_deps = len(departments)
    n_deputies = max(1, min(4, (rows - 1 - n_deps) // 25 or 1))
    if rows < 1 + n_deputies + n_deps:
        raise click.ClickException(f"--rows must be at least {1 + n_deputies + n_deps} for {n_deps} departments "
                                   "(a head, a deputy and a head per department)")

    def name() -> str:
        return rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2, 2))))

    def hire(start_year: int) -> tuple[dt.date, dt.date | None]:
        first = dt.date(start_year, 1, 1)
        d = first + dt.timedelta(days=rnd.randrange((dt.date(2026, 9, 1) - first).days))
        probation = dt.date(d.year + 1, d.month, min(d.day, 28)) if d >= dt.date(2025, 9, 1) else None
        return d, probation

    def person(staff_no, role, rank, dept, post, sup, start_year, category="general"):
        h, p = hire(start_year)
        v = {"staff_no": staff_no, "name": name(), "gender": _choice_spelling(cols["gender"], rnd.choice("MMF")),
             "dept_code": dept[0] if dept else None, "dept_name": dept[1] if dept else None, "post": post,
             "rank_group": _choice_spelling(cols["rank_group"], rank),
             "job_category": _choice_spelling(cols["job_category"], category),
             "position_role": _choice_spelling(cols["position_role"], role), "hire_date": h, "probation_end": p,
             "supervisor_staff_no": sup}
        return [v.get(c.key) for c in roster_format.PEOPLE_COLUMNS]

    seq = iter(range(1, rows + 1))
    no = lambda: f"S{next(seq):0{width}d}"   # noqa: E731
    head = no()
    deputies = [no() for _ in range(n_deputies)]
    dept_heads = [no() for _ in departments]
    out_rows = [person(head, "head", "leader", None, "党委书记", None, 1995)]
    out_rows += [person(d, "deputy", "leader", None, "副镇长" if i else "镇长", head, 1998)
                 for i, d in enumerate(deputies)]
    charges = [(deputies[i % n_deputies], dept) for i, dept in enumerate(departments)]
    by_dept: list[list] = [[] for _ in departments]
    for i, (dept, dh) in enumerate(zip(departments, dept_heads)):
        by_dept[i].append(person(dh, "dept_head", "staff", dept, f"{dept[1]}主任", charges[i][0], 2000))
    for _ in range(rows - len(out_rows) - len(dept_heads)):
        i = rnd.randrange(n_deps)
        dept = departments[i]
        category = "service_window" if "便民" in dept[1] else "general"
        by_dept[i].append(person(no(), "staff", "staff", dept, f"{dept[1]}{rnd.choice(STAFF_POSTS)}", dept_heads[i],
                                 2003, category))
    for block in by_dept:        # a roster is usually laid out department by department
        out_rows.extend(block)

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(" ".join(roster_format.PEOPLE_SHEET))
    ws.append([c.header for c in roster_format.PEOPLE_COLUMNS])
    for r in out_rows:
        ws.append(r)
    ch = wb.create_sheet(" ".join(roster_format.CHARGE_SHEET))
    ch.append([c.header for c in roster_format.CHARGE_COLUMNS])
    for leader, (code, dname) in charges:
        ch.append([{"leader_staff_no": leader, "dept_code": code, "dept_name": dname}.get(c.key)
                   for c in roster_format.CHARGE_COLUMNS])
    notes = wb.create_sheet(" ".join(roster_format.NOTES_SHEET))
    notes.append(["基准测试名册", "Benchmark roster"])
    for code, dname in departments:
        notes.append([code, dname])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), {"people": len(out_rows), "charges": len(charges), "deputies": n_deputies}


class StatementCounter:
    """Counts what reaches the DB-API cursor (one executemany = one)."""

    def __init__(self, engine, main_connection):
        self.engine, self.main = engine, main_connection
        self.verbs: Counter = Counter()
        self.executemany = 0
        self.param_sets = 0
        self.other = 0          # on other connections (the jobs' separate progress transactions)

    def __enter__(self):
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._on)

    def _on(self, conn, cursor, statement, parameters, context, executemany):
        if conn is not self.main:
            self.other += 1
            return
        self.verbs[(statement.lstrip().split(None, 1) or ["?"])[0].upper()] += 1
        if executemany:
            self.executemany += 1
            self.param_sets += len(parameters) if hasattr(parameters, "__len__") else 0

    @property
    def total(self) -> int:
        return sum(self.verbs.values())

    def line(self) -> str:
        verbs = ", ".join(f"{v} {n}" for v, n in sorted(self.verbs.items(), key=lambda kv: -kv[1]))
        extra = f"; +{self.other} progress updates in their own transactions" if self.other else ""
        return (f"{self.total} statements ({verbs}); {self.executemany} of them executemany "
                f"carrying {self.param_sets} parameter sets{extra}")


def _run_job_inline(kind: str, *, unit, scope, import_id: int):
    """The job function as the runner calls it (same scope, actor and
    progress), but without the runner's commits: the caller rolls back."""
    from ..audit.service import current_actor
    from ..extensions import db
    from ..jobs import queue
    from ..tenancy.scope import apply_scope

    job_row = queue.create_job(kind, root_id=unit.root_id, org_id=unit.id, scope=scope,
                               params={"import_id": import_id})
    job_id = job_row.id
    run_scope = queue.scope_of(unit.root_id, list(job_row.scope_paths))
    apply_scope(run_scope)
    ctx = queue.JobContext(job_id=job_id, scope=run_scope, actor=current_actor(),
                           separate_progress=db.engine.dialect.name != "sqlite")
    try:
        return job_id, queue.JOB_FUNCS[kind](ctx, **job_row.params) or {}
    finally:
        queue._live_progress.pop(job_id, None)


@click.command("roster")
@click.option("--rows", default=10_000, show_default=True, type=click.IntRange(1), help="People rows in the workbook.")
@click.option("--departments", default=10, show_default=True, type=click.IntRange(1, 500),
              help="Departments of the throw-away township.")
@click.option("--trace/--no-trace", default=True, show_default=True,
              help="Also run the check once more under tracemalloc for its Python allocation peak "
                   "(a separate pass, about 5x slower; not in the timings).")
@with_appcontext
@one_line_errors
def bench_roster(rows, departments, trace):
    """Time the roster import of one unit: upload + check, then the import.

    Runs in the database the app is configured with (KAOHE_DATABASE_URL;
    SQLite by default).  A throw-away province → county → township with the
    departments is built, the generated workbook is uploaded and checked by
    the `people.roster_check` job and imported by the `people.roster_import`
    job, both called in-process under the scope a job gets — all in ONE
    transaction that is rolled back at the end, so nothing is kept and it can
    run any number of times (the audit log is append-only, so committed rows
    could not be removed).  Hence the runner's two commits per job, and the
    final COMMIT of the imported rows, are not in the figures."""
    from ..audit.service import Actor, reset_actor, set_actor
    from ..extensions import db
    from ..tenancy import service as org_service
    from ..tenancy.scope import Scope, apply_scope
    from ..people import roster_check, roster_format, roster_service
    from ..people.models import RosterImport

    limit = roster_service.max_rows()
    if rows > limit:
        raise click.ClickException(f"--rows {rows} is above the upload limit of {limit} rows (KAOHE_ROSTER_MAX_ROWS)")
    session = db.session()
    backend = db.engine.dialect.name
    rss0 = peak_rss_mb()
    apply_scope(Scope.system("bench-roster"))
    token = set_actor(Actor(None, "bench-roster"))
    try:
        tag = str(int(time.time() * 1000))[-8:]
        prov = org_service.create_province(code=f"BENCHR{tag}", name="基准测试省（名册）")
        county = org_service.create_child(prov, kind="county", code=f"BR{tag}-C", name="基准测试县")
        unit = org_service.create_child(county, kind="township", code=f"BR{tag}-T", name="基准测试镇",
                                        is_assessment_unit=True)
        names = list(DEPARTMENTS) + [f"第{i}办公室" for i in range(len(DEPARTMENTS) + 1, departments + 1)]
        depts = []
        for i in range(departments):
            d = org_service.create_child(unit, kind="department", code=f"BR{tag}-D{i + 1:02d}", name=names[i],
                                         sort_order=i)
            depts.append((d.code, d.name))
        session.flush()
        unit_scope = Scope.for_paths(prov.id, [unit.path], label="bench-roster unit admin")

        t0 = time.perf_counter()
        data, shape = generate_workbook(rows, depts)
        t_gen = time.perf_counter() - t0
        rss_gen = peak_rss_mb()
        max_upload = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        click.echo(f"roster import on {backend}: {shape['people']} people rows ({shape['deputies']} deputies, "
                   f"{departments} departments, {shape['charges']} charges), xlsx {len(data) / 1024:.0f} KiB "
                   f"(upload limit {max_upload / 1048576:.0f} MiB), generated in {t_gen:.2f} s "
                   f"(peak RSS {rss0:.0f} MB at start, {rss_gen:.0f} MB after generating); "
                   f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

        # (a) upload + check: keep the file, then the check job (the per-row report).
        gc.collect()
        session.expire_all()
        apply_scope(unit_scope)
        main = session.connection()
        with StatementCounter(db.engine, main) as check_sql:
            t0 = time.perf_counter()
            imp = roster_service.upload(unit, filename="bench-roster.xlsx", data=data)
            imp_id = imp.id
            session.expire_all()          # the job reads the stored file back, as a worker would
            _job, res = _run_job_inline("people.roster_check", unit=unit, scope=unit_scope, import_id=imp_id)
            t_check = time.perf_counter() - t0
        rss_check = peak_rss_mb()
        if res.get("errors") or res.get("status") != "valid":
            imp = session.get(RosterImport, imp_id)
            first = [roster_format.message(p) for p in (imp.errors or [])[:3]]
            raise click.ClickException(f"the generated workbook did not check clean ({res.get('message')}): {first}")
        click.echo(f"  upload + check (people.roster_check job)  {t_check:8.2f} s  {rows / t_check:9,.0f} rows/s  "
                   f"peak RSS {rss_check:.0f} MB")
        click.echo(f"    check SQL: {check_sql.line()}")

        if trace:
            ctx = roster_service.unit_context(unit)
            gc.collect()
            tracemalloc.start()
            t0 = time.perf_counter()
            report = roster_check.check_workbook(data, ctx)
            t_traced = time.perf_counter() - t0
            _cur, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            click.echo(f"  check alone under tracemalloc             {t_traced:8.2f} s  Python allocation peak "
                       f"{peak / 1048576:.1f} MB ({report.rows_total} rows, {report.error_count} problems)")

        # (b) the import: the people.roster_import job (re-checks, then writes).
        gc.collect()
        session.expire_all()
        imp = session.get(RosterImport, imp_id)
        imp.status = "importing"          # what start_apply does before dispatching
        session.flush()
        session.expire_all()
        main = session.connection()
        with StatementCounter(db.engine, main) as import_sql:
            t0 = time.perf_counter()
            _job, res = _run_job_inline("people.roster_import", unit=unit, scope=unit_scope, import_id=imp_id)
            t_import = time.perf_counter() - t0
        rss_import = peak_rss_mb()
        if res.get("status") != "imported" or res.get("created") != rows:
            raise click.ClickException(f"the import did not go through: {res.get('message')}")
        click.echo(f"  import (people.roster_import job)         {t_import:8.2f} s  {rows / t_import:9,.0f} rows/s  "
                   f"peak RSS {rss_import:.0f} MB  ({res['created']} created, "
                   f"{res['supervisors_changed']} supervisor links, {res['charges_added']} charges; "
                   "the job re-checks the file first)")
        click.echo(f"    import SQL: {import_sql.line()}")
        click.echo(f"  upload + check + import                   {t_check + t_import:8.2f} s  "
                   f"{rows / (t_check + t_import):9,.0f} rows/s  (rolled back: nothing kept)")
    finally:
        session.rollback()
        apply_scope(Scope())
        reset_actor(token)
