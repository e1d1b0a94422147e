"""`kaohe bench http`: the app under gunicorn against PostgreSQL (as the
non-owner app role, RLS in force) and Redis, driven by many concurrent
authenticated clients on 127.0.0.1.  Measures sign-ins and rating
submissions next to the trivial /api/v1/health of the same server in the
same run, and prints requests/s, p50/p99 and the ratio to health.

A bench database is created, migrated and seeded with realistic townships
(a head, department heads and staff per department, one open period each),
and dropped afterwards unless --keep is given."""
from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import click
from ..core.clock import local_today

HOST = "127.0.0.1"


# -- seeding ---------------------------------------------------------------------

def _seed(app, units: int, per_unit: int) -> dict:
    """Townships with people, accounts, tokens, a scheme and a period in
    rating.  Set-based inserts; returns the work lists for the clients."""
    from sqlalchemy import insert, select

    from ..audit.service import Actor, reset_actor, set_actor
    from ..auth.models import ApiToken, RoleGrant, User
    from ..auth.service import token_digest
    from ..core.db import allocate_ids, utcnow
    from ..extensions import db
    from ..people.models import LeaderCharge, Person
    from ..tenancy import service as org_service
    from ..tenancy.scope import Scope, apply_scope
    from ..routine.indicators import save_indicator
    from ..routine.periods import create_period, transition
    from ..routine.schemes import save_scheme

    token = set_actor(Actor(None, "bench"))
    out = {"sign": [], "rate": []}
    try:
        with app.app_context():
            apply_scope(Scope.system("bench"))
            prov = org_service.create_province(code="BENCH", name="压测省", name_en="Bench province")
            county = org_service.create_child(prov, kind="county", code="BENCH-K", name="压测县")
            now = utcnow()
            expires = now + dt.timedelta(days=2)
            for u in range(units):
                unit = org_service.create_child(county, kind="township", code=f"BENCH-T{u:03d}",
                                                name=f"压测镇{u}", is_assessment_unit=True)
                n_depts = max(1, (per_unit - 1) // 10)
                depts = [org_service.create_child(unit, kind="department", code=f"BENCH-T{u:03d}-D{d}",
                                                  name=f"科室{d}") for d in range(n_depts)]
                ids = iter(allocate_ids(db.session, "person", per_unit))
                head = {"id": next(ids), "root_id": prov.id, "org_id": unit.id, "unit_id": unit.id,
                        "staff_no": "0000", "name": f"镇长{u}", "position_role": "head", "rank_group": "leader",
                        "job_category": "general", "active": True, "version": 1}
                people = [head]
                heads = {}
                for i in range(1, per_unit):
                    d = depts[(i - 1) % n_depts]
                    role = "dept_head" if d.id not in heads else "staff"
                    pid = next(ids)
                    people.append({"id": pid, "root_id": prov.id, "org_id": d.id, "unit_id": unit.id,
                                   "staff_no": f"{i:04d}", "name": f"干部{u}-{i}", "position_role": role,
                                   "rank_group": "staff", "job_category": "general", "active": True, "version": 1,
                                   "supervisor_id": head["id"] if role == "dept_head" else heads[d.id]})
                    if role == "dept_head":
                        heads[d.id] = pid
                db.session.execute(insert(Person), [people[0]])
                db.session.execute(insert(Person), [p for p in people[1:] if p["position_role"] == "dept_head"])
                db.session.execute(insert(Person), [p for p in people[1:] if p["position_role"] == "staff"])
                db.session.execute(insert(LeaderCharge), [{"root_id": prov.id, "org_id": unit.id,
                                                           "leader_id": head["id"], "department_id": d.id}
                                                          for d in depts])
                uids = allocate_ids(db.session, "user_account", per_unit)
                users, grants, tokens = [], [], []
                for uid, p in zip(uids, people):
                    users.append({"id": uid, "root_id": prov.id, "org_id": p["org_id"],
                                  "username": f"bench-{u}-{p['staff_no']}", "display_name": p["name"],
                                  "password_hash": "!", "session_token": secrets.token_hex(16), "active": True,
                                  "person_id": p["id"], "created_at": now})
                    grants.append({"root_id": prov.id, "org_id": unit.id, "user_id": uid, "role": "staff",
                                   "created_at": now})
                    if p["position_role"] in ("head", "dept_head"):
                        grants.append({"root_id": prov.id, "org_id": unit.id, "user_id": uid, "role": "leader",
                                       "created_at": now})
                    raw = "kh_" + secrets.token_urlsafe(24)
                    tokens.append({"root_id": prov.id, "user_id": uid, "token_hash": token_digest(raw),
                                   "name": "bench", "created_at": now, "expires_at": expires})
                    p["token"] = raw
                db.session.execute(insert(User), users)
                db.session.execute(insert(RoleGrant), grants)
                db.session.execute(insert(ApiToken), tokens)
                for ind in BENCH_LIBRARY:
                    save_indicator(unit, dict(ind))
                save_scheme(unit, dict(BENCH_SCHEME))
                today = local_today()
                period = create_period(unit, today.year, (today.month - 1) // 3 + 1, "quarter")
                transition(period, "open")
                transition(period, "rating")
                for p in people:
                    out["sign"].append((p["token"], {"what": "in"}))
                    out["sign"].append((p["token"], {"what": "out"}))
                    out["rate"].append((p["token"], period.id, {"ratee_id": p["id"], "rater_kind": "self",
                                                                 "scores": {"ethics": "you", "work": 55}}))
                    if p["position_role"] == "staff":
                        boss = next(x for x in people if x["id"] == p["supervisor_id"])
                        out["rate"].append((boss["token"], period.id, {
                            "ratee_id": p["id"], "rater_kind": "supervisor",
                            "scores": {"ethics": "liang", "work": 50}, "comment": "工作认真"}))
                    if p["position_role"] == "dept_head":
                        out["rate"].append((head["token"], period.id, {
                            "ratee_id": p["id"], "rater_kind": "supervisor", "scores": {"ethics": "you", "work": 52}}))
            db.session.commit()
            db.session.remove()
    finally:
        reset_actor(token)
    # Interleave townships so concurrent clients hit different rows, like real traffic.
    import random

    rng = random.Random(7)
    # Everyone signs in, then everyone signs out (each in a shuffled order).
    ins = [x for x in out["sign"] if x[1]["what"] == "in"]
    outs = [x for x in out["sign"] if x[1]["what"] == "out"]
    rng.shuffle(ins)
    rng.shuffle(outs)
    out["sign"] = ins + outs
    rng.shuffle(out["rate"])
    return out


BENCH_LIBRARY = [
    {"code": "ethics", "name": "职业道德", "dimension": "de", "kind": "graded",
     "levels": {"you": 20, "liang": 16, "zhong": 12, "cha": 6}},
    {"code": "discipline", "name": "工作纪律", "dimension": "qin", "kind": "deduction", "max": 20, "per": 2, "cap": 20},
    {"code": "work", "name": "工作实绩", "dimension": "ji", "kind": "scored", "max": 60},
]
BENCH_SCHEME = {"code": "general", "name": "一般干部", "basis": "points", "total": 100,
                "rater_weights": {"supervisor": 0.9, "self": 0.1},
                "sections": [{"code": "common", "name": "公共", "points": 40, "indicators": ["ethics", "discipline"]},
                             {"code": "work", "name": "业务", "points": 60, "indicators": ["work"]}]}


# -- the load ----------------------------------------------------------------------

class _Client(threading.Thread):
    """One client: a persistent keep-alive connection, requests from a queue."""

    def __init__(self, port: int, jobs: "queue.Queue", results: list, lock: threading.Lock):
        super().__init__(daemon=True)
        self.port, self.jobs, self.results, self.lock = port, jobs, results, lock
        self.conn = None

    def _request(self, method, path, body, headers):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    return 599, b""
        return 599, b""

    def run(self):
        local = []
        while True:
            item = self.jobs.get()
            if item is None:
                break
            method, path, body, headers = item
            t0 = time.perf_counter()
            status, _ = self._request(method, path, body, headers)
            local.append(((time.perf_counter() - t0) * 1000.0, status))
        if self.conn is not None:
            self.conn.close()
        with self.lock:
            self.results.extend(local)


def _run_phase(port: int, clients: int, items: list) -> dict:
    jobs: queue.Queue = queue.Queue()
    for it in items:
        jobs.put(it)
    for _ in range(clients):
        jobs.put(None)
    results: list = []
    lock = threading.Lock()
    threads = [_Client(port, jobs, results, lock) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    lat = sorted(r[0] for r in results)
    errors = sum(1 for r in results if not 200 <= r[1] < 300)
    codes: dict[int, int] = {}
    for _, st in results:
        codes[st] = codes.get(st, 0) + 1

    def pct(p):
        return lat[min(len(lat) - 1, int(round(p / 100.0 * (len(lat) - 1))))] if lat else 0.0

    return {"n": len(results), "errors": errors, "codes": codes, "seconds": elapsed,
            "rps": len(results) / elapsed if elapsed else 0.0, "p50": pct(50), "p99": pct(99),
            "mean": statistics.fmean(lat) if lat else 0.0}


def _free_port(preferred: int) -> int:
    for port in range(preferred, preferred + 50):
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
                return port
            except OSError:
                continue
    raise click.ClickException(f"no free port in {preferred}..{preferred + 49}")


def _wait_ready(port: int, proc, timeout: float = 60, path: str = "/api/v1/health") -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise click.ClickException("gunicorn exited during start-up (see the log above)")
        try:
            c = http.client.HTTPConnection(HOST, port, timeout=2)
            c.request("GET", path)
            if c.getresponse().status == 200:
                c.close()
                return
        except OSError:
            time.sleep(0.3)
    raise click.ClickException(f"gunicorn did not answer {path} in time")


FLOOR_OF = {"floor-write": "floor-write", "floor-read": "floor-read", "health": "floor-read",
            "auth-read": "floor-read", "sign-in": "floor-write", "rating": "floor-write"}
HEADER = ("endpoint", "requests", "errors", "req/s", "p50 ms", "p99 ms", "vs_floor", "vs_health")


def render_table(results: dict) -> str:
    """One header line naming the columns, one row per endpoint; vs_floor is
    the ratio to the matching floor row (writes to floor-write, reads to
    floor-read) of the same run, vs_health the ratio to health."""
    lines = ["{:<11} {:>8} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9}".format(*HEADER)]
    health = results.get("health", {}).get("rps") or 0.0
    for label, r in results.items():
        floor = results.get(FLOOR_OF.get(label, ""), {}).get("rps") or 0.0
        vs_floor = f"{r['rps'] / floor:.2f}" if floor else "-"
        vs_health = f"{r['rps'] / health:.2f}" if health else "-"
        lines.append(f"{label:<11} {r['n']:>8} {r['errors']:>6} {r['rps']:>8.1f} {r['p50']:>8.1f} "
                     f"{r['p99']:>8.1f} {vs_floor:>8} {vs_health:>9}")
    return "\n".join(lines)


def _libpq(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as libpq takes it."""
    return "postgresql://" + url.split("://", 1)[1]


@click.command("http")
@click.option("--clients", default=32, show_default=True, help="Concurrent authenticated clients.")
@click.option("--requests", "n_requests", default=2000, show_default=True,
              help="Requests per measured endpoint (bounded by the seeded work).")
@click.option("--units", default=20, show_default=True, help="Townships to seed.")
@click.option("--people", "per_unit", default=50, show_default=True, help="People per township.")
@click.option("--workers", default=None, type=int, help="gunicorn workers (default: 2 × cores).")
@click.option("--threads", default=4, show_default=True, help="Threads per gunicorn worker (gthread).")
@click.option("--port", default=5450, show_default=True, help="First port to try on 127.0.0.1.")
@click.option("--redis-url", default="redis://127.0.0.1:6379/15", show_default=True)
@click.option("--keep", is_flag=True, help="Keep the bench database afterwards.")
@click.option("--database-url", default=None, help="Superuser URL of an existing empty database to use instead "
              "(e.g. on a Citus coordinator: python -m kaohe.testing.citus_cluster create NAME); kept afterwards.")
def bench_http(clients, n_requests, units, per_unit, workers, threads, port, redis_url, keep, database_url):
    """Throughput and latency of sign-ins and rating submissions vs. /api/v1/health."""
    from flask_migrate import upgrade

    from .. import create_app
    from ..testing import databases

    if not 1 <= clients <= 512:
        raise click.ClickException("--clients must be between 1 and 512")
    if per_unit < 12:
        raise click.ClickException("--people must be at least 12 (a head, department heads and staff)")
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        raise click.ClickException(f"Redis not reachable at {redis_url}: {exc}")
    workers = workers or 2 * (os.cpu_count() or 1)
    name = f"kaohe_bench_{os.getpid()}"
    try:
        owner_url, app_url = databases.existing_or_new(database_url, name)
    except databases.PgUnavailable as exc:
        raise click.ClickException(str(exc))
    keep = keep or bool(database_url)
    tmp = tempfile.mkdtemp(prefix="kaohe-bench-")
    proc = floor_proc = None
    try:
        click.echo(f"database {name}: migrating as the owner, app connects as {app_url.split('@')[0].split('//')[1]}")
        # One secret for the migration (it stores the scope key derived from it) and the server.
        secret = secrets.token_hex(16)
        setup = create_app({"SQLALCHEMY_DATABASE_URI": app_url, "KAOHE_MIGRATE_DATABASE_URL": owner_url,
                            "SECRET_KEY": secret, "INSTANCE_PATH": tmp, "KAOHE_JOBS_MODE": "sync"})
        with setup.app_context():
            upgrade(revision="heads")   # as the test harness (the chain may hold branches until merged)
        if database_url:
            placed = setup.test_cli_runner().invoke(args=["db", "distribute", "--database-url", owner_url])
            click.echo(placed.output.strip().splitlines()[-1])
        t0 = time.perf_counter()
        work = _seed(setup, units, per_unit)
        click.echo(f"seeded {units} townships × {per_unit} people in {time.perf_counter() - t0:.1f}s")
        with setup.app_context():
            from ..extensions import db

            db.engine.dispose()
        port = _free_port(port)
        env = dict(os.environ, KAOHE_DATABASE_URL=app_url, KAOHE_SECRET_KEY=secret,
                   KAOHE_REDIS_URL=redis_url, KAOHE_INSTANCE_PATH=tmp, KAOHE_REFUSE_PRIVILEGED_DB_ROLE="1")
        env.pop("KAOHE_MIGRATE_DATABASE_URL", None)
        gunicorn = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "gthread",
                    "--threads", str(threads), "--log-level", "warning", "--keep-alive", "5"]
        cmd = gunicorn + ["--bind", f"{HOST}:{port}", "kaohe.wsgi:app"]
        click.echo("starting: " + " ".join(cmd[2:]))
        proc = subprocess.Popen(cmd, env=env, start_new_session=True)
        # The floor (kaohe.benchmarks.floor): same gunicorn settings, same role, same secret.
        floor_port = _free_port(port + 1)
        floor_env = dict(env, KAOHE_FLOOR_DSN=_libpq(app_url), KAOHE_FLOOR_SECRET=secret,
                         KAOHE_FLOOR_POOL=str(threads))
        floor_cmd = gunicorn + ["--bind", f"{HOST}:{floor_port}", "kaohe.benchmarks.floor:create()"]
        floor_proc = subprocess.Popen(floor_cmd, env=floor_env, start_new_session=True)
        _wait_ready(port, proc)
        _wait_ready(floor_port, floor_proc, path="/floor/health")

        def auth(tok):
            return {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}

        health = [("GET", "/api/v1/health", None, {})] * n_requests
        signs = [("POST", "/api/v1/routine/me/attendance", json.dumps(b), auth(t)) for t, b in work["sign"]]
        rates = [("POST", f"/api/v1/routine/periods/{pid}/ratings", json.dumps(b), auth(t))
                 for t, pid, b in work["rate"]]
        # Sign-ins: one per person and day, so the seeded work bounds the count.
        signs, rates = signs[:n_requests], rates[:n_requests]
        floor_signs = [("POST", "/floor/sign", b, h) for _, _, b, h in signs]
        # warm-up: every worker's connection pool and caches (no data changes)
        _run_phase(port, clients, [("GET", "/api/v1/health", None, {})] * (clients * 4))
        _run_phase(floor_port, clients, [("GET", "/floor/health", None, {})] * (clients * 4))
        results = {}
        # An authenticated read with one query of its own: what token authentication alone costs.
        toks = sorted({t for t, _ in work["sign"]})
        authed = [("GET", "/api/v1/routine/tasks", None, auth(toks[i % len(toks)])) for i in range(n_requests)]
        floor_read = [("GET", "/floor/read", None, h) for _, _, _, h in authed]
        phases = (("floor-write", floor_port, floor_signs), ("floor-read", floor_port, floor_read),
                  ("health", port, health), ("auth-read", port, authed), ("sign-in", port, signs),
                  ("rating", port, rates))
        for label, at, items in phases:
            click.echo(f"  {label}: {len(items)} requests from {clients} clients ...")
            results[label] = _run_phase(at, clients, items)
            if label == "floor-write":
                # The app signs the same people in today: remove the floor's rows (as the owner).
                import psycopg

                with psycopg.connect(_libpq(owner_url), autocommit=True) as c:
                    c.execute("DELETE FROM routine_attendance")
        os.killpg(floor_proc.pid, signal.SIGTERM)
        click.echo("")
        click.echo(render_table(results))
        for label, r in results.items():
            if r["errors"]:
                click.echo(f"{label}: status codes {r['codes']}")
        click.echo(f"\n{clients} clients, gunicorn {workers} workers × {threads} threads (gthread) for the app and "
                   f"for the floor, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at the end; PostgreSQL "
                   f"as the app role (RLS), Redis {redis_url}.")
        click.echo("goals: sign-in ≥ 0.6 of floor-write, rating ≥ 0.4, auth-read ≥ 0.6 of floor-read; "
                   "p99 < 200 ms at 32 clients on 2 cores; no 5xx.")
    finally:
        if floor_proc is not None and floor_proc.poll() is None:
            os.killpg(floor_proc.pid, signal.SIGTERM)
            try:
                floor_proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(floor_proc.pid, signal.SIGKILL)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if not keep:
            try:
                databases.drop_pg_database(name)
            except Exception:  # noqa: BLE001
                click.echo(f"could not drop {name}; drop it by hand", err=True)
        else:
            click.echo(f"kept database {name} ({owner_url})")
        shutil.rmtree(tmp, ignore_errors=True)


@click.command("routine")
@click.option("--units", default=30, show_default=True, help="Townships (a county is ~10–30).")
@click.option("--people", "per_unit", default=50, show_default=True, help="People per township.")
@click.option("--keep", is_flag=True, help="Keep the bench database afterwards.")
def bench_routine(units, per_unit, keep):
    """Time the period computation of every township of a county (PostgreSQL, app role)."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from .. import create_app
    from ..extensions import db
    from ..testing import databases
    from ..tenancy.scope import Scope, apply_scope
    from ..routine.compute import compute_period
    from ..routine.models import Participant, Period, Rating
    from ..routine.periods import transition

    if per_unit < 12:
        raise click.ClickException("--people must be at least 12")
    name = f"kaohe_bench_rc_{os.getpid()}"
    try:
        owner_url, app_url = databases.create_pg_database(name)
    except databases.PgUnavailable as exc:
        raise click.ClickException(str(exc))
    tmp = tempfile.mkdtemp(prefix="kaohe-bench-")
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": app_url, "KAOHE_MIGRATE_DATABASE_URL": owner_url,
                          "SECRET_KEY": "bench", "INSTANCE_PATH": tmp, "KAOHE_JOBS_MODE": "sync"})
        with app.app_context():
            upgrade()
        t0 = time.perf_counter()
        work = _seed(app, units, per_unit)
        with app.app_context():
            apply_scope(Scope.system("bench"))
            # Every rating of the seeded work, inserted set-based (scores as the clients would send).
            parts = {(p.period_id, p.person_id): p for p in db.session.execute(select(Participant)).scalars()}
            token_person = {}
            from ..auth.models import ApiToken, User
            from ..auth.service import token_digest

            digest_to_person = dict(db.session.execute(select(ApiToken.token_hash, User.person_id).join(
                User, User.id == ApiToken.user_id)).all())
            rows, now = [], dt.datetime.now(dt.timezone.utc)
            for tok, pid, body in work["rate"]:
                rater = digest_to_person[token_digest(tok)]
                part = parts[(pid, body["ratee_id"])]
                rows.append({"root_id": part.root_id, "org_id": part.org_id, "period_id": pid,
                             "ratee_id": body["ratee_id"], "rater_id": rater, "rater_kind": body["rater_kind"],
                             "scores": {"ethics": body["scores"]["ethics"], "work": float(body["scores"]["work"])},
                             "comment_visible": True, "submitted_at": now, "version": 1})
            db.session.execute(insert(Rating), rows)
            for p in db.session.execute(select(Period)).scalars():
                transition(p, "review")
            db.session.commit()
            click.echo(f"seeded {units} townships × {per_unit} people and {len(rows)} ratings "
                       f"in {time.perf_counter() - t0:.1f}s")
            ids = list(db.session.execute(select(Period.id).order_by(Period.id)).scalars())
            db.session.remove()
            times = []
            t_all = time.perf_counter()
            for pid in ids:
                apply_scope(Scope.system("bench"))
                t1 = time.perf_counter()
                compute_period(db.session.get(Period, pid))
                db.session.commit()
                times.append(time.perf_counter() - t1)
            total = time.perf_counter() - t_all
        people = units * per_unit
        click.echo(f"computed {len(ids)} periods ({people} people) in {total:.2f}s: "
                   f"{statistics.median(times) * 1000:.0f} ms median per township of {per_unit}, "
                   f"{total / people * 1000:.2f} ms per person")
    finally:
        if not keep:
            try:
                databases.drop_pg_database(name)
            except Exception:  # noqa: BLE001
                click.echo(f"could not drop {name}; drop it by hand", err=True)
        shutil.rmtree(tmp, ignore_errors=True)
