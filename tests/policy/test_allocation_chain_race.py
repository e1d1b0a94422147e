"""Allocations across two levels at once (issue 14.4): the province lowering
a city's allocation while the city hands part of it to a county.  Without a
lock on the whole ancestor chain both could succeed (the city left at 2 with
6 handed down).  200 races on PostgreSQL, two threads each with its own app
context and connection: exactly one of the two succeeds every time and no
level ever hands down more than it has."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import delete, select, update

from kaohe.audit.service import Actor, reset_actor, set_actor
from kaohe.core.errors import Invalid
from kaohe.extensions import db
from kaohe.people.models import Person
from kaohe.policy import quotas
from kaohe.policy.models import QuotaAllocation
from kaohe.tenancy.models import OrgNode
from kaohe.tenancy.scope import Scope, apply_scope

TRIALS = 200
YEAR = 2026


def _over_allocated(p: int, c1: int) -> list[str]:
    """The levels that allocated more than they have: the province against
    its computed total, the city against what the province gave it."""
    alloc = {(o, c): n for o, c, n in db.session.execute(select(
        QuotaAllocation.org_id, QuotaAllocation.child_id, QuotaAllocation.count).where(
        QuotaAllocation.year == YEAR)).all()}
    bad = []
    handed_by_p = sum(n for (o, _c), n in alloc.items() if o == p)
    if handed_by_p > quotas.parent_total(db.session.get(OrgNode, p), YEAR)[0]:
        bad.append(f"province allocated {handed_by_p}")
    city_total = alloc.get((p, c1))
    handed_by_city = sum(n for (o, _c), n in alloc.items() if o == c1)
    if city_total is not None and handed_by_city > city_total:
        bad.append(f"city: total {city_total}, allocated {handed_by_city}")
    return bad


@pytest.mark.pg
def test_province_and_city_allocating_at_once_never_over_allocate(app, world, backend):
    p, c1, k1, t1 = (world.ids[k] for k in ("P1-P", "P1-C1", "P1-K1", "P1-T1"))
    with app.app_context():
        apply_scope(Scope.system("setup"))
        tok = set_actor(Actor(None, "setup"))
        for i in range(60):
            db.session.add(Person(root_id=p, org_id=t1, unit_id=t1, staff_no=f"r{i}", name=f"r{i}"))
        db.session.flush()
        assert quotas.parent_total(db.session.get(OrgNode, p), YEAR)[0] >= 10
        paths = {i: db.session.get(OrgNode, i).path for i in (p, c1)}
        db.session.commit()
        reset_actor(tok)
        db.session.remove()

    go = [threading.Barrier(3) for _ in range(TRIALS)]
    done = [threading.Barrier(3) for _ in range(TRIALS)]
    outcome: list[dict] = [{} for _ in range(TRIALS)]
    errors: list[BaseException] = []

    def worker(name, parent_id, child_id, count):
        with app.app_context():
            # each side sees only its own subtree, as an admin of that level would
            apply_scope(Scope.for_paths(p, [paths[parent_id]], label=name))
            tok = set_actor(Actor(None, name))
            try:
                for i in range(TRIALS):
                    go[i].wait(30)
                    try:
                        quotas.allocate(db.session.get(OrgNode, parent_id), db.session.get(OrgNode, child_id),
                                        YEAR, count)
                        db.session.commit()
                        outcome[i][name] = "ok"
                    except Invalid:
                        db.session.rollback()
                        outcome[i][name] = "refused"
                    except BaseException as exc:      # a deadlock or a 500 fails the test
                        db.session.rollback()
                        outcome[i][name] = repr(exc)
                    db.session.expunge_all()
                    done[i].wait(30)
            except BaseException as exc:
                errors.append(exc)
                raise
            finally:
                reset_actor(tok)
                db.session.remove()

    # the province lowers the city from 10 to 2 / the city hands 6 to the county
    lower = threading.Thread(target=worker, args=("province", p, c1, 2))
    hand = threading.Thread(target=worker, args=("city", c1, k1, 6))
    lower.start(); hand.start()
    started = time.monotonic()
    with app.app_context():
        apply_scope(Scope.system("main"))
        tok = set_actor(Actor(None, "main"))
        try:
            for i in range(TRIALS):
                # reset: the county gets nothing, the city 10 (the service the
                # first time, then plain updates to keep 200 rounds quick)
                if i == 0:
                    quotas.allocate(db.session.get(OrgNode, p), db.session.get(OrgNode, c1), YEAR, 10)
                else:
                    db.session.execute(delete(QuotaAllocation).where(QuotaAllocation.org_id == c1))
                    db.session.execute(update(QuotaAllocation).where(
                        QuotaAllocation.org_id == p, QuotaAllocation.child_id == c1).values(count=10))
                db.session.commit()
                db.session.expunge_all()
                go[i].wait(30)
                done[i].wait(30)
                assert sorted(outcome[i].values()) == ["ok", "refused"], (i, outcome[i])
                assert _over_allocated(p, c1) == [], (i, outcome[i])
                db.session.rollback()
                db.session.expunge_all()
        except BaseException:
            for b in go + done:
                b.abort()           # let the workers stop at once
            raise
        finally:
            reset_actor(tok)
            db.session.remove()
    lower.join(30); hand.join(30)
    assert not errors
    elapsed = time.monotonic() - started
    print(f"{TRIALS} races in {elapsed:.1f} s")
