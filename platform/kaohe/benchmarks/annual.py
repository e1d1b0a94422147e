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
        t0 = time.perf_counter()
        with psycopg.connect(_libpq(app_url)) as conn:
            from ..core import scopesig
            from ..tenancy.scope import Scope

            # The province's signed scope, bound to this connection (as the app sends it).
            signed = scopesig.sign(scope_params["key"], scopesig.payload(
                Scope.province(scope_params["root_id"]), pid=conn.info.backend_pid))
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


@click.command("annual")
@click.option("--people", "n", type=int, default=100_000, show_default=True, help="People in the largest province.")
@click.option("--levels/--no-levels", default=True, show_default=True, help="Also measure N/100 and N/10.")
@click.option("--database", default="kaohe_bench_annual", show_default=True,
              help="PostgreSQL database to (re)create for the measurement.")
@click.option("--year", type=int, default=None, help="Assessment year (default: this year).")
@click.option("--keep", is_flag=True, help="Keep the database afterwards (e.g. for `kaohe bench dashboard`).")
@click.option("--database-url", default=None, help="Superuser URL of an existing empty database to use instead "
              "(e.g. on a Citus coordinator: python -m kaohe.testing.citus_cluster create NAME); kept afterwards.")
def bench_annual(n, levels, database, year, keep, database_url):
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
    sizes = sorted({max(100, n // 100), max(100, n // 10), n}) if levels else [n]
    click.echo(f"database {database}; year {year}; sizes {sizes}")
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
                       f"calc {out['calc_seconds']}s)")
    finally:
        if not keep:
            with app.app_context():
                db.engine.dispose()
            databases.drop_pg_database(database)
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        click.echo(f"growth: {b[0] / a[0]:.0f}x people → {b[2] / a[2]:.1f}x compute time")
