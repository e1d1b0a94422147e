"""`kaohe bench faults`: the kill / restart / outage drills of issue 14, on a
small province of their own.

Everything runs against a PRIVATE PostgreSQL instance (initdb + pg_ctl in a
temporary directory, on a free port; the shared cluster is never touched, let
alone restarted) and a private Redis queue name.  Drills:

* ``annual_kill``  -- SIGKILL of the annual computation (a separate process,
  killed at its second progress report, its transaction open): the previous
  result is intact, the job is detected and failed (not "running" forever),
  the retry equals an uninterrupted run.
* ``roster_kill``  -- SIGKILL of a roster apply: the unit's people are as
  before, the upload is released ("valid", not "importing"), the retry
  imports exactly the file.
* ``pg_restart``   -- PostgreSQL restarted (fast shutdown) while requests run:
  answers are 200 or a clean 503, never a raw 500, and the pool recovers.
* ``redis_outage`` -- Redis unreachable while jobs are submitted: a 503 that
  saved nothing; when Redis is back, the submit is queued and an RQ worker
  runs it to the same result as an in-process run.

One line per drill, then
``faults: drills=N old_intact=N retry_identical=N stuck_jobs=N server_errors=N``
(server_errors counts raw 5xx other than the designed 503).  The same drill
functions run as a test (tests/foundation/test_faults_bench.py)."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import click

PG_BIN = Path(os.environ.get("KAOHE_PG_BIN", "/usr/lib/postgresql/15/bin"))
PLATFORM_DIR = str(Path(__file__).resolve().parents[2])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a private PostgreSQL ---------------------------------------------------------


class PrivatePostgres:
    """initdb + pg_ctl in a temp dir, trust auth on 127.0.0.1:<free port>."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="kaohe-faults-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args, check=True):
        cmd = [str(a) for a in args]
        if self.as_root:  # initdb refuses root: run as the postgres system user
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> "PrivatePostgres":
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-instructions")
        self._ctl("start")
        return self

    def _ctl(self, action: str, *extra):
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        return self._run(PG_BIN / "pg_ctl", "-D", self.data, "-o", opts, "-l", self.dir / "log", "-w",
                         "-t", "60", *extra, action)

    def restart(self):
        self._ctl("restart", "-m", "fast")

    def stop(self):
        with contextlib.suppress(Exception):
            self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


# -- the environment of the drills ----------------------------------------------


@dataclass
class Env:
    pg: PrivatePostgres
    app: object
    owner_url: str
    app_url: str
    root_id: int
    year: int
    queue: str
    tmp: str
    cfg: dict = field(default_factory=dict)


def setup(people: int = 300) -> Env:
    from flask_migrate import upgrade

    from .. import create_app
    from .synthetic import build_synthetic_province
    from ..core.clock import local_today
    from ..testing import databases

    pg = PrivatePostgres().start()
    try:
        old = databases.PG_ADMIN_URL
        databases.PG_ADMIN_URL = pg.admin_url
        try:
            owner_url, app_url = databases.create_pg_database("kaohe_faults")
            loader_url = databases.admin_url_for(owner_url)  # the loader turns FK triggers off: superuser only
        finally:
            databases.PG_ADMIN_URL = old
        tmp = tempfile.mkdtemp(prefix="kaohe-faults-")
        qname = f"kaohe-faults-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        cfg = {"SQLALCHEMY_DATABASE_URI": app_url, "KAOHE_MIGRATE_DATABASE_URL": owner_url,
               "KAOHE_JOBS_MODE": "sync", "SECRET_KEY": "faults", "INSTANCE_PATH": tmp, "KAOHE_RQ_QUEUE": qname,
               "KAOHE_JOB_LEASE_SECONDS": 30, "KAOHE_REDIS_URL": None}
        app = create_app(dict(cfg))
        with app.app_context():
            upgrade(revision="heads")
        year = local_today().year
        info = build_synthetic_province(people, loader_url, year=year, code="FAULTS")
        return Env(pg=pg, app=app, owner_url=owner_url, app_url=app_url, root_id=info["root_id"], year=year,
                   queue=qname, tmp=tmp, cfg=cfg)
    except Exception:
        pg.stop()
        raise


