"""Jobs that never stay stuck (issue 14, findings 1 and 6): a job whose worker
died is failed with a message a clerk understands and can be retried (page
and API); a killed roster apply releases its upload so applying again works;
with Redis down a submit answers 503 and saves nothing; two computations of
one province never collide."""
from __future__ import annotations

import datetime as dt
import io
import socket
import subprocess
import threading
import time
import uuid

import pytest
from sqlalchemy import func, select

from kaohe.extensions import db
from kaohe.jobs import health, queue
from kaohe.jobs.models import Job
from kaohe.people.models import RosterImport
from kaohe.tenancy.scope import Scope, apply_scope

from .helpers import clean_rows, workbook


def _dead_worker() -> str:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return f"{socket.gethostname()}:{proc.pid}"


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _count(app, model):
    with app.app_context():
        apply_scope(Scope.system("t"))
        n = db.session.execute(select(func.count()).select_from(model)).scalar_one()
        db.session.remove()
    return n


def _set(app, model, ident, **values):
    with app.app_context():
        apply_scope(Scope.system("t"))
        row = db.session.get(model, ident)
        for k, v in values.items():
            setattr(row, k, v)
        db.session.commit()
        db.session.remove()


def _upload_clean(client, h, unit):
    resp = client.post("/api/v1/people/imports", headers=h, content_type="multipart/form-data",
                       data={"unit_id": str(unit), "file": (io.BytesIO(workbook(clean_rows())), "r.xlsx")})
    assert resp.status_code == 202, resp.get_json()
    imp_id = resp.get_json()["import_id"]
    assert client.get(f"/api/v1/people/imports/{imp_id}", headers=h).get_json()["status"] == "valid"
    return imp_id


def test_killed_roster_apply_is_detected_released_and_retryable(world, client, api_token, app, backend, login):
    h = api_token("t1admin")
    imp_id = _upload_clean(client, h, world.ids["P1-T1"])
    # What a SIGKILL of the apply's worker leaves: the upload "importing",
    # its job "running 37%" under a process that no longer exists.
    with app.app_context():
        apply_scope(Scope.system("t"))
        imp = db.session.get(RosterImport, imp_id)
        node_scope = Scope.for_paths(imp.root_id, ["/"], label="t")
        job = Job(id=str(uuid.uuid4()), root_id=imp.root_id, org_id=imp.org_id, kind="people.roster_import",
                  status="running", progress=3, total=8, params={"import_id": imp_id},
                  scope_paths=[db.session.get(__import__("kaohe.tenancy.models", fromlist=["OrgNode"]).OrgNode,
                                              imp.org_id).path],
                  created_by=imp.uploaded_by if hasattr(imp, "uploaded_by") else None,
                  started_at=health.now(), worker=_dead_worker(), heartbeat_at=health.now())
        db.session.add(job)
        imp.status, imp.job_id = "importing", job.id
        job_id = job.id
        db.session.commit()
        db.session.remove()
    del node_scope
    # The job page tells the clerk, in Chinese, and offers Retry.
    b = login("t1admin")
    page = b.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "重试" in page and "进程" in page, page[-2000:]
    data = client.get(f"/api/v1/jobs/{job_id}", headers=h).get_json()
    assert data["status"] == "failed" and data["retryable"] is True
    assert data["message"] == health.LOST_WORKER
    # The upload was released: applying again works and imports.
    assert client.get(f"/api/v1/people/imports/{imp_id}", headers=h).get_json()["status"] == "valid"
    resp = client.post(f"/api/v1/people/imports/{imp_id}/apply", headers=h)
    assert resp.status_code == 202, resp.get_json()
    assert client.get(f"/api/v1/jobs/{resp.get_json()['job_id']}", headers=h).get_json()["status"] == "done"
    assert client.get(f"/api/v1/people/imports/{imp_id}", headers=h).get_json()["status"] == "imported"


def test_a_killed_apply_is_released_when_applying_again(world, client, api_token, app, backend):
    """Nobody looked at the job page: applying again detects the dead worker itself."""
    h = api_token("t1admin")
    imp_id = _upload_clean(client, h, world.ids["P1-T1"])
    resp = client.post(f"/api/v1/people/imports/{imp_id}/apply", headers=h)
    first_job = resp.get_json()["job_id"]
    # Replay the kill: back to "importing" under a dead running job.
    _set(app, RosterImport, imp_id, status="importing", job_id=first_job)
    _set(app, Job, first_job, status="running", worker=_dead_worker(), finished_at=None)
    resp = client.post(f"/api/v1/people/imports/{imp_id}/apply", headers=h)
    assert resp.status_code == 202, resp.get_json()
    assert client.get(f"/api/v1/jobs/{first_job}", headers=h).get_json()["status"] == "failed"


