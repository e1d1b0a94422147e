"""The engine's pipelined path (reader, writer and preparing threads on
PostgreSQL) against the sequential one, and both against the digests the
reference implementation wrote for the same synthetic province."""
import gc
import hashlib
import sys
import threading

import pytest
from sqlalchemy import select

from kaohe.annual import engine
from kaohe.extensions import db
from kaohe.testing import databases

from .conftest import YEAR

# sha256 over "code digest" lines (by unit code) of every current run of the
# synthetic province below (build_synthetic_province(1500, seed 7) in an
# emptied test database), as written by the implementation before the fast
# paths (engine and calc at commit ed303d7).  If the synthetic builder
# changes, regenerate with that implementation.
REFERENCE = {
    "default": "d01df45c4a974f5cffb6321d2a333ab137399d14640de4086fe6a91c1f719872",
    "talks": "acf30d13000b985781ec558fc3c7e27218b9b25fe22805d0e587a70c34dc4965",
}

TALK_RULES = {"eligibility.routine_rules": ["half_hao_none_low", "consecutive_low", "last_place"],
              "routine.low_score": 80, "routine.high_score": 88, "routine.high_streak": 2,
              "annual.special_weight": 0.1,
              # the reference predates these settings: pinned to the behaviour of then
              "eligibility.priority_in_selection": False, "eligibility.talks_both": False}


def _current(root_id):
    from kaohe.annual.models import AnnualAssessment, AnnualResult, AnnualRun
    from kaohe.tenancy.models import OrgNode

    runs = db.session.execute(
        select(OrgNode.code, AnnualRun.digest, AnnualRun.id)
        .join(AnnualAssessment, AnnualAssessment.current_run_id == AnnualRun.id)
        .join(OrgNode, OrgNode.id == AnnualAssessment.org_id)
        .where(AnnualAssessment.root_id == root_id, AnnualAssessment.year == YEAR)).all()
    digests = {code: digest for code, digest, _ in runs}
    rows = db.session.execute(
        select(AnnualResult.org_id, AnnualResult.person_id, AnnualResult.rank_group, AnnualResult.score,
               AnnualResult.grade, AnnualResult.code, AnnualResult.eligible_youxiu, AnnualResult.rank,
               AnnualResult.flags, AnnualResult.talks, AnnualResult.explain)
        .where(AnnualResult.run_id.in_([r for _, _, r in runs])).order_by(AnnualResult.person_id)).all()
    summary = hashlib.sha256("".join(f"{c} {d}\n" for c, d in sorted(digests.items())).encode()).hexdigest()
    return digests, [tuple(r) for r in rows], summary


def _talks(root_id):
    from kaohe.annual.models import AnnualTalk

    return db.session.execute(select(AnnualTalk.person_id, AnnualTalk.kind, AnnualTalk.leader_person_id)
                              .where(AnnualTalk.root_id == root_id).order_by(AnnualTalk.person_id,
                                                                             AnnualTalk.kind)).all()


@pytest.fixture
def province(app, db_urls):
    from kaohe.benchmarks.synthetic import build_synthetic_province

    return build_synthetic_province(1500, databases.admin_url_for(db_urls["owner_url"]), year=YEAR, code="SYN")


def _compute(app, info, **kw):
    from kaohe.audit.service import Actor, reset_actor, set_actor
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.province(info["root_id"]))
        token = set_actor(Actor(None, "test"))
        try:
            units = engine.units_under(db.session.get(OrgNode, info["root_id"]))
            out = engine.compute(units, YEAR, actor="test", **kw)
            db.session.commit()
            apply_scope(Scope.province(info["root_id"]))
            return out, _current(info["root_id"]), _talks(info["root_id"])
        finally:
            reset_actor(token)
            db.session.remove()


@pytest.mark.pg
def test_pipelined_equals_sequential_and_the_reference(app, province):
    from kaohe.annual.policy import policies_for

    def talk_rules(nodes):
        return {k: {**v, **TALK_RULES} for k, v in policies_for(nodes, YEAR).items()}

    before = set(threading.enumerate())
    out_p, (dig_p, rows_p, sum_p), _ = _compute(app, province, chunk_units=7, pipelined=True)
    out_s, (dig_s, rows_s, sum_s), _ = _compute(app, province, chunk_units=500, pipelined=False)
    assert out_p["people"] == out_s["people"] == 1500 and out_p["units"] == out_s["units"] > 14
    assert dig_p == dig_s and rows_p == rows_s
    assert sum_p == REFERENCE["default"]
    # the caller's policies (rules that raise talks), pipelined and not
    _, (dig_tp, rows_tp, sum_tp), talks_p = _compute(app, province, chunk_units=5, pipelined=True,
                                                     policy_of=talk_rules)
    _, (dig_ts, rows_ts, sum_ts), talks_s = _compute(app, province, chunk_units=1, pipelined=False,
                                                     policy_of=talk_rules)
    assert dig_tp == dig_ts and rows_tp == rows_ts and dig_tp != dig_p and sum_ts == sum_tp
    assert talks_p and talks_p == talks_s
    assert sum_tp == REFERENCE["talks"]
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]    # nothing left running


