"""Kaohe on a real three-node Citus cluster (issue 15).  Run by .ci/run with
KAOHE_TEST_CITUS=1 (then the PostgreSQL database of the run is made on the
cluster and distributed by `kaohe db distribute`); deselected otherwise.  They
fail, never skip, when the cluster cannot be used."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import create_engine, select, text

from kaohe.extensions import db

pytestmark = [pytest.mark.citus, pytest.mark.pg]


def _owner(pg_database):
    return create_engine(pg_database["owner_url"])


def test_tables_are_placed_and_colocated(pg_database, backend):
    from kaohe.core import citus

    eng = _owner(pg_database)
    try:
        with eng.connect() as c:
            assert citus.citus_present(c)
            workers = c.execute(text("SELECT count(*) FROM pg_dist_node WHERE groupid <> 0 AND isactive")).scalar()
            assert workers >= 2
            tables, _ = citus.catalog(c)
            placed = dict(c.execute(text(
                "SELECT logicalrelid::regclass::text, partmethod FROM pg_dist_partition")).all())
            groups = c.execute(text("SELECT count(DISTINCT colocationid) FROM pg_dist_partition "
                                    "WHERE partmethod = 'h'")).scalar()
            # Shards of the distributed tables are on more than one worker.
            nodes = c.execute(text("SELECT count(DISTINCT nodename || nodeport) FROM citus_shards "
                                   "WHERE citus_table_type = 'distributed'")).scalar()
    finally:
        eng.dispose()
    for t, kind in tables.items():
        if kind == "distributed":
            assert placed.get(t) == "h", f"{t} is not distributed"
        elif kind == "reference":
            assert placed.get(t) == "n", f"{t} is not a reference table"
        else:
            assert t not in placed, f"{t} should stay on the coordinator"
    assert groups == 1, "the distributed tables are not all co-located"
    assert nodes >= 2


def test_distribute_again_is_a_no_op(app, backend):
    result = app.test_cli_runner().invoke(args=["db", "distribute"])
    assert result.exit_code == 0, result.output
    assert "already placed" in result.output


def _routine_quarter(unit, year: int, q: int, rng):
    from kaohe.routine import demo as routine_demo
    from kaohe.routine.indicators import save_indicator
    from kaohe.routine.schemes import save_scheme

    for ind in routine_demo.LIBRARY:
        save_indicator(unit, dict(ind))
    # The demo pack's province holds ZZ/ZF/LZ as mandatory common indicators; this world's province
    # has none, so the unit keeps them as its own for the demo schemes to add up.
    for code in routine_demo.MANDATORY:
        save_indicator(unit, {"code": code, "name": code, "dimension": "de", "kind": "graded",
                              "levels": {"you": 10, "liang": 8, "zhong": 6, "cha": 3}})
    for s in routine_demo.SCHEMES:
        save_scheme(unit, dict(s))
    return routine_demo._finished_quarter(unit, year, q, rng)


def test_province_end_to_end_quarter_annual_filed(app, world, backend):
    """A township of the world: a routine quarter to final, the annual
    assessment computed, confirmed, publicised, notified and filed."""
    from kaohe.annual import engine
    from kaohe.annual import service as annual
    from kaohe.annual.models import AnnualAssessment, AnnualOutcome, AnnualReview, RoutineImport
    from kaohe.audit.service import Actor, reset_actor, set_actor
    from kaohe.people.models import Person
    from kaohe.routine.models import Result
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    year = 2025
    with app.test_request_context():
        apply_scope(Scope.province(world.ids["P1-P"], label="citus-e2e"))
        token = set_actor(Actor(None, "citus-e2e"))
        try:
            t1 = db.session.get(OrgNode, world.ids["P1-T1"])
            period = _routine_quarter(t1, year, 4, random.Random(15))
            assert period.state == "final"
            results = db.session.execute(select(Result).where(Result.period_id == period.id)).scalars().all()
            assert results and all(r.root_id == t1.root_id for r in results)
            people = db.session.execute(select(Person).where(Person.unit_id == t1.id)).scalars().all()
            a = annual.get_or_open(t1, year)
            for p in people:   # the first three quarters as imported results, and the leaders' reviews
                for q in (1, 2, 3):
                    db.session.add(RoutineImport(root_id=t1.root_id, org_id=t1.id, person_id=p.id, year=year,
                                                 period_no=q, score=85, grade="jiaohao"))
                db.session.add(AnnualReview(root_id=t1.root_id, org_id=t1.id, assessment_id=a.id, person_id=p.id,
                                            leader_score=85))
            db.session.flush()
            engine.compute([t1], year, actor="citus-e2e")
            db.session.refresh(a)
            for r in annual.current_results(a):
                if "tie_at_line" in (r.flags or []):
                    annual.adjust(a, r.person_id, "chenzhi", "考核委员会表决（名额线并列）")
            annual.confirm(a)
            with annual.as_of(dt.date(year + 1, 1, 5)):          # official acts are dated "today" (issue 12)
                annual.publish(a)
            notice_day = a.publicity_end + dt.timedelta(days=1)
            with annual.as_of(notice_day):
                annual.notify(a)
            with annual.as_of(notice_day + dt.timedelta(days=60)):   # every review/appeal window has closed
                annual.file_with_above(a)
            db.session.commit()
            aid = a.id
        finally:
            reset_actor(token)
        db.session.remove()
        apply_scope(Scope.province(world.ids["P1-P"], label="citus-e2e"))
        a = db.session.get(AnnualAssessment, aid)
        assert a.status == "filed"
        outs = db.session.execute(select(AnnualOutcome).where(AnnualOutcome.assessment_id == aid)).scalars().all()
        assert len(outs) == len(people) and all(o.grade for o in outs)
        # The other province sees none of it (through RLS on the workers).
        db.session.remove()
        apply_scope(Scope.province(world.ids["P2-P"], label="citus-e2e"))
        assert db.session.get(AnnualAssessment, aid) is None
        assert db.session.execute(select(AnnualOutcome)).scalars().all() == []
        db.session.remove()


def test_synthetic_province_annual_compute(app, pg_database, backend):
    """The annual computation of a small synthetic province on the cluster."""
    from kaohe.annual import engine
    from kaohe.benchmarks.synthetic import build_synthetic_province
    from kaohe.audit.service import Actor, reset_actor, set_actor
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    year = 2026
    info = build_synthetic_province(600, pg_database["owner_url"], year=year, code="CITUS600")
    with app.app_context():
        apply_scope(Scope.province(info["root_id"], label="citus-bench"))
        token = set_actor(Actor(None, "citus-bench"))
        try:
            root = db.session.get(OrgNode, info["root_id"])
            out = engine.compute(engine.units_under(root), year, actor="citus-bench")
            db.session.commit()
        finally:
            reset_actor(token)
        db.session.remove()
    assert out["people"] == info["people"] == 600
    eng = _owner(pg_database)
    try:
        with eng.connect() as c:
            n = c.execute(text("SELECT count(*) FROM annual_result r JOIN annual_assessment a ON a.current_run_id = "
                               "r.run_id AND a.root_id = r.root_id WHERE a.root_id = :r AND a.year = :y"),
                          {"r": info["root_id"], "y": year}).scalar()
    finally:
        eng.dispose()
    assert n == 600


def test_annual_bench_floor_runs_on_the_cluster(app, pg_database, backend):
    """`kaohe bench annual --database-url <coordinator>`'s floor: the inputs COPYed
    out as the app role under the province's scope (unbound to a backend pid:
    on Citus the policies also run in the workers' backends), the results COPYed
    into a table distributed with annual_result."""
    from kaohe.annual import engine
    from kaohe.audit.service import Actor, reset_actor, set_actor
    from kaohe.benchmarks.annual import _floor
    from kaohe.benchmarks.synthetic import build_synthetic_province
    from kaohe.core.scopesig import derive_key
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    year = 2026
    info = build_synthetic_province(150, pg_database["owner_url"], year=year, code="CITUSFLOOR")
    with app.app_context():
        apply_scope(Scope.province(info["root_id"], label="citus-bench"))
        token = set_actor(Actor(None, "citus-bench"))
        try:
            root = db.session.get(OrgNode, info["root_id"])
            engine.compute(engine.units_under(root), year, actor="citus-bench")
            db.session.commit()
        finally:
            reset_actor(token)
        db.session.remove()
        key = derive_key(app.config)
    run_sql = f"SELECT current_run_id FROM annual_assessment WHERE root_id = {info['root_id']} AND year = {year}"
    seconds, rows = _floor(pg_database["app_url"], pg_database["owner_url"], {"root_id": info["root_id"], "key": key},
                           info["root_id"], year, info["routine_in"], run_sql)
    assert rows == 150 and seconds > 0


def test_http_bench_floor_serves_on_the_cluster(app, world, api_token, backend, monkeypatch):
    """`kaohe bench http --database-url <coordinator>`'s floor app signs a
    person in and reads their tasks on the cluster, as the app role."""
    import io
    import json

    from kaohe.benchmarks.floor import Floor
    from kaohe.benchmarks.http import _libpq

    import re

    import psycopg

    sent = []
    execute = psycopg.Cursor.execute

    def noting(self, query, params=None, **kw):
        sent.append(" ".join(str(query).split()))
        return execute(self, query, params, **kw)

    monkeypatch.setattr(psycopg.Cursor, "execute", noting)
    auth = api_token("t1staff")["Authorization"]
    floor = Floor(_libpq(app.config["SQLALCHEMY_DATABASE_URI"]), app.config["SECRET_KEY"], pool_size=1)
    try:
        def call(method, path, body=b""):
            got = {}
            env = {"PATH_INFO": path, "REQUEST_METHOD": method, "HTTP_AUTHORIZATION": auth,
                   "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
            data = b"".join(floor(env, lambda status, headers: got.setdefault("status", status)))
            return got["status"], json.loads(data)

        status, out = call("POST", "/floor/sign", json.dumps({"what": "in"}).encode())
        assert status.startswith("200"), out
        status, out = call("GET", "/floor/read")
        assert status.startswith("200") and isinstance(out, list), out
    finally:
        floor.pool.close()
    # Every read of a tenant table names the province: on Citus one shard, not all of them.
    tenant = [s for s in sent if re.search(r"\bFROM (person|routine_task|audit_head)\b", s)]
    assert tenant and not [s for s in tenant if not re.search(r"\bWHERE\b.*\broot_id = ", s)], tenant
    eng = create_engine(app.config["KAOHE_MIGRATE_DATABASE_URL"])
    try:
        with eng.connect() as c:
            n = c.execute(text("SELECT count(*) FROM routine_attendance a JOIN user_account u "
                               "ON u.person_id = a.person_id WHERE u.username = 't1staff'")).scalar()
    finally:
        eng.dispose()
    assert n == 1


def test_scope_holds_when_a_long_transaction_reaches_a_worker_late(app, world, pg_database, backend):
    """A worker's transaction starts when the coordinator first reaches it: in a
    long job that is long after the scope was minted.  The scope still holds
    there (it failed "not for this transaction" when the worker judged by its
    own start), and it still confines the rows to the province."""
    import time

    import psycopg

    from kaohe.benchmarks.http import _libpq
    from kaohe.core import scopesig
    from kaohe.tenancy.scope import Scope

    key = scopesig.derive_key(app.config)
    root = world.ids["P1-P"]
    with psycopg.connect(_libpq(pg_database["app_url"])) as conn:
        conn.execute(scopesig.set_local_sql(scopesig.sign(key, scopesig.payload(Scope.province(root), pid=None))))
        first = conn.execute("SELECT count(*) FROM person WHERE root_id = %s", (root,)).fetchone()[0]
        time.sleep(scopesig.MINTED_SLACK + 2)
        # Every shard: the worker not reached yet gets a connection (and a transaction) only now.
        later = conn.execute("SELECT count(*) FROM person").fetchone()[0]
        roots = {r[0] for r in conn.execute("SELECT DISTINCT root_id FROM person").fetchall()}
    assert first > 0 and later == first and roots == {root}


@pytest.mark.citus
def test_policies_verify_the_scope_once_per_row_and_read_the_key_on_their_node(pg_database):
    """Citus cannot take the InitPlans of plain PostgreSQL, so every row evaluates the policy:
    it is one function per policy kind (one verification of the signed scope per row, not
    three to five), and kaohe_scope() reads the key from the reference table's shard on its
    own node (the reference table itself went through Citus's planner on every call)."""
    from sqlalchemy import create_engine, text

    eng = create_engine(pg_database["owner_url"])
    try:
        with eng.connect() as c:
            quals = dict(c.execute(text("SELECT tablename, qual FROM pg_policies WHERE tablename IN "
                                        "('person', 'org_node', 'user_account', 'api_token')")).all())
            shard = c.execute(text("SELECT shardid FROM pg_dist_shard "
                                   "WHERE logicalrelid = 'kaohe_scope_key'::regclass")).scalar()
            bodies = c.execute(text("SELECT result FROM run_command_on_all_nodes("
                                    "$$SELECT prosrc FROM pg_proc WHERE proname = 'kaohe_scope'$$)")).scalars().all()
    finally:
        eng.dispose()
    assert quals["person"] == "kaohe_row_org(root_id, org_id)"
    assert quals["org_node"].startswith("kaohe_row_org_node(")
    assert quals["user_account"].startswith("kaohe_row_user(")
    assert quals["api_token"].startswith("kaohe_row_token(")
    assert len(bodies) == 3 and all(f"public.kaohe_scope_key_{shard}" in b for b in bodies), bodies
