"""Jobs run under the explicit scope stored with them, commit once (a failure
leaves nothing behind and a message without internals), report progress via
the API, and run the same way on an RQ worker against the real Redis."""
from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import func, select, text

from kaohe.core.errors import Invalid
from kaohe.extensions import db
from kaohe.jobs import queue
from kaohe.jobs.models import Job
from kaohe.people.models import Person
from kaohe.tenancy.models import OrgNode
from kaohe.tenancy.scope import Scope, apply_scope, current_scope


@queue.job("test.probe")
def probe_job(ctx, note: str = "") -> dict:
    """What a job can see: its scope, ORM rows and raw SQL rows."""
    scope = current_scope()
    orm_ids = sorted(db.session.execute(select(Person.id)).scalars())
    raw = None
    if db.session.get_bind().dialect.name == "postgresql":
        raw = db.session.execute(text("SELECT count(*) FROM person")).scalar_one()
    ctx.progress(1, 2, "looked")
    ctx.progress(2, 2, "done")
    return {"root_id": scope.root_id, "paths": list(scope.paths), "person_ids": orm_ids, "raw": raw,
            "note": note, "actor": ctx.actor.name}


@queue.job("test.fail")
def failing_job(ctx, org_id: int, root_id: int, kind: str = "runtime") -> dict:
    """Writes, reports progress, then fails: nothing may remain."""
    db.session.add(Person(root_id=root_id, org_id=org_id, unit_id=org_id, staff_no=f"half-{uuid.uuid4().hex[:6]}",
                          name="half written"))
    db.session.flush()
    ctx.progress(1, 3, "wrote one")
    if kind == "invalid":
        raise Invalid({"weights": ["The weights must add up to 1."]})
    raise RuntimeError("internal detail /srv/secret.py line 42")


@queue.job("test.write")
def writing_job(ctx, org_id: int, root_id: int, staff_no: str) -> dict:
    db.session.add(Person(root_id=root_id, org_id=org_id, unit_id=org_id, staff_no=staff_no, name="rq person"))
    db.session.flush()
    ctx.progress(1, 1, "written")
    return {"written": staff_no}


def _scope(app, node_id, user_id=None):
    with app.app_context():
        apply_scope(Scope.system("t"))
        node = db.session.get(OrgNode, node_id)
        scope = Scope.for_paths(node.root_id, [node.path], user_id=user_id, label="test")
        db.session.remove()
    return scope


def _submit(app, kind, node_id, params=None, mode="sync", created_by=None):
    scope = _scope(app, node_id)
    with app.app_context():
        apply_scope(scope)
        job_id = queue.submit(kind, root_id=scope.root_id, org_id=node_id, scope=scope, params=params or {},
                              created_by=created_by, mode=mode)
        db.session.remove()
    return job_id


def _job(app, job_id):
    with app.app_context():
        apply_scope(Scope.system("t"))
        row = db.session.get(Job, job_id)
        data = row.to_dict() | {"scope_paths": row.scope_paths, "root_id": row.root_id}
        db.session.remove()
    return data


def _persons(app):
    with app.app_context():
        apply_scope(Scope.system("t"))
        n = db.session.execute(select(func.count()).select_from(Person)).scalar_one()
        db.session.remove()
    return n


def test_job_runs_under_its_stored_scope(app, world, iso, backend):
    t1 = world.ids["P1-T1"]
    job_id = _submit(app, "test.probe", t1, {"note": "hi"})
    job = _job(app, job_id)
    assert job["status"] == "done", job
    res = job["result"]
    t1_path = job["scope_paths"][0]
    assert res["paths"] == [t1_path] and res["root_id"] == world.ids["P1-P"]
    # Only people of T1's subtree, though the job's query had no filter.
    with app.app_context():
        apply_scope(Scope.system("t"))
        expected = sorted(db.session.execute(select(Person.id).where(
            Person.org_id.in_(select(OrgNode.id).where(OrgNode.path.like(t1_path + "%"))))).scalars())
        everyone = db.session.execute(select(func.count()).select_from(Person)).scalar_one()
        db.session.remove()
    assert res["person_ids"] == expected and 0 < len(expected) < everyone
    if backend == "pg":
        assert res["raw"] == len(expected)  # RLS, not only the ORM filter
    assert job["percent"] == 100 and job["progress"] == job["total"] == 2


def test_job_needs_an_explicit_scope(app, world, backend):
    with app.app_context():
        with pytest.raises(ValueError):
            queue.create_job("test.probe", root_id=world.ids["P1-P"], org_id=world.ids["P1-T1"], scope=Scope())
        db.session.rollback()
        db.session.remove()


def test_a_job_run_without_scope_sees_nothing(app, world, backend):
    """run_job with an empty scope cannot even load its own record: it fails
    closed and the work never runs."""
    t1 = world.ids["P1-T1"]
    scope = _scope(app, t1)
    with app.app_context():
        apply_scope(scope)
        row = queue.create_job("test.probe", root_id=scope.root_id, org_id=t1, scope=scope)
        job_id = row.id
        db.session.commit()
        queue.run_job(job_id, scope.root_id, [])
        db.session.remove()
    assert _job(app, job_id)["status"] == "queued"


