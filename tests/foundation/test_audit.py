"""The audit log: append-only for the app role, a hash chain per province
that `kaohe audit verify` checks, and appends that stay one chain when two
sessions write at once."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from kaohe.audit.models import AuditEntry, AuditHead
from kaohe.audit.service import record, verify
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


def _entry(owner_engine, root_id, seq):
    with owner_engine.connect() as c:
        return c.execute(text("SELECT id, seq FROM audit_log WHERE root_id = :r AND seq = :s"),
                         {"r": root_id, "s": seq}).one()


def test_every_admin_change_is_audited_with_before_and_after(app, world, backend):
    """The world's own build left entries: who, where, what, before/after."""
    with app.app_context():
        apply_scope(Scope.system("t"))
        rows = db.session.execute(select(AuditEntry).where(AuditEntry.root_id == world.ids["P1-P"])
                                  .order_by(AuditEntry.seq)).scalars().all()
        actions = {r.action for r in rows}
        assert {"org.create", "user.create", "grant.create"} <= actions
        first = rows[0]
        assert first.seq == 1 and first.prev_hash == "0" * 64 and first.actor_name == "test"
        assert first.after["code"] == "P" and first.before is None
        db.session.remove()


def test_verify_passes_on_a_clean_chain(app, world, backend):
    result = _verify_cli(app)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and all(line.endswith(", ok") for line in lines), result.output


def test_verify_detects_an_altered_row(app, world, owner_engine, backend):
    root = world.ids["P1-P"]
    row = _entry(owner_engine, root, 3)
    _tamper(owner_engine, "UPDATE audit_log SET actor_name = 'mallory' WHERE id = :i", {"i": row.id})
    result = _verify_cli(app)
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("  - ")]
    assert problems == [f"  - seq 3: content does not match its hash (entry {row.id} altered)"], result.output
    assert f"province {root}: " in result.output and "BROKEN" in result.output
    assert f"province {world.ids['P2-P']}: " in result.output  # the other chain is reported ok
    assert result.output.strip().splitlines()[-1] == "Error: 1 chain(s) broken"


def test_verify_detects_a_rehashed_row(app, world, owner_engine, backend):
    """Altering a row and recomputing its own hash still breaks the next link."""
    from kaohe.audit.service import entry_hash

    root = world.ids["P1-P"]
    with app.app_context():
        apply_scope(Scope.system("t"))
        e = db.session.execute(select(AuditEntry).where(AuditEntry.root_id == root, AuditEntry.seq == 4)).scalar_one()
        e_id = e.id
        e.actor_name = "mallory"
        new_hash = entry_hash(e)
        db.session.rollback()
        db.session.remove()
    _tamper(owner_engine, "UPDATE audit_log SET actor_name = 'mallory', hash = :h WHERE id = :i",
            {"h": new_hash, "i": e_id})
    result = _verify_cli(app)
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("  - ")]
    assert problems == ["  - seq 5: link to previous entry broken"], result.output


def test_verify_detects_a_deleted_row(app, world, owner_engine, backend):
    root = world.ids["P2-P"]
    row = _entry(owner_engine, root, 5)
    _tamper(owner_engine, "DELETE FROM audit_log WHERE id = :i", {"i": row.id})
    result = _verify_cli(app)
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("  - ")]
    assert problems == ["  - seq 5..5 missing (entries removed)"], result.output


def test_verify_detects_a_deleted_tail(app, world, owner_engine, backend):
    root = world.ids["P1-P"]
    with owner_engine.connect() as c:
        last = c.execute(text("SELECT max(seq) FROM audit_log WHERE root_id = :r"), {"r": root}).scalar_one()
    _tamper(owner_engine, "DELETE FROM audit_log WHERE root_id = :r AND seq = :s", {"r": root, "s": last})
    result = _verify_cli(app)
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("  - ")]
    assert problems == [f"  - chain ends at seq {last - 1} but head says {last} (entries removed at the end)"]


def test_verify_one_province(app, world, owner_engine, backend):
    row = _entry(owner_engine, world.ids["P2-P"], 2)
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
                    _set_db_scope(conn, scope)
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
        seqs = db.session.execute(select(AuditEntry.seq).where(AuditEntry.root_id == root)
                                  .order_by(AuditEntry.seq)).scalars().all()
        head = db.session.get(AuditHead, root)
        reports = {r.root_id: r for r in verify()}
        db.session.remove()
    assert count == 2 * n
    assert seqs == list(range(1, len(seqs) + 1))
    assert head.seq == len(seqs)
    assert reports[root].ok, reports[root].problems
    assert _verify_cli(app).exit_code == 0


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