def test_retry_from_api_and_page(world, client, api_token, app, backend, login):
    from tests.foundation.test_jobs import _submit

    t1, root = world.ids["P1-T1"], world.ids["P1-P"]
    with app.app_context():
        apply_scope(Scope.system("t"))
        from kaohe.auth.models import User

        uid = db.session.execute(select(User.id).where(User.username == "t1admin")).scalar_one()
        db.session.remove()
    job_id = _submit(app, "test.probe", t1, created_by=uid)
    h = api_token("t1admin")
    assert client.post(f"/api/v1/jobs/{job_id}/retry", headers=h).status_code == 409  # done: nothing to retry
    _set(app, Job, job_id, status="running", worker=_dead_worker())
    resp = client.post(f"/api/v1/jobs/{job_id}/retry", headers=api_token("countysup"))
    assert resp.status_code == 403  # only its creator
    resp = client.post(f"/api/v1/jobs/{job_id}/retry", headers=h)
    assert resp.status_code == 202, resp.get_json()
    new = client.get(f"/api/v1/jobs/{resp.get_json()['id']}", headers=h).get_json()
    assert new["status"] == "done" and new["result"]["paths"]
    # The page's button.
    _set(app, Job, job_id, status="running", worker=_dead_worker(), finished_at=None)
    b = login("t1admin")
    b.get(f"/jobs/{job_id}")
    resp = b.post(f"/jobs/{job_id}/retry")
    assert resp.status_code == 302 and job_id not in resp.headers["Location"]
    assert root


def test_retry_page_refused_is_a_message_not_a_500(world, app, backend, login):
    from tests.foundation.test_jobs import _submit

    with app.app_context():
        apply_scope(Scope.system("t"))
        from kaohe.auth.models import User

        uid = db.session.execute(select(User.id).where(User.username == "t1admin")).scalar_one()
        db.session.remove()
    job_id = _submit(app, "test.probe", world.ids["P1-T1"], created_by=uid)  # done: nothing to retry
    b = login("t1admin")
    resp = b.post(f"/jobs/{job_id}/retry")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/jobs/{job_id}")
    page = b.get(f"/jobs/{job_id}")
    assert page.status_code == 200


@pytest.mark.pg
def test_a_silent_worker_on_another_host_loses_its_lease(world, client, api_token, app, backend):
    from tests.foundation.test_jobs import _submit

    app.config["KAOHE_JOB_LEASE_SECONDS"] = 5
    job_id = _submit(app, "test.probe", world.ids["P1-T1"])
    old = health.now() - dt.timedelta(seconds=30)
    _set(app, Job, job_id, status="running", worker="elsewhere:4242", heartbeat_at=health.now(), finished_at=None)
    h = api_token("t1admin")
    assert client.get(f"/api/v1/jobs/{job_id}", headers=h).get_json()["status"] == "running"  # lease fresh
    _set(app, Job, job_id, heartbeat_at=old)
    assert client.get(f"/api/v1/jobs/{job_id}", headers=h).get_json()["status"] == "failed"


@queue.job("test.slow")
def slow_job(ctx, seconds: float = 1.0) -> dict:
    time.sleep(seconds)
    ctx.progress(1, 1, "slept")
    return {"slept": seconds}


@pytest.mark.pg
def test_lease_is_renewed_while_a_long_job_runs(world, app, backend):
    from tests.foundation.test_jobs import _job, _scope

    app.config["KAOHE_JOB_LEASE_SECONDS"] = 1.5
    scope = _scope(app, world.ids["P1-T1"])
    with app.app_context():
        apply_scope(scope)
        row = queue.create_job("test.slow", root_id=scope.root_id, org_id=world.ids["P1-T1"], scope=scope,
                               params={"seconds": 3.0})
        job_id = row.id
        db.session.commit()
        db.session.remove()
    seen = {}

    def watch():
        time.sleep(2.5)
        with app.app_context():
            apply_scope(scope)
            row = db.session.get(Job, job_id)
            seen["abandoned"] = health.abandoned(row)
            seen["status"] = row.status
            db.session.remove()

    t = threading.Thread(target=watch)
    t.start()
    with app.app_context():
        queue.run_job(job_id, scope.root_id, list(scope.paths))
        db.session.remove()
    t.join()
    assert seen == {"abandoned": None, "status": "running"}
    assert _job(app, job_id)["status"] == "done"


