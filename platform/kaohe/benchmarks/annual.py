"""`kaohe bench annual --people N`: the full annual computation of a
synthetic province on PostgreSQL against its floor (PostgreSQL COPYing the
same inputs out and the same number of result rows in), at N/100, N/10 and N.
Reported, never asserted."""
from __future__ import annotations

import os
import resource
import tempfile
import time

import click
from sqlalchemy.engine import make_url

from ..core.clock import local_today


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _floor(app_url: str, owner_url: str, scope_params: dict, root_id: int, year: int, routine_in: str,
           run_ids_sql: str) -> tuple[float, int]:
    """Seconds PostgreSQL needs to COPY the computation's inputs out (as the
    app role, under the same scope, so RLS costs the same) and the same
    number of result rows into a table shaped like annual_result."""
    import psycopg

    from ..annual.engine import RESULT_COLUMNS
    from .floor import on_citus, signed_scope
    from .synthetic import _libpq

    if routine_in == "routine_result":
        routine_q = (f"SELECT rr.person_id, rp.seq, rr.score, rr.grade FROM routine_result rr JOIN routine_period rp "
                     f"ON rp.id = rr.period_id AND rp.root_id = rr.root_id WHERE rp.root_id = {root_id} "
                     f"AND rp.year = {year}")
    else:
        routine_q = (f"SELECT person_id, period_no, score, grade FROM annual_routine_import WHERE root_id = {root_id} "
                     f"AND year = {year}")
    inputs = [
        f"SELECT id, unit_id, rank_group, hire_date, probation_end, supervisor_id FROM person WHERE root_id = {root_id} AND active",
        routine_q,
        f"SELECT person_id, leader_score, votes_youxiu, votes_chenzhi, votes_jibenchenzhi, votes_buchenzhi "
        f"FROM annual_review WHERE root_id = {root_id}",
        f"SELECT sr.person_id, sc.result_type, sr.grade, sr.points, sr.score FROM special_result sr JOIN special_campaign sc "
        f"ON sc.id = sr.campaign_id AND sc.root_id = sr.root_id WHERE sr.root_id = {root_id} AND sr.year = {year}",
        f"SELECT person_id, kind, year, sanction_kind, start_date, end_date, days FROM annual_record "
        f"WHERE root_id = {root_id} AND year IN ({year - 1}, {year})",
    ]
    cols = ", ".join(RESULT_COLUMNS)
    fd, path = tempfile.mkstemp(prefix="kaohe-floor-", suffix=".copy")
    os.close(fd)
    try:
        with psycopg.connect(_libpq(owner_url), autocommit=True) as own:
            with open(path, "wb") as f, own.cursor().copy(
                    f"COPY (SELECT {cols} FROM annual_result WHERE run_id IN ({run_ids_sql})) TO STDOUT") as cp:
                for chunk in cp:
                    f.write(chunk)
            own.execute("DROP TABLE IF EXISTS bench_floor_result")
            own.execute("CREATE TABLE bench_floor_result (LIKE annual_result INCLUDING DEFAULTS INCLUDING INDEXES)")
            own.execute("CREATE SEQUENCE IF NOT EXISTS bench_floor_seq")
            own.execute("ALTER TABLE bench_floor_result ALTER COLUMN id SET DEFAULT nextval('bench_floor_seq')")
            citus = on_citus(own)
            if citus:
                # On the same worker as the province's results (co-located), so the floor's rows cross
                # the same coordinator → worker path as the computation's; a plain table would stay on
                # the coordinator and make the floor a local write.
                own.execute("SELECT create_distributed_table('bench_floor_result', 'root_id', "
                            "colocate_with => 'annual_result')")
        t0 = time.perf_counter()
        with psycopg.connect(_libpq(app_url)) as conn:
            from ..core import scopesig
            from ..tenancy.scope import Scope

            # The province's signed scope, as the app sends it (bound to this connection on plain PostgreSQL).
            signed = signed_scope(scope_params["key"], Scope.province(scope_params["root_id"]), conn, citus)
            conn.execute(scopesig.set_local_sql(signed))
            for q in inputs:
                with conn.cursor().copy(f"COPY ({q}) TO STDOUT") as cp:
                    for _chunk in cp:
                        pass
            conn.commit()
        t_out = time.perf_counter() - t0
        with psycopg.connect(_libpq(owner_url)) as own:
            t1 = time.perf_counter()
            with open(path, "rb") as f, own.cursor().copy(f"COPY bench_floor_result ({cols}) FROM STDIN") as cp:
                while True:
                    data = f.read(1 << 20)
                    if not data:
                        break
                    cp.write(data)
            own.commit()
            t_in = time.perf_counter() - t1
            n = own.execute("SELECT count(*) FROM bench_floor_result").fetchone()[0]
            own.execute("DROP TABLE bench_floor_result")
            own.commit()
        return t_out + t_in, int(n)
    finally:
        os.unlink(path)