def teardown(env: Env) -> None:
    from ..extensions import db

    with contextlib.suppress(Exception):
        with env.app.app_context():
            db.engine.dispose()
    env.pg.stop()
    shutil.rmtree(env.tmp, ignore_errors=True)


def _owner_rows(env: Env, sql: str, **params) -> list:
    from sqlalchemy import create_engine, text

    eng = create_engine(env.owner_url)
    try:
        with eng.connect() as c:
            return [tuple(r) for r in c.execute(text(sql), params)]
    finally:
        eng.dispose()


def _digest(rows) -> str:
    return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()[:16]


def annual_fingerprint(env: Env) -> str:
    return _digest(_owner_rows(env, (
        "SELECT r.person_id, round(r.score::numeric, 6), r.grade FROM annual_result r "
        "JOIN annual_assessment a ON a.current_run_id = r.run_id "
        "WHERE a.root_id = :root AND a.year = :y ORDER BY r.person_id"), root=env.root_id, y=env.year))


def stuck_jobs(env: Env) -> int:
    """Jobs still queued or running after the reaper looked (nothing runs now)."""
    from ..extensions import db
    from ..jobs import health
    from ..tenancy.scope import Scope, apply_scope

    with env.app.app_context():
        apply_scope(Scope.province(env.root_id, label="faults"))
        health.reap_all(env.root_id)
        db.session.remove()
    return _owner_rows(env, "SELECT count(*) FROM job WHERE root_id = :r AND status IN ('queued', 'running')",
                       r=env.root_id)[0][0]


_KILLER = """
import json, os, signal, sys
sys.path.insert(0, sys.argv[1])
cfg, job_id, root_id, paths, kill_at = json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5]), int(sys.argv[6])
from kaohe import create_app
from kaohe.jobs import queue
app = create_app(cfg)
with app.app_context():
    from kaohe.jobs.models import Job
    from kaohe.extensions import db
    from kaohe.tenancy.scope import Scope, apply_scope
    apply_scope(Scope.system("faults"))
    kind = db.session.get(Job, job_id).kind
    db.session.remove()
    fn = queue.JOB_FUNCS[kind]
    def killed_midway(ctx, **params):
        real, calls = ctx.progress, [0]
        def progress(*a, **k):
            real(*a, **k)
            calls[0] += 1
            if calls[0] >= kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
        ctx.progress = progress
        return fn(ctx, **params)
    queue.JOB_FUNCS[kind] = killed_midway
    queue.run_job(job_id, root_id, paths)
"""


def _run_killed(env: Env, job_id: str, paths: list[str], kill_at: int = 2) -> int:
    """Run the job in a separate process that SIGKILLs itself at its
    `kill_at`-th progress report; returns the exit code (-9 when killed)."""
    cfg = dict(env.cfg, SQLALCHEMY_DATABASE_URI=env.app_url)
    proc = subprocess.run([sys.executable, "-c", _KILLER, PLATFORM_DIR, json.dumps(cfg), job_id, str(env.root_id),
                           json.dumps(paths), str(kill_at)], capture_output=True, text=True, timeout=600)
    return proc.returncode


def _create_job(env: Env, kind: str, org_id: int, params: dict) -> tuple[str, list[str]]:
    from ..extensions import db
    from ..jobs import queue
    from ..tenancy.scope import Scope, apply_scope

    with env.app.app_context():
        scope = Scope.province(env.root_id, label="faults")
        apply_scope(scope)
        row = queue.create_job(kind, root_id=env.root_id, org_id=org_id, scope=scope, params=params, mode="none")
        job_id, paths = row.id, list(row.scope_paths)
        db.session.commit()
        db.session.remove()
    return job_id, paths


def _job(env: Env, job_id: str) -> dict:
    rows = _owner_rows(env, "SELECT status, message, result FROM job WHERE id = :i", i=job_id)
    status, message, result = rows[0]
    if isinstance(result, str):
        result = json.loads(result)
    return {"status": status, "message": message, "result": result}


