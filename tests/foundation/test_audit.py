"""The audit log: append-only for the app role, hash chains per (province,
lane) -- the lane is the entry's org, 0 the province -- that `kaohe audit
verify` checks, appends to one lane that stay one chain when two sessions
write at once, and appends to two lanes that do not wait for each other."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from kaohe.audit.models import AuditEntry, AuditHead
from kaohe.audit.service import LANE_OPEN, record, verify
from kaohe.extensions import db
from kaohe.tenancy.scope import Scope, _set_db_scope, apply_scope


def _verify_cli(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def _tamper(owner_engine, sql, params=None):
    """Change audit_log as the owner, getting past the append-only trigger."""
    with owner_engine.begin() as c:
        pg = c.dialect.name == "postgresql"
        if pg:
            c.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        c.execute(text(sql), params or {})
        if pg:
            c.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


def _entry(owner_engine, root_id, lane, seq):
    with owner_engine.connect() as c:
        return c.execute(text("SELECT id, seq FROM audit_log WHERE root_id = :r AND lane = :l AND seq = :s"),
                         {"r": root_id, "l": lane, "s": seq}).one()


def _last_seq(owner_engine, root_id, lane):
    with owner_engine.connect() as c:
        return c.execute(text("SELECT max(seq) FROM audit_log WHERE root_id = :r AND lane = :l"),
                         {"r": root_id, "l": lane}).scalar_one()


def _problems(result):
    return [line for line in result.output.splitlines() if line.startswith("  - ")]


def _lane(world, key):
    """The lane label verify uses for the node ``key`` (e.g. 'P1-T1')."""
    code = key[len("P1-"):] if key.startswith("P1-") else key
    return f"lane {world.ids[key]} (org code {code})"


def test_every_admin_change_is_audited_with_before_and_after(app, world, backend):
    """The world's own build left entries: who, where, what, before/after."""
    with app.app_context():
        apply_scope(Scope.system("t"))
        rows = db.session.execute(select(AuditEntry).where(AuditEntry.root_id == world.ids["P1-P"])
                                  .order_by(AuditEntry.id)).scalars().all()
        actions = {r.action for r in rows}
        assert {"org.create", "user.create", "grant.create"} <= actions
        first = rows[0]
        assert first.lane == 0 and first.seq == 1 and first.prev_hash == "0" * 64 and first.actor_name == "test"
        assert first.after["code"] == "P" and first.before is None
        db.session.remove()


def test_verify_passes_on_a_clean_chain(app, world, backend):
    result = _verify_cli(app)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and all(line.endswith(", ok") for line in lines), result.output


def test_verify_detects_an_altered_row(app, world, owner_engine, backend):
    root = world.ids["P1-P"]
    row = _entry(owner_engine, root, world.ids["P1-T1"], 3)
    _tamper(owner_engine, "UPDATE audit_log SET actor_name = 'mallory' WHERE id = :i", {"i": row.id})
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert _problems(result) == [
        f"  - {_lane(world, 'P1-T1')}: seq 3: content does not match its hash (entry {row.id} altered)"], result.output
    assert f"province {root}: " in result.output and "BROKEN" in result.output
    assert f"province {world.ids['P2-P']}: " in result.output  # the other chain is reported ok
    assert result.output.strip().splitlines()[-1] == "Error: 1 chain(s) broken"


def test_verify_detects_a_rehashed_row(app, world, owner_engine, backend):
    """Altering a row and recomputing its own hash still breaks the next link."""
    from kaohe.audit.service import entry_hash

    root = world.ids["P1-P"]
    with app.app_context():
        apply_scope(Scope.system("t"))
        e = db.session.execute(select(AuditEntry).where(AuditEntry.root_id == root, AuditEntry.lane == 0,
                                                        AuditEntry.seq == 4)).scalar_one()
        e_id = e.id
        e.actor_name = "mallory"
        new_hash = entry_hash(e)
        db.session.rollback()
        db.session.remove()
    _tamper(owner_engine, "UPDATE audit_log SET actor_name = 'mallory', hash = :h WHERE id = :i",
            {"h": new_hash, "i": e_id})
    result = _verify_cli(app)
    assert result.exit_code == 1
    # The rehashed row itself has no valid MAC any more (the key is not in the database) ...
    assert _problems(result) == [f"  - province: seq 4: entry {e_id} has no valid MAC (forged: written without "
                                 "the audit key)",
                                 # ... and the next link breaks.
                                 "  - province: seq 5: link to previous entry broken"], result.output


