"""The computation on both databases: results, idempotence, crash safety."""
import pytest
from sqlalchemy import select

from kaohe.extensions import db

from .conftest import YEAR


def _results(aid):
    from kaohe.annual.models import AnnualAssessment, AnnualResult

    a = db.session.get(AnnualAssessment, aid)
    rows = db.session.execute(select(AnnualResult).where(AnnualResult.run_id == a.current_run_id)
                              .order_by(AnnualResult.person_id)).scalars().all()
    return a.current_run_id, [(r.person_id, r.score, r.grade, r.code, r.rank, r.eligible_youxiu, r.flags, r.explain)
                              for r in rows]


def _compute(runner, code="T1", year=YEAR):
    return runner.invoke(args=["annual", "compute", code, "--year", str(year)])


def test_compute_cli_gives_quota_and_codes(app, world, t1_seeded, runner):
    res = _compute(runner)
    assert res.exit_code == 0, res.output
    with app.app_context():
        from kaohe.tenancy.scope import Scope, apply_scope

        apply_scope(Scope.system("t"))
        run, rows = _results(t1_seeded["assessment_id"])
        by = {r[0]: r for r in rows}
        p = t1_seeded["people"]
        assert by[p["head"]][2] == "youxiu"               # 6 graded × 20% = 1 place
        assert by[p["deputy"]][2] == "chenzhi"
        assert by[p["d2staff"]][2] == "jibenchenzhi" and by[p["d2staff"]][3] == "3"
        assert sum(1 for r in rows if r[2] == "youxiu") == 1


def test_rerun_identical_rows(app, world, t1_seeded, runner):
    assert _compute(runner).exit_code == 0
    with app.app_context():
        from kaohe.tenancy.scope import Scope, apply_scope

        apply_scope(Scope.system("t"))
        run1, rows1 = _results(t1_seeded["assessment_id"])
        db.session.remove()
    assert _compute(runner).exit_code == 0
    with app.app_context():
        apply_scope(Scope.system("t"))
        run2, rows2 = _results(t1_seeded["assessment_id"])
        from kaohe.annual.models import AnnualRun

        digests = db.session.execute(select(AnnualRun.digest).where(AnnualRun.id.in_([run1, run2]))).scalars().all()
    assert run1 != run2 and rows1 == rows2
    assert len(set(digests)) == 1


def test_failure_halfway_leaves_previous_result_whole(app, world, runner, t1_seeded):
    """Compute the whole province (T1..T4 = several chunks), then inject a
    failure after the first chunk of a rerun: the previous results stay
    current and complete; a rerun afterwards gives identical rows."""
    from kaohe.annual import engine

    assert _compute(runner, "P").exit_code == 0
    with app.app_context():
        from kaohe.tenancy.scope import Scope, apply_scope

        apply_scope(Scope.system("t"))
        before = _results(t1_seeded["assessment_id"])
        db.session.remove()

    def boom(i):
        raise RuntimeError("killed halfway")

    engine.AFTER_CHUNK = boom
    old_chunk = engine.compute.__kwdefaults__["chunk_units"]
    engine.compute.__kwdefaults__["chunk_units"] = 1
    try:
        res = _compute(runner, "P")
    finally:
        engine.AFTER_CHUNK = None
        engine.compute.__kwdefaults__["chunk_units"] = old_chunk
    assert res.exit_code != 0 and "nothing was changed" in res.output
    with app.app_context():
        apply_scope(Scope.system("t"))
        assert _results(t1_seeded["assessment_id"]) == before
        from kaohe.annual.models import AnnualResult, AnnualRun

        # no orphan run or half-written rows
        runs = db.session.execute(select(AnnualRun.id)).scalars().all()
        assert before[0] in runs
        orphans = db.session.execute(select(AnnualResult.id).where(AnnualResult.run_id.not_in(runs))).all()
        assert not orphans
        db.session.remove()
    assert _compute(runner, "P").exit_code == 0
    with app.app_context():
        apply_scope(Scope.system("t"))
        after = _results(t1_seeded["assessment_id"])
    assert after[0] != before[0] and after[1] == before[1]


def test_unknown_code_one_line_error(runner, world):
    res = _compute(runner, "NOPE")
    assert res.exit_code != 0 and "unknown org code" in res.output and "Traceback" not in res.output