@pytest.mark.pg
def test_failure_while_preparing_leaves_nothing(app, province, monkeypatch):
    from kaohe.annual.models import AnnualRun

    calls = []
    real = engine.org_grades_for

    def failing(nodes, year):
        calls.append(len(nodes))
        if len(calls) == 3:
            raise RuntimeError("policy slice down")
        return real(nodes, year)

    monkeypatch.setattr(engine, "org_grades_for", failing)
    before = set(threading.enumerate())
    with pytest.raises(RuntimeError, match="policy slice down"):
        _compute(app, province, chunk_units=4, pipelined=True)
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]
    with app.app_context():
        from kaohe.tenancy.scope import Scope, apply_scope

        apply_scope(Scope.province(province["root_id"]))
        assert db.session.execute(select(AnnualRun.id)).first() is None      # nothing written
    assert gc.isenabled()


def test_batch_mode_restores_interpreter_settings():
    was = sys.getswitchinterval()
    assert gc.isenabled()
    with engine._batch_mode():
        assert not gc.isenabled() and sys.getswitchinterval() <= engine.SWITCH_INTERVAL
        with engine._batch_mode():          # concurrent computations: the last one restores
            pass
        assert not gc.isenabled()
    assert gc.isenabled() and sys.getswitchinterval() == was
    gc.disable()
    try:
        with engine._batch_mode():
            pass
        assert not gc.isenabled()           # left as the caller had it
    finally:
        gc.enable()


def test_batch_mode_leaves_a_shared_process_alone():
    """Off the main thread (a job thread beside request threads) the
    computation changes nothing process-wide."""
    was = sys.getswitchinterval()
    seen = []

    def run():
        with engine._batch_mode():
            seen.append((gc.isenabled(), sys.getswitchinterval()))

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert seen == [(True, was)]
    assert gc.isenabled() and sys.getswitchinterval() == was


def test_batch_mode_restores_after_a_failure():
    was = sys.getswitchinterval()
    with pytest.raises(RuntimeError):
        with engine._batch_mode():
            assert not gc.isenabled()
            raise RuntimeError("compute failed")
    assert gc.isenabled() and sys.getswitchinterval() == was


def test_compute_restores_settings_and_leaves_job_threads_alone(app, world, t1_seeded, monkeypatch):
    """A whole computation on the main thread (also one that fails between
    chunks) restores the collector and the switch interval; one run on
    another thread never changes them."""
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    was = sys.getswitchinterval()
    during = []

    def after_chunk(ci):
        during.append((threading.current_thread() is threading.main_thread(), gc.isenabled(),
                       sys.getswitchinterval()))

    monkeypatch.setattr(engine, "AFTER_CHUNK", after_chunk)

    def run(fail=False):
        with app.app_context():
            apply_scope(Scope.system("test"))
            try:
                units = [db.session.get(OrgNode, world.ids["P1-T1"])]
                if fail:
                    monkeypatch.setattr(engine, "AFTER_CHUNK", lambda ci: (_ for _ in ()).throw(RuntimeError("x")))
                return engine.compute(units, YEAR, actor="test", chunk_units=1)
            finally:
                db.session.rollback()
                db.session.remove()

    run()
    assert during and all(not on and t <= engine.SWITCH_INTERVAL for main, on, t in during if main)
    assert gc.isenabled() and sys.getswitchinterval() == was
    with pytest.raises(RuntimeError):
        run(fail=True)
    assert gc.isenabled() and sys.getswitchinterval() == was
    monkeypatch.setattr(engine, "AFTER_CHUNK", after_chunk)
    during.clear()
    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert during and all(on and t == was for main, on, t in during)
    assert gc.isenabled() and sys.getswitchinterval() == was


# -- every kind of input, on both databases ------------------------------------------