def test_verify_detects_a_deleted_row(app, world, owner_engine, backend):
    root = world.ids["P2-P"]
    row = _entry(owner_engine, root, world.ids["P2-T1"], 5)
    _tamper(owner_engine, "DELETE FROM audit_log WHERE id = :i", {"i": row.id})
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert _problems(result) == [f"  - {_lane(world, 'P2-T1')}: seq 5..5 missing (entries removed)"], result.output
    # And in the province lane: seq 5 there is the record that opened a lane
    # (the world's nodes open theirs in creation order), so that lane is named too.
    row = _entry(owner_engine, root, 0, 5)
    with owner_engine.connect() as c:
        action, opened = c.execute(text("SELECT action, target_id FROM audit_log WHERE id = :i"),
                                   {"i": row.id}).one()
    assert action == LANE_OPEN and int(opened) == world.ids["P2-T1-D1"]
    _tamper(owner_engine, "DELETE FROM audit_log WHERE id = :i", {"i": row.id})
    assert _problems(_verify_cli(app)) == [
        "  - province: seq 5..5 missing (entries removed)",
        f"  - {_lane(world, 'P2-T1')}: seq 5..5 missing (entries removed)",
        f"  - lane {opened} (org code P2-T1-D1): no opening record in the province lane (removed or altered)"]


@pytest.mark.parametrize("lane_key", ["P1-P", "P1-T1"])
def test_verify_detects_a_deleted_tail(app, world, owner_engine, backend, lane_key):
    root = world.ids["P1-P"]
    lane = 0 if lane_key == "P1-P" else world.ids[lane_key]
    last = _last_seq(owner_engine, root, lane)
    _tamper(owner_engine, "DELETE FROM audit_log WHERE root_id = :r AND lane = :l AND seq = :s",
            {"r": root, "l": lane, "s": last})
    result = _verify_cli(app)
    assert result.exit_code == 1
    label = "province" if lane == 0 else _lane(world, lane_key)
    assert _problems(result) == [
        f"  - {label}: chain ends at seq {last - 1} but head says {last} (entries removed at the end)"]


def test_entries_of_two_units_land_in_two_lanes(app, world, backend):
    """Each unit's entries form their own chain 1..n; the province's own
    entries stay in lane 0; a unit's first entry opens its lane with a record
    in lane 0 (the checkpoint that makes a removed lane detectable)."""
    root, t1, t2 = world.ids["P1-P"], world.ids["P1-T1"], world.ids["P1-T2"]
    with app.app_context():
        apply_scope(Scope.province(root))

        def lane_rows(lane):
            return db.session.execute(select(AuditEntry).where(AuditEntry.root_id == root, AuditEntry.lane == lane)
                                      .order_by(AuditEntry.seq)).scalars().all()

        before = {lane: len(lane_rows(lane)) for lane in (0, t1, t2)}
        for i in range(3):
            for org in (t1, t2, root):
                record("test.lanes", root_id=root, org_id=org, target_type="test", target_id=i)
        db.session.commit()
        for lane in (t1, t2, 0):
            rows = lane_rows(lane)
            assert [r.seq for r in rows] == list(range(1, before[lane] + 4))
            assert all(r.org_id == (lane or root) for r in rows if r.action != LANE_OPEN)
            assert rows[0].prev_hash == "0" * 64
            assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
            head = db.session.get(AuditHead, (root, lane))
            assert (head.seq, head.hash) == (rows[-1].seq, rows[-1].hash)
        opens = {r.target_id: r for r in lane_rows(0) if r.action == LANE_OPEN}
        assert {str(t1), str(t2)} <= set(opens) and opens[str(t1)].org_id == t1
        db.session.remove()
    assert _verify_cli(app).exit_code == 0