def _compute_child(cfg: dict, root_id: int, year: int, barrier, out_q) -> None:
    """One province's annual computation in its own process (its own app,
    connections and GIL), started together with the others at ``barrier``;
    puts (root_id, start, end, people) on ``out_q``."""
    from sqlalchemy import text

    from .. import create_app
    from ..annual import engine
    from ..audit.service import Actor, set_actor
    from ..extensions import db
    from ..tenancy.models import OrgNode
    from ..tenancy.scope import Scope, apply_scope

    app = create_app(cfg)
    with app.app_context():
        db.session.execute(text("SELECT 1"))   # connected before the clock starts
        db.session.rollback()
        barrier.wait()
        apply_scope(Scope.province(root_id, label="bench"))
        set_actor(Actor(None, "bench"))
        t0 = time.time()
        root = db.session.get(OrgNode, root_id)
        out = engine.compute(engine.units_under(root), year, actor="bench", chunk_units=400, pipelined=True)
        db.session.commit()
        t1 = time.time()
        db.session.remove()
        db.engine.dispose()
    out_q.put((root_id, t0, t1, out["people"]))


def compute_together(cfg: dict, root_ids: list[int], year: int) -> dict[int, tuple[float, float, int]]:
    """Compute the provinces ``root_ids`` at the same moment, one process each.
    Returns {root_id: (start, end, people)} (wall-clock seconds)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, out_q = ctx.Barrier(len(root_ids)), ctx.Queue()
    procs = [ctx.Process(target=_compute_child, args=(cfg, r, year, barrier, out_q)) for r in root_ids]
    for p in procs:
        p.start()
    got = {}
    for _ in procs:
        r, t0, t1, people = out_q.get(timeout=6 * 3600)
        got[r] = (t0, t1, people)
    for p in procs:
        p.join()
        if p.exitcode:
            raise click.ClickException(f"a computation process failed (exit {p.exitcode})")
    return got


def province_worker(conn, root_id: int) -> tuple[int, str]:
    """(shard id, "host:port") of the worker holding a province's rows (its ``person`` shard)."""
    from sqlalchemy import text

    return tuple(conn.execute(text(
        "SELECT s.shardid, s.nodename || ':' || s.nodeport FROM citus_shards s "
        "WHERE s.table_name = 'person'::regclass "
        "AND s.shardid = get_shard_id_for_distribution_column('person', :r)"), {"r": root_id}).one())