def seed_rich(world, year=YEAR):
    """Every kind of input the engine reads, on the world's four units:
    routine periods (final, publicised, draft, a monthly period sharing a
    quarter's number), routine results (some without a score), imports,
    reviews with and without votes, special results of every type (also of
    an inactive person and of another year), and every kind of record."""
    import datetime as dt
    import random

    from sqlalchemy import insert

    from kaohe.annual import service
    from kaohe.annual.models import (AnnualRecord, AnnualReview, RoutineImport, SpecialCampaign,
                                     SpecialResult)
    from kaohe.people.models import Person
    from kaohe.routine.models import Period, Result
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    apply_scope(Scope.system("test"))
    rng = random.Random(11)
    units = [db.session.get(OrgNode, world.ids[f"P1-{k}"]) for k in ("T1", "T2", "T3", "T4")]
    root_id = units[0].root_id
    county = db.session.get(OrgNode, world.ids["P1-K1"])
    people = {u.id: list(db.session.execute(select(Person).where(Person.unit_id == u.id)).scalars()) for u in units}
    for u in units[1:]:
        head = None
        for i in range(9):
            p = Person(root_id=root_id, org_id=u.id, unit_id=u.id, staff_no=f"x{i}", name=f"{u.code}-{i}",
                       rank_group="leader" if i < 2 else "staff", supervisor_id=head.id if head else None,
                       hire_date=rng.choice([dt.date(2010, 5, 1), dt.date(year, 3, 1), dt.date(year - 1, 7, 1), None]),
                       probation_end=dt.date(year + 1, 2, 1) if i == 8 else None, active=i != 7)
            db.session.add(p)
            db.session.flush()
            head = head or p
            people[u.id].append(p)
    db.session.flush()
    rp, rr = Period.__table__, Result.__table__
    now = dt.datetime.now(dt.timezone.utc)
    for n, u in enumerate(units):
        periods = [("quarter", q, "publicised" if (n == 3 and q == 4) else "draft" if (n == 2 and q == 4)
                    else "final") for q in (1, 2, 3, 4)]
        if n == 1:
            periods.append(("month", 1, "final"))          # shares seq 1 with the first quarter
        for cycle, seq, state in periods:
            pid = db.session.execute(insert(rp).values(
                root_id=root_id, org_id=u.id, year=year, cycle=cycle, seq=seq, starts_on=dt.date(year, 1, 1),
                ends_on=dt.date(year, 3, 31), state=state, created_at=now, version=1)
                .returning(rp.c.id)).scalar_one()
            rows = []
            for p in people[u.id]:
                if rng.random() < 0.1:
                    continue
                s = None if rng.random() < 0.08 else round(rng.uniform(52, 99), rng.choice([0, 1, 2]))
                g = None if s is None else "hao" if s >= 90 else "jiaohao" if s >= 80 else "yiban" \
                    if s >= 60 else "jiaocha"
                rows.append({"root_id": root_id, "org_id": p.org_id, "period_id": pid, "person_id": p.id,
                             "score": s, "grade": g, "breakdown": {}, "flags": [], "computed_at": now})
            if rows:
                db.session.execute(insert(rr), rows)
    imports = []
    for u in units[2:]:
        for p in people[u.id][:5]:
            for q in (1, 3, 4, 5):
                imports.append({"root_id": root_id, "org_id": u.id, "person_id": p.id, "year": year,
                                "period_no": q, "score": round(rng.uniform(60, 98), 1), "grade": "jiaohao"})
    db.session.execute(insert(RoutineImport), imports)
    for u in units:
        a = service.get_or_open(u, year)
        for p in people[u.id]:
            if rng.random() < 0.1:
                continue
            votes = [rng.randint(0, 9) for _ in range(4)] if rng.random() < 0.4 else [0, 0, 0, 0]
            db.session.add(AnnualReview(
                root_id=root_id, org_id=u.id, assessment_id=a.id, person_id=p.id,
                leader_score=None if rng.random() < 0.1 else round(rng.uniform(55, 98), 1),
                votes_youxiu=votes[0], votes_chenzhi=votes[1], votes_jibenchenzhi=votes[2], votes_buchenzhi=votes[3]))
    db.session.flush()
    camps = {}
    for rtype in ("points", "grade", "comment"):
        c = SpecialCampaign(root_id=root_id, org_id=county.id, year=year, name=f"c-{rtype}", kind="other",
                            result_type=rtype, starts_on=dt.date(year, 1, 1), ends_on=dt.date(year, 12, 1),
                            status="closed")
        db.session.add(c)
        db.session.flush()
        camps[rtype] = c
    old = SpecialCampaign(root_id=root_id, org_id=county.id, year=year - 1, name="old", kind="other",
                          result_type="points", starts_on=dt.date(year - 1, 1, 1), ends_on=dt.date(year - 1, 12, 1),
                          status="closed")
    db.session.add(old)
    db.session.flush()
    specials = []
    for u in units:
        for p in people[u.id]:
            x = rng.random()
            if x < 0.25:
                specials.append({"campaign_id": camps["points"].id, "points": rng.choice([-20.0, 5.0, 15.0, 120.0])})
            if 0.2 < x < 0.45:
                specials.append({"campaign_id": camps["grade"].id, "grade": rng.choice(["hao", "jiaohao", "yiban",
                                                                                        "jiaocha", "other"]),
                                 "score": rng.choice([None, 88.0])})
            if 0.4 < x < 0.5:
                specials.append({"campaign_id": camps["comment"].id, "score": rng.choice([None, 77.5])})
            if x > 0.9:
                specials.append({"campaign_id": old.id, "points": 50.0, "year": year - 1})
            for sp in specials:
                sp.setdefault("person_id", p.id)
    db.session.execute(insert(SpecialResult), [
        {"root_id": root_id, "org_id": county.id, "year": sp.pop("year", year), "grade": sp.pop("grade", None),
         "points": sp.pop("points", None), "score": sp.pop("score", None), "version": 1, **sp} for sp in specials])
    records = []
    kinds = [("leave", year, None, None, None, 100), ("leave", year, None, None, None, 100),
             ("leave", year - 1, None, None, None, 250), ("investigation", year, None, dt.date(year, 2, 1), None, None),
             ("investigation", year, None, dt.date(year, 2, 1), dt.date(year + 1, 1, 10), None),
             ("investigation", year, None, dt.date(year, 2, 1), dt.date(year, 6, 1), None),
             ("sanction", year - 1, "jidaguo", None, None, None), ("sanction", year, "jinggao", None, None, None),
             ("sanction", year - 1, "jiechen", None, None, None), ("sanction", year, "jiguo", None, None, None),
             ("refusal", year, None, None, None, None), ("refusal", year - 1, None, None, None, None)]
    everyone = [(u, p) for u in units for p in people[u.id] if p.active]
    for n, (kind, ryear, skind, start, end, days) in enumerate(kinds):
        u, p = everyone[(max(n, 1) * 5 + 3) % len(everyone)]        # the two leaves: one person
        records.append({"root_id": root_id, "org_id": u.id, "person_id": p.id, "kind": kind, "year": ryear,
                        "sanction_kind": skind, "start_date": start, "end_date": end, "days": days, "version": 1})
    db.session.execute(insert(AnnualRecord), records)
    db.session.commit()
    return root_id


