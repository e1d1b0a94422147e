"""Two admins allocating at the same moment on PostgreSQL (two real
connections in two threads): exactly one succeeds, the parent's total is
never exceeded."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from kaohe.audit.service import Actor, reset_actor, set_actor
from kaohe.core.errors import Invalid
from kaohe.extensions import db
from kaohe.people.models import Person
from kaohe.policy import quotas
from kaohe.policy.models import QuotaAllocation
from kaohe.tenancy.models import OrgNode
from kaohe.tenancy.scope import Scope, apply_scope


def _people(app, world, n):
    with app.app_context():
        apply_scope(Scope.system("t"))
        t1 = world.ids["P1-T1"]
        for i in range(n):
            db.session.add(Person(root_id=world.ids["P1-P"], org_id=t1, unit_id=t1, staff_no=f"c{i}", name=f"c{i}"))
        db.session.commit()
        db.session.remove()


@pytest.mark.pg
@pytest.mark.parametrize("first_holds", [True, False])
def test_two_concurrent_allocations_exactly_one_succeeds(app, world, backend, first_holds):
    _people(app, world, 14)            # 6 + 14 = 20 people under K1 → 20% = 4
    k1, t1, t2 = world.ids["P1-K1"], world.ids["P1-T1"], world.ids["P1-T2"]
    results: dict[str, str] = {}
    has_lock = threading.Event()
    start = threading.Barrier(2)

    def worker(name, child_id, count, hold):
        with app.app_context():
            apply_scope(Scope.system(name))
            token = set_actor(Actor(None, name))
            try:
                parent = db.session.get(OrgNode, k1)
                child = db.session.get(OrgNode, child_id)
                start.wait()
                if not hold:
                    has_lock.wait(5) if first_holds else None
                try:
                    quotas.allocate(parent, child, 2026, count)
                    if hold:
                        has_lock.set()
                        time.sleep(0.4)        # keep the row lock while the other one tries
                    db.session.commit()
                    results[name] = "ok"
                except Invalid as exc:
                    db.session.rollback()
                    results[name] = "refused: " + exc.errors["count"][0]
                    has_lock.set()
            finally:
                reset_actor(token)
                db.session.remove()

    a = threading.Thread(target=worker, args=("a", t1, 3, True))
    b = threading.Thread(target=worker, args=("b", t2, 3, False))
    a.start(); b.start(); a.join(20); b.join(20)
    assert sorted(v.split(":")[0] for v in results.values()) == ["ok", "refused"], results
    if first_holds:
        assert results["a"] == "ok" and "1 left" in results["b"]
    with app.app_context():
        apply_scope(Scope.system("t"))
        total = db.session.execute(select(func.sum(QuotaAllocation.count)).where(
            QuotaAllocation.org_id == k1)).scalar()
    assert total == 3