def spread_provinces(owner_url: str, root_ids: list[int], echo) -> dict[int, str]:
    """Give each province a shard group of its own (``isolate_tenant_to_new_shard``,
    CASCADE: every co-located table) and put them on different workers
    (``citus_move_shard_placement``), echoing each command and its time.
    Returns {root_id: "host:port"}."""
    from sqlalchemy import create_engine, text

    eng = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            workers = [f"{h}:{p}" for h, p in c.execute(text(
                "SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 AND isactive "
                "AND noderole = 'primary' ORDER BY nodeid")).all()]
            where = {}
            for r in root_ids:
                shard, node = province_worker(c, r)
                if c.execute(text("SELECT shardminvalue <> shardmaxvalue FROM pg_dist_shard WHERE shardid = :s"),
                             {"s": shard}).scalar():   # the shard holds a hash range, not this province alone
                    sql = f"SELECT isolate_tenant_to_new_shard('person', {int(r)}, 'CASCADE', shard_transfer_mode => 'block_writes')"
                    t0 = time.perf_counter()
                    c.execute(text(sql))
                    echo(f"  {sql}  -- {time.perf_counter() - t0:.1f}s")
                    shard, node = province_worker(c, r)
                where[r] = (shard, node)
            used: set[str] = set()
            for r in root_ids:
                shard, node = where[r]
                if node in used:
                    free = [w for w in workers if w not in used]
                    if not free:
                        break
                    (sh, sp), (th, tp) = node.rsplit(":", 1), free[0].rsplit(":", 1)
                    sql = (f"SELECT citus_move_shard_placement({shard}, '{sh}', {sp}, '{th}', {tp}, "
                           f"shard_transfer_mode => 'block_writes')")
                    t0 = time.perf_counter()
                    c.execute(text(sql))
                    echo(f"  {sql}  -- {time.perf_counter() - t0:.1f}s")
                    shard, node = province_worker(c, r)
                    where[r] = (shard, node)
                used.add(node)
            return {r: node for r, (shard, node) in where.items()}
    finally:
        eng.dispose()


def run_pair(app, cfg: dict, owner_url: str, admin_url: str, n: int, year: int, citus: bool, echo) -> None:
    """Two provinces of ``n`` people: each computed alone, then both at once
    (on different workers on Citus).  Does the computation scale with workers?"""
    from .synthetic import build_synthetic_province

    roots = []
    for tag in ("A", "B"):
        info = build_synthetic_province(n, admin_url, year=year, code=f"PAIR{tag}{n}")
        echo(f"province PAIR{tag}{n} (root {info['root_id']}): {info['people']} people, {info['units']} units, "
             f"built in {info['seconds']}s")
        roots.append(info["root_id"])
    if citus:
        where = spread_provinces(owner_url, roots, echo)
        for r in roots:
            echo(f"  root {r} on worker {where[r]}")
    with app.app_context():
        from ..extensions import db

        db.engine.dispose()
    alone = {}
    for r in roots:
        t0, t1, people = compute_together(cfg, [r], year)[r]
        alone[r] = t1 - t0
        echo(f"alone:   root {r}: {t1 - t0:.2f}s ({people} results)  load {os.getloadavg()[0]:.2f}")
    both = compute_together(cfg, roots, year)
    start, end = min(v[0] for v in both.values()), max(v[1] for v in both.values())
    for r in roots:
        echo(f"at once: root {r}: {both[r][1] - both[r][0]:.2f}s ({both[r][2]} results)")
    seq = sum(alone.values())
    echo(f"one at a time {seq:.2f}s, both at once {end - start:.2f}s wall → {seq / (end - start):.2f}x "
         f"throughput (2.00 = scales with workers); load {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")


@click.command("annual")
@click.option("--people", "n", type=int, default=100_000, show_default=True, help="People in the largest province.")
@click.option("--levels/--no-levels", default=True, show_default=True, help="Also measure N/100 and N/10.")
@click.option("--database", default="kaohe_bench_annual", show_default=True,
              help="PostgreSQL database to (re)create for the measurement.")
@click.option("--year", type=int, default=None, help="Assessment year (default: this year).")
@click.option("--keep", is_flag=True, help="Keep the database afterwards (e.g. for `kaohe bench dashboard`).")
@click.option("--database-url", default=None, help="Superuser URL of an existing empty database to use instead "
              "(e.g. on a Citus coordinator: python -m kaohe.testing.citus_cluster create NAME); kept afterwards.")
@click.option("--pair", is_flag=True, help="Instead: two provinces of --people each, computed one at a time and "
              "then both at once (on Citus each first isolated to its own shard and placed on its own worker).")