def _retry(env: Env, job_id: str) -> str:
    from ..extensions import db
    from ..jobs import health
    from ..jobs.models import Job
    from ..tenancy.scope import Scope, apply_scope

    with env.app.app_context():
        apply_scope(Scope.province(env.root_id, label="faults"))
        new_id = health.retry(db.session.get(Job, job_id), None, all_roots=True)
        db.session.remove()
    return new_id


# -- the drills ---------------------------------------------------------------------


def drill_annual_kill(env: Env) -> dict:
    job0, paths = _create_job(env, "annual.compute", env.root_id, {"org_id": env.root_id, "year": env.year})
    _run_killed(env, job0, paths, kill_at=10**9)           # an uninterrupted run: the reference
    assert _job(env, job0)["status"] == "done", _job(env, job0)
    reference = annual_fingerprint(env)
    job1, paths = _create_job(env, "annual.compute", env.root_id, {"org_id": env.root_id, "year": env.year})
    code = _run_killed(env, job1, paths, kill_at=2)
    intact = annual_fingerprint(env) == reference
    stuck = stuck_jobs(env)
    killed_job = _job(env, job1)
    new_id = _retry(env, job1)
    retried = _job(env, new_id)
    identical = retried["status"] == "done" and annual_fingerprint(env) == reference
    return {"drill": "annual_kill", "killed": code == -signal.SIGKILL, "old_intact": intact,
            "retry_identical": identical, "stuck_jobs": stuck, "server_errors": 0,
            "detail": f"killed job → {killed_job['status']}"}


def drill_roster_kill(env: Env) -> dict:
    from ..extensions import db
    from ..jobs import queue
    from ..people import roster_service
    from ..people.models import RosterImport
    from ..tenancy.models import OrgNode
    from ..tenancy.scope import Scope, apply_scope

    generate_workbook = _roster_generator()
    with env.app.app_context():
        apply_scope(Scope.province(env.root_id, label="faults"))
        unit = db.session.execute(
            __import__("sqlalchemy").select(OrgNode).where(OrgNode.root_id == env.root_id, OrgNode.is_assessment_unit.is_(True))
            .order_by(OrgNode.id)).scalars().first()
        unit_id = unit.id
        deps = [(d.code, d.name) for d in roster_service.unit_departments(unit)]
        data, _meta = generate_workbook(40, deps, seed=14)
        imp = roster_service.upload(unit, filename="faults.xlsx", data=data)
        imp_id = imp.id
        db.session.commit()
        scope = Scope.province(env.root_id, label="faults")
        apply_scope(scope)
        queue.submit("people.roster_check", root_id=env.root_id, org_id=unit_id, scope=scope,
                     params={"import_id": imp_id}, mode="sync")
        apply_scope(scope)
        status = db.session.get(RosterImport, imp_id).status
        db.session.remove()
    assert status == "valid", status
    people_sql = ("SELECT staff_no, name, org_id, position_role, active FROM person WHERE unit_id = :u "
                  "ORDER BY staff_no")
    before = _owner_rows(env, people_sql, u=unit_id)
    job1, paths = _create_job(env, "people.roster_import", unit_id, {"import_id": imp_id})
    _owner_exec(env, "UPDATE roster_import SET status = 'importing', job_id = :j WHERE id = :i", j=job1, i=imp_id)
    code = _run_killed(env, job1, paths, kill_at=1)
    intact = _owner_rows(env, people_sql, u=unit_id) == before
    stuck = stuck_jobs(env)
    released = _owner_rows(env, "SELECT status FROM roster_import WHERE id = :i", i=imp_id)[0][0]
    new_id = _retry(env, job1)
    retried = _job(env, new_id)
    # Identical to an uninterrupted import: every row of the file, as in the file.
    # Identical to an uninterrupted import: the retry wrote every row of the
    # file, and applying the file once more changes nothing.
    res = retried.get("result") or {}
    after = _owner_rows(env, people_sql, u=unit_id)
    again, paths = _create_job(env, "people.roster_import", unit_id, {"import_id": imp_id})
    _run_killed(env, again, paths, kill_at=10**9)
    res2 = _job(env, again).get("result") or {}
    identical = (retried["status"] == "done" and res.get("created", 0) + res.get("updated", 0) == _meta["people"]
                 and res2.get("unchanged") == _meta["people"] and _owner_rows(env, people_sql, u=unit_id) == after)
    return {"drill": "roster_kill", "killed": code == -signal.SIGKILL, "old_intact": intact,
            "retry_identical": identical, "stuck_jobs": stuck, "server_errors": 0,
            "detail": f"upload after the kill → {released}"}