@pytest.mark.parametrize("kind", ["runtime", "invalid"])
def test_failing_job_rolls_back_whole(app, world, backend, kind):
    t1, root = world.ids["P1-T1"], world.ids["P1-P"]
    before = _persons(app)
    job_id = _submit(app, "test.fail", t1, {"org_id": t1, "root_id": root, "kind": kind})
    job = _job(app, job_id)
    assert job["status"] == "failed"
    assert job["finished_at"] is not None
    msg = job["message"]
    assert "Traceback" not in msg and "secret" not in msg and "line 42" not in msg
    if kind == "runtime":
        assert msg == "The job failed (RuntimeError); nothing was changed."
    else:
        assert "The weights must add up to 1." in msg
    assert _persons(app) == before


def test_job_status_api_and_pages(app, world, iso, bearer, backend):
    from .conftest import PageClient

    job_id = _submit(app, "test.probe", world.ids["P1-T1"])
    c = app.test_client()
    data = c.get(f"/api/v1/jobs/{job_id}", headers=bearer("t1admin")).get_json()
    assert data["status"] == "done" and data["percent"] == 100 and data["result"]["note"] == ""
    assert c.get(f"/api/v1/jobs/{job_id}", headers=bearer("countysup")).status_code == 200
    # Sibling, other province, unknown, garbage: 404.
    assert c.get(f"/api/v1/jobs/{job_id}", headers=bearer("t2admin")).status_code == 404
    assert c.get(f"/api/v1/jobs/{job_id}", headers=bearer("p2-t1admin")).status_code == 404
    assert c.get(f"/api/v1/jobs/{iso.job['P2-T1']}", headers=bearer("t1admin")).status_code == 404
    assert c.get(f"/api/v1/jobs/{uuid.uuid4()}", headers=bearer("t1admin")).status_code == 404
    assert c.get("/api/v1/jobs/' OR 1=1 --", headers=bearer("t1admin")).status_code == 404
    assert c.get(f"/api/v1/jobs/{job_id}").status_code == 401
    pc = PageClient(app).login("t1admin")
    assert pc.get(f"/jobs/{job_id}").status_code == 200
    assert pc.get(f"/jobs/{job_id}/status").get_json()["status"] == "done"
    frag = pc.get(f"/jobs/{job_id}/status", headers={"HX-Request": "true"})
    assert frag.status_code == 200 and "100" in frag.get_data(as_text=True)
    assert PageClient(app).login("t2admin").get(f"/jobs/{job_id}").status_code == 404


def test_thread_mode_runs_in_background(app, world, bearer, backend):
    job_id = _submit(app, "test.probe", world.ids["P1-T1"], mode="thread")
    h = bearer("t1admin")
    c = app.test_client()
    deadline = time.time() + 20
    status = None
    while time.time() < deadline:
        status = c.get(f"/api/v1/jobs/{job_id}", headers=h).get_json()["status"]
        if status in ("done", "failed"):
            break
        time.sleep(0.05)
    assert status == "done"


@pytest.fixture
def redis_conn():
    from redis import Redis

    conn = Redis.from_url("redis://127.0.0.1:6379/0")
    conn.ping()  # no Redis is a failure, not a skip
    yield conn
    conn.close()


@pytest.mark.pg
def test_rq_worker_runs_the_job(app, world, redis_conn, db_urls, monkeypatch, tmp_path, backend):
    """Enqueue on a private queue of the real Redis, run a SimpleWorker in
    burst mode: the worker builds its own app from the environment (as the
    `kaohe worker` process does) and runs the job under the stored scope."""
    from rq import Queue, SimpleWorker

    from kaohe.shell import worker

    qname = f"kaohe-test-{uuid.uuid4().hex[:8]}"
    url = "redis://127.0.0.1:6379/0"
    for k, v in {"KAOHE_DATABASE_URL": db_urls["app_url"], "KAOHE_REDIS_URL": url, "KAOHE_RQ_QUEUE": qname,
                 "KAOHE_SECRET_KEY": "test-secret", "KAOHE_INSTANCE_PATH": str(tmp_path)}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(worker, "_APP", None)
    app.config.update(KAOHE_REDIS_URL=url, KAOHE_RQ_QUEUE=qname)
    t1, root = world.ids["P1-T1"], world.ids["P1-P"]
    staff_no = f"rq-{uuid.uuid4().hex[:6]}"
    ok_id = _submit(app, "test.write", t1, {"org_id": t1, "root_id": root, "staff_no": staff_no}, mode="rq")
    bad_id = _submit(app, "test.fail", t1, {"org_id": t1, "root_id": root}, mode="rq")
    probe_id = _submit(app, "test.probe", t1, mode="rq")
    assert _job(app, ok_id)["status"] == "queued"
    q = Queue(qname, connection=redis_conn)
    try:
        assert q.count == 3
        SimpleWorker([q], connection=redis_conn).work(burst=True)
        ok, bad, probe = _job(app, ok_id), _job(app, bad_id), _job(app, probe_id)
        assert ok["status"] == "done" and ok["result"] == {"written": staff_no}, ok
        assert bad["status"] == "failed" and "secret" not in bad["message"]
        assert probe["status"] == "done" and probe["result"]["raw"] == len(probe["result"]["person_ids"]) > 0
        with app.app_context():
            apply_scope(Scope.system("t"))
            assert db.session.execute(select(func.count()).select_from(Person)
                                      .where(Person.staff_no == staff_no)).scalar_one() == 1
            assert db.session.execute(select(func.count()).select_from(Person)
                                      .where(Person.name == "half written")).scalar_one() == 0
            db.session.remove()
        assert q.count == 0
    finally:
        q.delete(delete_jobs=True)
        if worker._APP is not None:
            with worker._APP.app_context():
                db.engine.dispose()