def bench_annual(n, levels, database, year, keep, database_url, pair):
    """Time the annual computation of a synthetic province against the floor."""
    from .. import create_app
    from ..audit.service import Actor, reset_actor, set_actor
    from ..extensions import db
    from ..tenancy.models import OrgNode
    from ..tenancy.scope import Scope, apply_scope
    from ..testing import databases
    from ..annual import engine
    from .synthetic import build_synthetic_province

    if n < 100:
        raise click.ClickException("--people must be at least 100")
    year = year or local_today().year
    try:
        owner_url, app_url = databases.existing_or_new(database_url, database)
    except databases.PgUnavailable as exc:
        raise click.ClickException(str(exc))
    keep = keep or bool(database_url)
    cfg = {"SQLALCHEMY_DATABASE_URI": app_url, "KAOHE_MIGRATE_DATABASE_URL": owner_url, "KAOHE_JOBS_MODE": "sync",
           "SECRET_KEY": "bench", "INSTANCE_PATH": tempfile.mkdtemp(prefix="kaohe-bench-")}
    app = create_app(cfg)
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(revision="heads")
    if database_url:
        placed = app.test_cli_runner().invoke(args=["db", "distribute", "--database-url", owner_url])
        click.echo(placed.output.strip().splitlines()[-1])
    if pair:
        from .floor import on_citus
        import psycopg

        with psycopg.connect("postgresql://" + owner_url.split("://", 1)[1]) as c:
            citus = on_citus(c)
        try:
            run_pair(app, cfg, owner_url, database_url or databases.admin_url_for(owner_url), n, year, citus,
                     click.echo)
        finally:
            if not keep:
                with app.app_context():
                    db.engine.dispose()
                databases.drop_pg_database(database)
        return
    sizes = sorted({max(100, n // 100), max(100, n // 10), n}) if levels else [n]
    shown = make_url(database_url).render_as_string(hide_password=True) if database_url else database
    click.echo(f"database {shown}; year {year}; sizes {sizes}")
    click.echo(f"{'N':>9} {'units':>6} {'compute s':>10} {'floor s':>8} {'ratio':>6} {'peak MB':>8} {'s/100k':>7}")
    rows = []
    try:
        for size in sizes:
            info = build_synthetic_province(size, database_url or databases.admin_url_for(owner_url), year=year,
                                            code=f"BENCH{size}")
            with app.app_context():
                scope = Scope.province(info["root_id"], label="bench")
                apply_scope(scope)
                token = set_actor(Actor(None, "bench"))
                try:
                    t0 = time.perf_counter()
                    root = db.session.get(OrgNode, info["root_id"])
                    units = engine.units_under(root)
                    out = engine.compute(units, year, actor="bench", chunk_units=400, pipelined=True)
                    db.session.commit()
                    t_compute = time.perf_counter() - t0
                finally:
                    reset_actor(token)
                peak = peak_rss_mb()
                from ..core.scopesig import derive_key

                params = {"root_id": info["root_id"], "key": derive_key(app.config)}
                run_sql = (f"SELECT current_run_id FROM annual_assessment WHERE root_id = {info['root_id']} "
                           f"AND year = {year}")
                db.session.remove()
            t_floor, n_rows = _floor(app_url, owner_url, params, info["root_id"], year, info["routine_in"], run_sql)
            ratio = t_compute / t_floor if t_floor else float("nan")
            rows.append((size, info["units"], t_compute, t_floor, ratio, peak))
            click.echo(f"{size:>9} {info['units']:>6} {t_compute:>10.2f} {t_floor:>8.2f} {ratio:>6.2f} {peak:>8.0f} "
                       f"{t_compute / size * 100_000:>7.2f}   (results {out['people']}, floor rows {n_rows}, "
                       f"calc {out['calc_seconds']}s, built in {info['seconds']}s, load {os.getloadavg()[0]:.2f})")
    finally:
        if not keep:
            with app.app_context():
                db.engine.dispose()
            databases.drop_pg_database(database)
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        click.echo(f"growth: {b[0] / a[0]:.0f}x people → {b[2] / a[2]:.1f}x compute time")