def test_redis_down_submit_is_503_and_saves_nothing(world, client, api_token, app, backend):
    from tests.foundation.test_jobs import _scope

    h = api_token("t1admin")  # sign in first: the login throttle uses KAOHE_REDIS_URL too
    app.config.update(KAOHE_JOBS_MODE="rq", KAOHE_REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    jobs, imports = _count(app, Job), _count(app, RosterImport)
    t0 = time.time()
    resp = client.post("/api/v1/people/imports", headers=h, content_type="multipart/form-data",
                       data={"unit_id": str(world.ids["P1-T1"]), "file": (io.BytesIO(workbook(clean_rows())), "r.xlsx")})
    assert resp.status_code == 503, resp.get_json()
    assert "nothing was saved" in resp.get_json()["message"] and "Try again" in resp.get_json()["message"]
    assert (_count(app, Job), _count(app, RosterImport)) == (jobs, imports)
    assert time.time() - t0 < 10
    scope = _scope(app, world.ids["P1-T1"])
    with app.app_context():
        apply_scope(scope)
        with pytest.raises(health.QueueUnavailable):
            queue.submit("test.probe", root_id=scope.root_id, org_id=world.ids["P1-T1"], scope=scope)
        db.session.rollback()
        db.session.remove()
    assert _count(app, Job) == jobs


@pytest.mark.pg
def test_a_job_lost_by_redis_is_failed_not_queued_forever(world, client, api_token, app, backend, db_urls):
    from redis import Redis

    from tests.foundation.test_jobs import _submit

    qname = f"kaohe-test-{uuid.uuid4().hex[:8]}"
    url = "redis://127.0.0.1:6379/0"
    app.config.update(KAOHE_REDIS_URL=url, KAOHE_RQ_QUEUE=qname, KAOHE_JOBS_MODE="rq")
    conn = Redis.from_url(url)
    try:
        job_id = _submit(app, "test.probe", world.ids["P1-T1"], mode="rq")
        h = api_token("t1admin")
        assert client.get(f"/api/v1/jobs/{job_id}", headers=h).get_json()["status"] == "queued"
        from rq import Queue

        Queue(qname, connection=conn).empty()      # Redis restarted without its data
        conn.delete(f"rq:job:{job_id}")
        _set(app, Job, job_id, created_at=health.now() - dt.timedelta(minutes=5))
        data = client.get(f"/api/v1/jobs/{job_id}", headers=h).get_json()
        assert data["status"] == "failed" and data["message"] == health.LOST_QUEUE
    finally:
        from rq import Queue

        Queue(qname, connection=conn).delete(delete_jobs=True)
        conn.close()


@pytest.mark.pg
def test_two_computations_of_one_province_never_collide(world, app, backend):
    """The second is told which one is running (started ...), as a failed job
    with that message -- not an IntegrityError."""
    from tests.foundation.test_jobs import _job, _scope

    assert health.EXCLUSIVE["annual.compute"] == "root"
    health.EXCLUSIVE["test.slow"] = "root"
    try:
        ids = []
        for node in ("P1-T1", "P1-T2"):
            scope = _scope(app, world.ids[node])
            with app.app_context():
                apply_scope(scope)
                row = queue.create_job("test.slow", root_id=scope.root_id, org_id=world.ids[node], scope=scope,
                                       params={"seconds": 2.0})
                ids.append((row.id, scope))
                db.session.commit()
                db.session.remove()

        def run(job_id, scope):
            with app.app_context():
                queue.run_job(job_id, scope.root_id, list(scope.paths))
                db.session.remove()

        first = threading.Thread(target=run, args=ids[0])
        first.start()
        time.sleep(0.7)
        run(*ids[1])
        first.join()
        a, b = _job(app, ids[0][0]), _job(app, ids[1][0])
        assert a["status"] == "done", a
        assert b["status"] == "failed", b
        assert b["message"].startswith("A computation of this province is already running (started 20"), b
        # Once the first has finished, the next one runs.
        run(*ids[1])
        assert _job(app, ids[1][0])["status"] == "done"
    finally:
        health.EXCLUSIVE.pop("test.slow", None)