def _owner_exec(env: Env, sql: str, **params) -> None:
    from sqlalchemy import create_engine, text

    eng = create_engine(env.owner_url)
    try:
        with eng.begin() as c:
            c.execute(text(sql), params)
    finally:
        eng.dispose()


def _roster_generator():
    from .roster import generate_workbook

    return generate_workbook


def _api_user(env: Env) -> dict:
    from ..auth import service as auth_service
    from ..auth.roles import Role
    from ..extensions import db
    from ..tenancy.models import OrgNode
    from ..tenancy.scope import Scope, apply_scope

    name = f"faults{uuid.uuid4().hex[:6]}"
    with env.app.app_context():
        apply_scope(Scope.system("faults"))
        root = db.session.get(OrgNode, env.root_id)
        user = auth_service.create_user(username=name, display_name="faults", password="Faults-drill-2026!",
                                        org=root)
        auth_service.grant_role(user, Role.unit_admin, root, check=False)
        db.session.commit()
        db.session.remove()
    resp = env.app.test_client().post("/api/v1/auth/token", json={"username": name,
                                                                    "password": "Faults-drill-2026!"})
    assert resp.status_code == 201, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}


def drill_pg_restart(env: Env, seconds: float = 6.0) -> dict:
    h = _api_user(env)
    job_id, paths = _create_job(env, "demo.sleep", env.root_id, {"steps": 1, "delay": 0})
    _run_killed(env, job_id, paths, kill_at=10**9)   # a finished job to look at
    before = annual_fingerprint(env)
    client = env.app.test_client()
    codes: list[int] = []
    stop = threading.Event()

    def hammer():
        c = env.app.test_client()
        while not stop.is_set():
            codes.append(c.get(f"/api/v1/jobs/{job_id}", headers=h).status_code)
            time.sleep(0.01)

    workers = [threading.Thread(target=hammer) for _ in range(3)]
    for w in workers:
        w.start()
    time.sleep(seconds / 3)
    env.pg.restart()
    time.sleep(seconds / 3)
    stop.set()
    for w in workers:
        w.join()
    recovered = False
    for _ in range(50):  # the pool recovers by itself
        code = client.get(f"/api/v1/jobs/{job_id}", headers=h).status_code
        if code == 200:
            recovered = True
            break
        time.sleep(0.1)
    raw_5xx = sum(1 for c in codes if c >= 500 and c != 503)
    return {"drill": "pg_restart", "killed": True, "old_intact": annual_fingerprint(env) == before,
            "retry_identical": recovered, "stuck_jobs": stuck_jobs(env), "server_errors": raw_5xx,
            "detail": f"{len(codes)} requests: {codes.count(200)}×200, {codes.count(503)}×503, "
                      f"{raw_5xx} raw 5xx; recovered={recovered}"}