def _compute_rich(app, root_id, **kw):
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.province(root_id))
        try:
            units = engine.units_under(db.session.get(OrgNode, root_id))
            engine.compute(units, YEAR, actor="test", **kw)
            db.session.commit()
            apply_scope(Scope.province(root_id))
            return _current(root_id)
        finally:
            db.session.remove()


def test_every_kind_of_input_same_in_every_chunking(app, world, backend):
    with app.app_context():
        root_id = seed_rich(world)
        db.session.remove()
    one = _compute_rich(app, root_id, chunk_units=1)
    all_ = _compute_rich(app, root_id, chunk_units=400)
    assert one[0] == all_[0] and one[1] == all_[1] and len(one[0]) == 4 and len(one[1]) == 30
    codes = {r[5] for r in one[1]}
    assert {"4", "5A", "5B", "5C", "6A"} <= codes
    if backend == "pg":
        piped = _compute_rich(app, root_id, chunk_units=1, pipelined=True)
        assert piped[0] == one[0] and piped[1] == one[1]


@pytest.mark.pg
@pytest.mark.parametrize("pipelined", [True, False])
def test_every_update_and_delete_names_the_province(app, province, pipelined):
    """On Citus a statement whose WHERE does not fix root_id goes to every shard
    of the table (32 by default), each in a connection of its own: the
    assessment pointers' UPDATE by id alone made a 100,000-person computation
    send 2,671 such fan-outs.  Every UPDATE and DELETE of the computation names
    the province."""
    import re

    from sqlalchemy import event

    seen = []

    def note(conn, cursor, statement, params, context, executemany):
        if re.match(r"\s*(UPDATE|DELETE)\b", statement, re.I):
            seen.append(" ".join(statement.split()))

    with app.app_context():
        engine_ = db.engine
    event.listen(engine_, "before_cursor_execute", note)
    try:
        _compute(app, province, chunk_units=7, pipelined=pipelined)
        _compute(app, province, chunk_units=7, pipelined=pipelined)   # the second run prunes the first
    finally:
        event.remove(engine_, "before_cursor_execute", note)
    assert any(s.upper().startswith("UPDATE ANNUAL_ASSESSMENT") for s in seen), seen
    unrouted = [s for s in seen if not re.search(r"\bWHERE\b.*\broot_id\b", s, re.I)]
    assert not unrouted, sorted({u[:120] for u in unrouted})