def test_a_unit_writer_opens_a_new_lane(app, world, backend):
    """A writer scoped to one township (RLS in force on PostgreSQL) opens
    the lane of a new department: the opening record in the province lane is
    owned by the new org, so it is inside the writer's scope."""
    from kaohe.tenancy import service as org_service
    from kaohe.tenancy.models import OrgNode

    root = world.ids["P1-P"]
    with app.app_context():
        apply_scope(Scope.system("t"))
        t1_path = db.session.get(OrgNode, world.ids["P1-T1"]).path
        db.session.rollback()
        apply_scope(Scope.for_paths(root, [t1_path], label="t1"))
        t1 = db.session.get(OrgNode, world.ids["P1-T1"])
        node = org_service.create_child(t1, kind="department", code="T1-D9", name="新科")
        db.session.commit()
        node_id = node.id
        db.session.remove()
    with app.app_context():
        apply_scope(Scope.system("t"))
        rows = db.session.execute(select(AuditEntry).where(AuditEntry.org_id == node_id)
                                  .order_by(AuditEntry.id)).scalars().all()
        db.session.remove()
    assert [(r.lane, r.action) for r in rows] == [(0, LANE_OPEN), (node_id, "org.create")]
    assert _verify_cli(app).exit_code == 0


def test_verify_detects_an_entry_moved_to_another_lane(app, world, owner_engine, backend):
    root, t1, t2 = world.ids["P1-P"], world.ids["P1-T1"], world.ids["P1-T2"]
    row = _entry(owner_engine, root, t1, 5)
    t2_last = _last_seq(owner_engine, root, t2)
    assert t2_last < 4  # the world's T2 lane is shorter than T1's: the moved seq 5 leaves a gap there
    _tamper(owner_engine, "UPDATE audit_log SET lane = :l WHERE id = :i", {"l": t2, "i": row.id})
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert _problems(result) == [
        f"  - {_lane(world, 'P1-T1')}: seq 5..5 missing (entries removed)",
        f"  - {_lane(world, 'P1-T2')}: seq {t2_last + 1}..4 missing (entries removed)",
        f"  - {_lane(world, 'P1-T2')}: seq 5: entry {row.id} of org {t1} is in the wrong lane (moved)",
        f"  - {_lane(world, 'P1-T2')}: chain ends at seq 5 but head says {t2_last} (entries removed at the end)",
    ], result.output


def test_verify_detects_a_removed_head_and_a_head_without_entries(app, world, owner_engine, backend):
    root, t1, t2 = world.ids["P1-P"], world.ids["P1-T1"], world.ids["P1-T2"]
    t1_last, t2_last = _last_seq(owner_engine, root, t1), _last_seq(owner_engine, root, t2)
    _tamper(owner_engine, "DELETE FROM audit_head WHERE root_id = :r AND lane = :l", {"r": root, "l": t1})
    _tamper(owner_engine, "DELETE FROM audit_log WHERE root_id = :r AND lane = :l", {"r": root, "l": t2})
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert _problems(result) == [
        f"  - {_lane(world, 'P1-T1')}: chain ends at seq {t1_last} but the lane has no head (head removed)",
        f"  - {_lane(world, 'P1-T2')}: head says seq {t2_last} but the lane has no entries (entries removed)",
    ], result.output


def test_verify_detects_a_removed_lane(app, world, owner_engine, backend):
    """A lane deleted as a whole (its entries and its head) leaves no broken
    link inside any lane; it is caught by the record of its opening in the
    province lane, which cannot go without breaking that lane."""
    root, t3d1 = world.ids["P1-P"], world.ids["P1-T3-D1"]
    with owner_engine.connect() as c:
        opened_at = c.execute(text("SELECT seq FROM audit_log WHERE root_id = :r AND lane = 0 AND action = :a "
                                   "AND target_id = :t"), {"r": root, "a": LANE_OPEN, "t": str(t3d1)}).scalar_one()
    _tamper(owner_engine, "DELETE FROM audit_log WHERE root_id = :r AND lane = :l", {"r": root, "l": t3d1})
    _tamper(owner_engine, "DELETE FROM audit_head WHERE root_id = :r AND lane = :l", {"r": root, "l": t3d1})
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert _problems(result) == [
        f"  - {_lane(world, 'P1-T3-D1')}: opened at province seq {opened_at} but has neither entries nor a head "
        "(lane removed)"], result.output
    # Removing the opening record too breaks the province lane.
    _tamper(owner_engine, "DELETE FROM audit_log WHERE root_id = :r AND lane = 0 AND seq = :s",
            {"r": root, "s": opened_at})
    assert _problems(_verify_cli(app)) == [f"  - province: seq {opened_at}..{opened_at} missing (entries removed)"]