def drill_redis_outage(env: Env, redis_url: str = "redis://127.0.0.1:6379/0") -> dict:
    from ..extensions import db
    from ..jobs.models import Job

    h = _api_user(env)
    dead = f"redis://127.0.0.1:{_free_port()}/0"
    count_sql = "SELECT count(*) FROM job WHERE root_id = :r"
    url = f"/api/v1/annual/units/{env.root_id}/{env.year}/compute"
    # The reference: the same computation run in-process, with no outage.
    assert env.app.test_client().post(url, headers=h, json={"subtree": True}).status_code == 202
    before = annual_fingerprint(env)
    jobs_before = _owner_rows(env, count_sql, r=env.root_id)[0][0]
    env.app.config.update(KAOHE_JOBS_MODE="rq", KAOHE_REDIS_URL=dead)
    codes = []
    client = env.app.test_client()
    try:
        for _ in range(3):
            codes.append(client.post(url, headers=h, json={"subtree": True}).status_code)
        saved_during_outage = _owner_rows(env, count_sql, r=env.root_id)[0][0] - jobs_before
        # Redis is back: the same submit is queued and a worker runs it.
        env.app.config.update(KAOHE_REDIS_URL=redis_url)
        resp = client.post(url, headers=h, json={"subtree": True})
        codes.append(resp.status_code)
        job_id = (resp.get_json() or {}).get("job_id") or (resp.get_json() or {}).get("id")
        from redis import Redis
        from rq import Queue, SimpleWorker

        conn = Redis.from_url(redis_url)
        q = Queue(env.queue, connection=conn)
        try:
            with _worker_env(env, redis_url):
                SimpleWorker([q], connection=conn).work(burst=True)
        finally:
            q.delete(delete_jobs=True)
            conn.close()
        done = bool(job_id) and _job(env, job_id)["status"] == "done"
    finally:
        env.app.config.update(KAOHE_JOBS_MODE="sync", KAOHE_REDIS_URL=None)
        with env.app.app_context():
            db.session.remove()
    del Job
    raw_5xx = sum(1 for c in codes if c >= 500 and c != 503)
    return {"drill": "redis_outage", "killed": True,
            "old_intact": saved_during_outage == 0 and annual_fingerprint(env) == before,
            "retry_identical": done and annual_fingerprint(env) == before, "stuck_jobs": stuck_jobs(env),
            "server_errors": raw_5xx,
            "detail": f"answers {codes}; rows saved during the outage {saved_during_outage}"}


@contextlib.contextmanager
def _worker_env(env: Env, redis_url: str):
    """The RQ worker builds its app from the environment (as `kaohe worker`)."""
    from ..jobs import queue

    keys = {"KAOHE_DATABASE_URL": env.app_url, "KAOHE_REDIS_URL": redis_url, "KAOHE_RQ_QUEUE": env.queue,
            "KAOHE_SECRET_KEY": "faults", "KAOHE_INSTANCE_PATH": env.tmp}
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    queue._APP = None
    try:
        yield
    finally:
        if queue._APP is not None:
            from ..extensions import db

            with queue._APP.app_context():
                db.engine.dispose()
        queue._APP = None
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


DRILLS = (drill_annual_kill, drill_roster_kill, drill_pg_restart, drill_redis_outage)


def line(r: dict) -> str:
    return (f"{r['drill']:<13} old_intact={'yes' if r['old_intact'] else 'NO'} "
            f"retry_identical={'yes' if r['retry_identical'] else 'NO'} stuck_jobs={r['stuck_jobs']} "
            f"5xx={r['server_errors']}  ({r.get('detail', '')})")


def summary(results: list[dict]) -> str:
    return (f"faults: drills={len(results)} old_intact={sum(bool(r['old_intact']) for r in results)} "
            f"retry_identical={sum(bool(r['retry_identical']) for r in results)} "
            f"stuck_jobs={sum(r['stuck_jobs'] for r in results)} "
            f"server_errors={sum(r['server_errors'] for r in results)}")


def run_drills(people: int = 300, echo=print, drills=DRILLS) -> list[dict]:
    env = setup(people)
    results = []
    try:
        for drill in drills:
            try:
                r = drill(env)
            except Exception as exc:  # noqa: BLE001 - a drill that breaks is a finding, reported
                r = {"drill": drill.__name__.replace("drill_", ""), "old_intact": False, "retry_identical": False,
                     "stuck_jobs": 0, "server_errors": 0, "detail": f"drill failed: {type(exc).__name__}: {exc}"}
            results.append(r)
            echo(line(r))
        echo(summary(results))
    finally:
        teardown(env)
    return results


@click.command("faults")
@click.option("--people", default=300, show_default=True, type=click.IntRange(100, 20000),
              help="People in the drills' own province.")
def bench_faults(people):
    """Kill / restart / outage drills on a private PostgreSQL and Redis queue."""
    if not (PG_BIN / "initdb").exists():
        raise click.ClickException(f"no PostgreSQL server binaries in {PG_BIN} (set KAOHE_PG_BIN)")
    run_drills(people, echo=click.echo)