def test_low_scores_raise_talk_tasks_closed_by_the_record(app, world, runner):
    from .conftest import seed_unit

    with app.app_context():
        ids, aid = seed_unit(world, {"head": 96, "deputy": 92, "d1head": 88, "d1staff": 55, "d2head": 79,
                                     "d2staff": 84})
        db.session.remove()
    from kaohe.extensions import db as _db

    with app.app_context():
        from kaohe.annual import engine
        from kaohe.annual.models import AnnualTalk
        from kaohe.annual.talks import record_talk
        from kaohe.routine.models import Task
        from kaohe.tenancy.models import OrgNode
        from kaohe.tenancy.scope import Scope, apply_scope

        from kaohe.annual.policy import DEFAULTS

        def low_rules(nodes):
            return {n.id: {**DEFAULTS, "eligibility.routine_rules": ["consecutive_low"],
                           "eligibility.talks_both": False} for n in nodes}

        apply_scope(Scope.system("t"))
        t1 = _db.session.get(OrgNode, world.ids["P1-T1"])
        # consecutive_low is a routine→annual rule the policy switches on
        engine.compute([t1], YEAR, policy_of=low_rules)
        _db.session.commit()
        talks = _db.session.execute(select(AnnualTalk)).scalars().all()
        assert [(t.person_id, t.kind) for t in talks] == [(ids["d1staff"], "reminder")]
        assert talks[0].leader_person_id is not None           # the person's supervisor
        task = Task.__table__
        rows = _db.session.execute(select(task.c.status, task.c.assignee_person_id).where(
            task.c.source_type == "annual_talk")).all()
        assert rows == [("open", talks[0].leader_person_id)]
        from kaohe.core.clock import local_today

        record_talk(talks[0], local_today(), "谈话记录：指出连续低分的原因并提出改进要求")
        _db.session.commit()
        assert _db.session.execute(select(task.c.status).where(task.c.source_type == "annual_talk")).scalar_one() == "done"
        # recomputing does not raise the same talk twice
        engine.compute([t1], YEAR, policy_of=low_rules)
        _db.session.commit()
        assert len(_db.session.execute(select(AnnualTalk)).scalars().all()) == 1
        # seed 000 (eligibility.talks_both, the default): a criticism talk for each low quarter as well
        engine.compute([t1], YEAR, policy_of=lambda nodes: {n.id: {**DEFAULTS, "eligibility.routine_rules": [
            "consecutive_low"]} for n in nodes})
        _db.session.commit()
        kinds = sorted(t.kind for t in _db.session.execute(select(AnnualTalk)).scalars())
        assert kinds == ["criticism_p1", "criticism_p2", "criticism_p3", "criticism_p4", "reminder"]
        titles = _db.session.execute(select(task.c.title).where(task.c.source_type == "annual_talk",
                                                                task.c.status == "open")).scalars().all()
        assert len(titles) == 4 and all("批评教育谈话" in t for t in titles)


@pytest.mark.pg
def test_killed_process_leaves_previous_result(app, world, t1_seeded, runner, db_urls):
    """A real `kaohe annual compute` process killed (SIGKILL) after its first
    chunk: the previous results stay current and whole; a rerun gives the
    same rows."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    assert _compute(runner, "P").exit_code == 0
    from kaohe.jobs.models import Job
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system("t"))
        before = _results(t1_seeded["assessment_id"])
        jobs_before = db.session.execute(select(Job.id)).scalars().all()
        db.session.remove()
    env = dict(os.environ, KAOHE_DATABASE_URL=db_urls["app_url"], KAOHE_MIGRATE_DATABASE_URL=db_urls["owner_url"],
               KAOHE_ANNUAL_PAUSE_AFTER_CHUNK="30",
               KAOHE_SECRET_KEY="test-secret")  # the key the database was migrated with signs the scope
    kaohe = str(Path(sys.executable).with_name("kaohe"))
    proc = subprocess.Popen([kaohe, "annual", "compute", "P", "--year", str(YEAR), "--chunk-units", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        started = False
        while time.time() < deadline and not started:
            time.sleep(0.5)
            with app.app_context():
                apply_scope(Scope.system("t"))
                started = db.session.execute(select(Job.id).where(
                    Job.id.not_in(jobs_before), Job.progress >= 1)).first() is not None
                db.session.remove()
        assert started, "the computation never reported its first chunk"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    # The server notices the dead client on its next read; make sure its
    # backends are gone (and their transactions rolled back) before checking.
    from sqlalchemy import create_engine, text

    eng = create_engine(db_urls["owner_url"], isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        for _ in range(60):
            left = c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()")).scalar()
            if not left:
                break
            time.sleep(0.5)
        c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"))
    eng.dispose()
    with app.app_context():
        apply_scope(Scope.system("t"))
        assert _results(t1_seeded["assessment_id"]) == before
        from kaohe.annual.models import AnnualResult, AnnualRun

        runs = db.session.execute(select(AnnualRun.id)).scalars().all()
        assert not db.session.execute(select(AnnualResult.id).where(AnnualResult.run_id.not_in(runs))).all()
        db.session.remove()
    assert _compute(runner, "P").exit_code == 0
    with app.app_context():
        apply_scope(Scope.system("t"))
        after = _results(t1_seeded["assessment_id"])
    assert after[0] != before[0] and after[1] == before[1]