def test_verify_cannot_see_a_lane_tail_cut_with_its_head_rewound(app, world, owner_engine, backend):
    """The documented limit (as with one chain per province): the owner, who
    can switch the trigger off, deletes a lane's latest entries and rewinds
    its head to the new last entry -- every lane is self-consistent again.
    With lanes this exposes every lane's latest entries, not only the
    province's; only copies of the heads kept elsewhere pin them."""
    root, t1 = world.ids["P1-P"], world.ids["P1-T1"]
    last = _last_seq(owner_engine, root, t1)
    with owner_engine.connect() as c:
        prev_hash = c.execute(text("SELECT hash FROM audit_log WHERE root_id = :r AND lane = :l AND seq = :s"),
                              {"r": root, "l": t1, "s": last - 1}).scalar_one()
    _tamper(owner_engine, "DELETE FROM audit_log WHERE root_id = :r AND lane = :l AND seq = :s",
            {"r": root, "l": t1, "s": last})
    _tamper(owner_engine, "UPDATE audit_head SET seq = :s, hash = :h WHERE root_id = :r AND lane = :l",
            {"s": last - 1, "h": prev_hash, "r": root, "l": t1})
    assert _verify_cli(app).exit_code == 0


def test_verify_one_province(app, world, owner_engine, backend):
    row = _entry(owner_engine, world.ids["P2-P"], 0, 2)
    _tamper(owner_engine, "UPDATE audit_log SET reason = 'x' WHERE id = :i", {"i": row.id})
    ok = app.test_cli_runner().invoke(args=["audit", "verify", "--province", "P"])
    assert ok.exit_code == 0, ok.output
    bad = app.test_cli_runner().invoke(args=["audit", "verify", "--province", "P2-P"])
    assert bad.exit_code == 1
    unknown = app.test_cli_runner().invoke(args=["audit", "verify", "--province", "NOPE"])
    assert unknown.exit_code == 1 and unknown.output.strip() == "Error: unknown province code NOPE"


