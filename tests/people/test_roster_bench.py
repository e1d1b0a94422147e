"""`kaohe bench roster` runs end to end on a small workbook, prints its
measurements and leaves nothing behind (it rolls its transaction back)."""
from __future__ import annotations

from sqlalchemy import func, select

from kaohe.audit.models import AuditEntry, AuditHead
from kaohe.extensions import db
from kaohe.jobs.models import Job
from kaohe.people.models import LeaderCharge, Person, RosterImport
from kaohe.tenancy.models import OrgNode
from kaohe.tenancy.scope import Scope, apply_scope

TABLES = (OrgNode, Person, LeaderCharge, RosterImport, Job, AuditEntry, AuditHead)


def _counts(app):
    with app.app_context():
        apply_scope(Scope.system())
        counts = {m.__tablename__: db.session.execute(select(func.count()).select_from(m)).scalar_one()
                  for m in TABLES}
        counts["bench_nodes"] = db.session.execute(select(func.count()).select_from(OrgNode).where(
            OrgNode.code.like("BENCHR%") | OrgNode.code.like("BR%-%"))).scalar_one()
        db.session.remove()
        return counts


def test_bench_roster_reports_and_keeps_nothing(app, runner, backend):
    before = _counts(app)
    for _ in range(2):                       # running it twice works
        result = runner.invoke(args=["bench", "roster", "--rows", "50", "--departments", "4"])
        assert result.exit_code == 0, result.output
        out = result.output
        assert f"roster import on {'postgresql' if backend == 'pg' else 'sqlite'}: 50 people rows" in out
        assert "upload + check (people.roster_check job)" in out
        assert "import (people.roster_import job)" in out and "50 created" in out
        assert out.count("rows/s") == 3 and "peak RSS" in out
        assert "check SQL:" in out and "import SQL:" in out and "executemany" in out
        assert "tracemalloc" in out and "Python allocation peak" in out
        assert _counts(app) == before
    assert before["bench_nodes"] == 0


def test_bench_roster_refuses_too_few_rows(app, runner):
    result = runner.invoke(args=["bench", "roster", "--rows", "3", "--departments", "4", "--no-trace"])
    assert result.exit_code != 0 and "--rows must be at least" in result.output