@pytest.mark.pg
def test_app_role_cannot_change_the_log(app, world, app_engine, backend):
    scope = Scope.system("test")
    for sql in ("UPDATE audit_log SET actor_name = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with app_engine.connect() as conn:
            with pytest.raises(Exception) as exc:
                with conn.begin():
                    with app.app_context(): _set_db_scope(conn, scope)  # noqa: E701  (signs with the app key)
                    conn.execute(text(sql))
            msg = str(exc.value)
            assert "permission denied" in msg or "append-only" in msg, msg
    # Even the owner is stopped by the trigger (tampering needs DDL first).
    owner = app.config["KAOHE_MIGRATE_DATABASE_URL"]
    from sqlalchemy import create_engine

    eng = create_engine(owner)
    try:
        with eng.connect() as c:
            with pytest.raises(Exception) as exc:
                c.execute(text("DELETE FROM audit_log"))
            assert "append-only" in str(exc.value)
    finally:
        eng.dispose()


@pytest.mark.pg
def test_concurrent_appends_keep_one_chain(app, world, backend):
    root, org = world.ids["P1-P"], world.ids["P1-T1"]
    n, errors = 25, []
    barrier = threading.Barrier(2)

    def writer(tag):
        try:
            with app.app_context():
                apply_scope(Scope.province(root, label=tag))
                barrier.wait()
                for i in range(n):
                    record("test.concurrent", root_id=root, org_id=org, target_type="test",
                           target_id=f"{tag}-{i}", after={"i": i})
                    db.session.commit()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    threads = [threading.Thread(target=writer, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with app.app_context():
        apply_scope(Scope.system("t"))
        count = db.session.execute(select(func.count()).select_from(AuditEntry)
                                   .where(AuditEntry.action == "test.concurrent")).scalar_one()
        seqs = db.session.execute(select(AuditEntry.seq).where(AuditEntry.root_id == root, AuditEntry.lane == org)
                                  .order_by(AuditEntry.seq)).scalars().all()
        head = db.session.get(AuditHead, (root, org))
        reports = {r.root_id: r for r in verify()}
        db.session.remove()
    assert count == 2 * n
    assert seqs == list(range(1, len(seqs) + 1))
    assert head.seq == len(seqs)
    assert reports[root].ok, reports[root].problems
    assert _verify_cli(app).exit_code == 0


@pytest.mark.pg
def test_appends_to_two_lanes_do_not_wait_for_each_other(app, world, backend):
    """One transaction holds T1's lane (appended, not committed); another
    appends to T2's lane meanwhile without waiting (a lock timeout would say
    otherwise), while an append to T1's lane does wait (and here times out)."""
    root, t1, t2 = world.ids["P1-P"], world.ids["P1-T1"], world.ids["P1-T2"]
    held, release, errors = threading.Event(), threading.Event(), []

    def holder():
        try:
            with app.app_context():
                apply_scope(Scope.province(root, label="holder"))
                record("test.hold", root_id=root, org_id=t1, target_type="test")
                held.set()
                release.wait(30)
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
            held.set()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(30) and not errors, errors
        with app.app_context():
            apply_scope(Scope.province(root, label="other"))
            db.session.execute(text("SET LOCAL lock_timeout = '5s'"))
            t0 = time.perf_counter()
            other = record("test.other_lane", root_id=root, org_id=t2, target_type="test")
            db.session.commit()
            elapsed = time.perf_counter() - t0
            assert other.lane == t2
            db.session.execute(text("SET LOCAL lock_timeout = '300ms'"))
            with pytest.raises(OperationalError) as exc:
                record("test.same_lane", root_id=root, org_id=t1, target_type="test")
            assert "lock timeout" in str(exc.value)
            db.session.rollback()
            db.session.remove()
    finally:
        release.set()
        thread.join(30)
    assert not errors, errors
    assert elapsed < 2.0, f"the append to another lane waited {elapsed:.2f}s"
    assert _verify_cli(app).exit_code == 0


def _legacy_entries(conn, root_id: int, org_ids: list[int]) -> None:
    """Entries as the code before lanes wrote them: one chain per province
    over every org (the hash payload has not changed)."""
    import datetime as dt

    from sqlalchemy import MetaData, Table

    from kaohe.audit.service import GENESIS, entry_hash

    log = Table("audit_log", MetaData(), autoload_with=conn)
    head = Table("audit_head", MetaData(), autoload_with=conn)
    prev = GENESIS
    for seq, org in enumerate(org_ids, start=1):
        e = {"root_id": root_id, "org_id": org, "seq": seq,
             "created_at": dt.datetime(2026, 11, 30, 8, 0, seq, 123456, tzinfo=dt.timezone.utc),
             "actor_id": None, "actor_name": "legacy", "action": "test.legacy", "target_type": "test",
             "target_id": str(seq), "before": None, "after": {"n": seq}, "reason": None, "prev_hash": prev}
        e["hash"] = entry_hash(e)
        conn.execute(log.insert(), e)
        prev = e["hash"]
    conn.execute(head.insert(), {"root_id": root_id, "seq": len(org_ids), "hash": prev})


def test_migration_keeps_old_chains_valid_as_lane_0(backend, tmp_path):
    """A log written before lanes (one chain per province, entries of many
    orgs) verifies after the upgrade as lane 0 (MACs included); new entries go to lanes; the
    downgrade refuses once lanes are in use (merging would rewrite the log)
    and works while everything is still in lane 0."""
    import uuid

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import create_engine

    from kaohe import create_app
    from kaohe.testing import databases

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'legacy.db'}"
        owner_url = app_url = url
        name = None
    else:
        name = f"kaohe_lanes_{uuid.uuid4().hex[:8]}"
        owner_url, app_url = databases.create_pg_database(name)
    try:
        app = create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                          "SQLALCHEMY_DATABASE_URI": app_url, "KAOHE_MIGRATE_DATABASE_URL": owner_url,
                          "KAOHE_JOBS_MODE": "sync"})
        with app.app_context():
            upgrade(revision="f6_auth_principal")
        # Writing the legacy rows needs more than the owner before g1 (FORCEd RLS binds it): test only.
        eng = create_engine(owner_url if backend == "sqlite" else databases.admin_url_for(owner_url))
        ids = {"P": 1, "T": 2, "D": 3}
        with eng.begin() as c:
            for key, parent, path, depth, kind in (("P", None, "/1/", 0, "province"), ("T", 1, "/1/2/", 1, "township"),
                                                   ("D", 2, "/1/2/3/", 2, "department")):
                c.execute(text("INSERT INTO org_node (id, root_id, parent_id, path, depth, kind, code, name, "
                               "is_assessment_unit, sort_order, created_at, version) VALUES (:i, 1, :p, :path, :d, "
                               ":k, :c, :c, :u, 0, :t, 1)"),
                          {"i": ids[key], "p": parent, "path": path, "d": depth, "k": kind, "c": key,
                           "u": kind == "township", "t": "2026-11-30 08:00:00"})
            _legacy_entries(c, 1, [1, 2, 3, 2, 1, 3])
        with app.app_context():
            # Through f7 (lanes) to the head: g2_audit_mac signs the legacy entries too.
            upgrade(revision="heads")
            apply_scope(Scope.system("t"))
            (report,) = verify()
            assert report.ok and report.entries == 6 and report.lanes == 1, report
            record("test.new", root_id=1, org_id=2, target_type="test")
            record("test.new", root_id=1, org_id=1, target_type="test")
            db.session.commit()
            rows = db.session.execute(select(AuditEntry.lane, AuditEntry.seq, AuditEntry.action)
                                      .order_by(AuditEntry.id)).all()
            assert [tuple(r) for r in rows[6:]] == [(0, 7, LANE_OPEN), (2, 1, "test.new"), (0, 8, "test.new")]
            (report,) = verify()
            assert report.ok and report.entries == 9 and report.lanes == 2, report
            db.session.remove()
            with pytest.raises(SystemExit):  # flask-migrate logs the RuntimeError and exits 1
                downgrade(revision="f6_auth_principal")
        # With the lane-2 entries gone (as the owner, test only), it goes back.
        with eng.begin() as c:
            if c.dialect.name == "postgresql":
                c.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
            c.execute(text("DELETE FROM audit_log WHERE lane <> 0"))
            c.execute(text("DELETE FROM audit_head WHERE lane <> 0"))
            if c.dialect.name == "postgresql":
                c.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
        with app.app_context():
            downgrade(revision="f6_auth_principal")
            db.engine.dispose()
        with eng.connect() as c:
            assert "lane" not in set(c.execute(text("SELECT * FROM audit_log")).keys())
            assert "lane" not in set(c.execute(text("SELECT * FROM audit_head")).keys())
        if backend == "pg":
            with eng.connect() as c:
                rls = c.execute(text("SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                                     "WHERE relname IN ('audit_log', 'audit_head') ORDER BY relname")).all()
                assert [tuple(r) for r in rls] == [("audit_head", True, True), ("audit_log", True, True)]
        eng.dispose()
    finally:
        if name:
            databases.drop_pg_database(name)


def test_audit_entry_commits_with_the_change(app, world, backend):
    """record() flushes in the caller's transaction: a rollback takes the
    entry with it, so the log never describes a change that did not happen."""
    root = world.ids["P1-P"]
    with app.app_context():
        apply_scope(Scope.province(root))
        before = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        record("test.rolled_back", root_id=root, org_id=root, target_type="test")
        db.session.rollback()
        after = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        db.session.remove()
    assert after == before
    assert _verify_cli(app).exit_code == 0


# -- keyed MACs, signed checkpoints (security finding 5) --------------------------------

def _forge_append(owner_engine, root_id, lane, org_id, mac):
    """Append an entry the way SQL alone can: the right seq, link and plain
    hash, a false actor -- but no audit key."""
    import datetime as dt

    from kaohe.audit.service import entry_hash

    with owner_engine.begin() as c:
        seq, prev = c.execute(text("SELECT seq, hash FROM audit_head WHERE root_id = :r AND lane = :l"),
                              {"r": root_id, "l": lane}).one()
        row = {"root_id": root_id, "org_id": org_id, "lane": lane, "seq": seq + 1,
               "created_at": dt.datetime(2026, 1, 1, 8, 0, 0), "actor_id": None, "actor_name": "duoba_admin",
               "action": "annual.grade.adjust", "target_type": "person", "target_id": "1", "before": None,
               "after": None, "reason": "forged", "prev_hash": prev}
        row["hash"] = entry_hash(row)
        c.execute(text("INSERT INTO audit_log (root_id, org_id, lane, seq, created_at, actor_id, actor_name, action, "
                       "target_type, target_id, before, after, reason, prev_hash, hash, mac) VALUES (:root_id, "
                       ":org_id, :lane, :seq, :created_at, :actor_id, :actor_name, :action, :target_type, :target_id, "
                       "NULL, NULL, :reason, :prev_hash, :hash, :mac)"), {**row, "mac": mac})
        c.execute(text("UPDATE audit_head SET seq = :s, hash = :h WHERE root_id = :r AND lane = :l"),
                  {"s": seq + 1, "h": row["hash"], "r": root_id, "l": lane})


@pytest.mark.parametrize("mac", [None, "0" * 64])
def test_forged_entry_with_correct_hash_is_detected(app, world, owner_engine, mac, backend):
    assert _verify_cli(app).exit_code == 0
    root = world.ids["P1-P"]
    _forge_append(owner_engine, root, 0, root, mac)
    result = _verify_cli(app)
    assert result.exit_code == 1, result.output
    assert any("has no valid MAC" in p for p in _problems(result)), result.output


def test_checkpoint_detects_rewound_heads_and_deleted_lanes(app, world, owner_engine, tmp_path, backend):
    cp = tmp_path / "heads.json"
    out = app.test_cli_runner().invoke(args=["audit", "checkpoint", "--out", str(cp)])
    assert out.exit_code == 0, out.output
    ok = app.test_cli_runner().invoke(args=["audit", "verify", "--checkpoint", str(cp)])
    assert ok.exit_code == 0, ok.output
    # Truncate a lane's tail and rewind its head: the chain alone still verifies.
    root, t1 = world.ids["P1-P"], world.ids["P1-T1"]
    last = _last_seq(owner_engine, root, t1)
    with owner_engine.connect() as c:
        prev_hash = c.execute(text("SELECT hash FROM audit_log WHERE root_id = :r AND lane = :l AND seq = :s"),
                              {"r": root, "l": t1, "s": last - 1}).scalar_one()
    _tamper(owner_engine, "DELETE FROM audit_log WHERE root_id = :r AND lane = :l AND seq = :s",
            {"r": root, "l": t1, "s": last})
    _tamper(owner_engine, "UPDATE audit_head SET seq = :s, hash = :h WHERE root_id = :r AND lane = :l",
            {"s": last - 1, "h": prev_hash, "r": root, "l": t1})
    # Delete every entry and head of the other province.
    p2 = world.ids["P2-P"]
    _tamper(owner_engine, "DELETE FROM audit_log WHERE root_id = :r", {"r": p2})
    _tamper(owner_engine, "DELETE FROM audit_head WHERE root_id = :r", {"r": p2})
    assert _verify_cli(app).exit_code == 0  # what the database alone can tell
    bad = app.test_cli_runner().invoke(args=["audit", "verify", "--checkpoint", str(cp)])
    assert bad.exit_code == 1, bad.output
    problems = "\n".join(_problems(bad))
    assert f"province {root} lane {t1}: head at seq {last - 1}, the checkpoint has seq {last}" in problems
    assert f"province {p2} lane 0:" in problems and "lane deleted" in problems
    # A checkpoint file edited to match is refused.
    import json

    doc = json.loads(cp.read_text())
    doc["lanes"] = [c for c in doc["lanes"] if c["root_id"] != p2]
    cp.write_text(json.dumps(doc))
    edited = app.test_cli_runner().invoke(args=["audit", "verify", "--checkpoint", str(cp)])
    assert edited.exit_code == 1 and "signature does not verify" in edited.output


def test_actor_is_always_the_authenticated_principal(app, world, backend):
    """Inside an authenticated request an entry names the caller, whatever
    actor the code passes or set (security finding 5)."""
    from flask_login import login_user

    from kaohe.audit.service import Actor, reset_actor, set_actor
    from kaohe.auth.models import User

    with app.test_request_context():
        apply_scope(Scope.system("t"))
        user = db.session.execute(select(User).where(User.username == "t1admin")).scalar_one()
        login_user(user)
        token = set_actor(Actor(None, "duoba_admin"))
        try:
            root, org = world.ids["P1-P"], world.ids["P1-T1"]
            e1 = record("test.forged_actor", root_id=root, org_id=org, target_type="x",
                        actor=Actor(1, "someone_else"))
            e2 = record("test.forged_actor", root_id=root, org_id=org, target_type="x")
        finally:
            reset_actor(token)
        assert (e1.actor_id, e1.actor_name) == (user.id, "t1admin")
        assert (e2.actor_id, e2.actor_name) == (user.id, "t1admin")
        db.session.rollback()
