"""NOT COLLECTED YET (wip_ prefix): unfinished.  With 3 examples the
invariants hold but the walks do not reach the notice; with 15 examples the
examples are not isolated (state leaks between them although every example
ends with a rollback -- suspected: the SQLite driver's savepoint handling in
the audit lane opening, or something else committing), and hypothesis
reports FlakyStrategyDefinition.  To finish: isolate each example (fresh
unit per example, or a connection-level outer transaction), then rename to
test_procedure_stateful.py.

Issue 12: the annual procedure under random sequences of actions
(adjust, confirm, publish, advance the clock, notice, review and
appeal, decide, file, correct) taken by random actors on random dates, with
typed dates that try to back-date or post-date the official acts.  After
every step:

* no notice before the 公示 has run its working days (and never dated
  other than the day it was issued);
* no filing with an open review/appeal window unless the decision to file
  with open cases was recorded (with its reason);
* every change after the notice has an audit entry and restarts the windows
  (a correction leaves every outcome waiting for the new notice);
* the pay sums exactly to the pool;
* no unit above its 优秀 quota.

Each example runs in one transaction that is rolled back (the service
operations only flush), from a unit computed once (the computation itself
is covered by test_compute/test_engine_pipeline; a correction here adjusts).  Bounded: ~15 examples
of up to 25 steps (well under 60 s on SQLite and PostgreSQL)."""
import datetime as dt

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select

from kaohe.core.errors import Invalid
from kaohe.extensions import db

from .conftest import YEAR, seed_unit

START = dt.date(2026, 12, 7)
ACTORS = ("t1admin", "committee", "countysup", "d2staff")


def test_annual_procedure_state_machine(app, world):
    from kaohe.annual import appeals, engine, service
    from kaohe.annual.calc.pay import allocate_pay
    from kaohe.annual.models import AnnualAppeal
    from kaohe.audit.models import AuditEntry
    from kaohe.audit.service import Actor, reset_actor, set_actor
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        ids, aid = seed_unit(world, {"head": 96, "deputy": 93, "d1head": 88, "d1staff": 84, "d2head": 79,
                                     "d2staff": 50})
        apply_scope(Scope.system("t"))
        t1 = db.session.get(OrgNode, world.ids["P1-T1"])
        engine.compute([t1], YEAR)
        # open the audit lanes of every node up front (opening one takes a SAVEPOINT, which the rollback at
        # the end of each example must not have to undo)
        from kaohe.audit.service import record

        tok = set_actor(Actor(None, "setup"))
        for node in db.session.execute(select(OrgNode).where(OrgNode.root_id == t1.root_id)).scalars():
            record("test.lane", root_id=t1.root_id, org_id=node.id, target_type="org", target_id=node.id)
        reset_actor(tok)
        db.session.commit()
        people = sorted(ids.values())
        reached: set = set()

        class Procedure(RuleBasedStateMachine):
            def __init__(self):
                super().__init__()
                apply_scope(Scope.system("t"))
                self.day = START
                self.a = db.session.get(service.AnnualAssessment, aid)
                self.audit_from = db.session.execute(select(func.coalesce(func.max(AuditEntry.id), 0))).scalar_one()
                self.filed_open_at_filing = None
                self.tok = set_actor(Actor(None, "t1admin"))

            def teardown(self):
                reset_actor(self.tok)
                db.session.rollback()

            def _as(self, actor, fn, *args, **kw):
                reset_actor(self.tok)
                self.tok = set_actor(Actor(None, actor))
                with service.as_of(self.day):
                    return fn(*args, **kw)

            def _try(self, actor, fn, *args, **kw):
                try:       # every operation checks before it changes anything: a refusal leaves no trace
                    return self._as(actor, fn, *args, **kw)
                except Invalid:
                    return None

            def _audit(self, action):
                return db.session.execute(select(func.count()).select_from(AuditEntry).where(
                    AuditEntry.id > self.audit_from, AuditEntry.action == action)).scalar_one()

            # -- actions ---------------------------------------------------------------------------
            @rule(days=st.integers(0, 45))
            def advance(self, days):
                self.day += dt.timedelta(days=days)

            @precondition(lambda self: self.a.status == "computed")
            @rule(actor=st.sampled_from(ACTORS), who=st.sampled_from(range(6)),
                  grade=st.sampled_from(["youxiu", "chenzhi", "jibenchenzhi", "buchenzhi"]))
            def adjust(self, actor, who, grade):
                self._try(actor, service.adjust, self.a, people[who], grade, "考核委员会表决决定")

            @precondition(lambda self: self.a.status == "computed")
            @rule(actor=st.sampled_from(ACTORS))
            def confirm(self, actor):
                self._try(actor, service.confirm, self.a)

            @precondition(lambda self: self.a.status == "confirmed")
            @rule(actor=st.sampled_from(ACTORS), typed=st.sampled_from([None, -60, -1, 0, 3]))
            def publish(self, actor, typed):
                before = self.a.status
                given = None if typed is None else self.day + dt.timedelta(days=typed)
                self._try(actor, service.publish, self.a, given)
                if before == "confirmed" and typed not in (None, 0):
                    assert self.a.status == "confirmed", "a back-dated or future 公示 went through"
                if before == "confirmed" and self.a.status == "publicised":
                    assert self.a.publicity_start >= self.day

            @precondition(lambda self: self.a.status == "publicised")
            @rule(actor=st.sampled_from(ACTORS), typed=st.sampled_from([None, -30, 0, 10]))
            def notify(self, actor, typed):
                before = self.a.status
                given = None if typed is None else self.day + dt.timedelta(days=typed)
                self._try(actor, service.notify, self.a, given)
                if before == "publicised" and self.a.status == "notified":
                    assert typed in (None, 0) and self.a.notified_on == self.day

            @precondition(lambda self: self.a.status in ("notified", "filed"))
            @rule(actor=st.sampled_from(ACTORS), who=st.sampled_from(range(6)), stage=st.sampled_from(["review",
                                                                                                         "appeal"]))
            def file_case(self, actor, who, stage):
                o = next((x for x in service.outcomes(self.a) if x.person_id == people[who]), None)
                if o is not None:
                    fn = appeals.file_review if stage == "review" else appeals.file_appeal
                    self._try(actor, fn, o, "对考核结果不服，申请复核或申诉")

            @precondition(lambda self: self.a.status in ("notified", "filed"))
            @rule(actor=st.sampled_from(ACTORS), reverse=st.booleans())
            def decide(self, actor, reverse):
                ap = db.session.execute(select(AnnualAppeal).where(AnnualAppeal.status == "pending")
                                        .order_by(AnnualAppeal.id)).scalars().first()
                if ap is not None:
                    self._try(actor, appeals.decide_appeal, ap, decision="reversed" if reverse else "upheld",
                              note="经研究作出决定", new_grade="jibenchenzhi" if reverse else None)

            @precondition(lambda self: self.a.status == "notified")
            @rule(actor=st.sampled_from(ACTORS), with_reason=st.booleans())
            def file(self, actor, with_reason):
                open_now = service.open_windows(self.a, self.day) if self.a.status == "notified" else []
                self._try(actor, service.file_with_above, self.a, "上级要求按期备案，案件办结后补报" if with_reason else None)
                if self.a.status == "filed" and self.filed_open_at_filing is None:
                    self.filed_open_at_filing = open_now
                    assert not open_now or (with_reason and self.a.filed_open_reason), \
                        "filed with open windows without a recorded decision"

            @precondition(lambda self: self.a.status in ("notified", "filed"))
            @rule(actor=st.sampled_from(ACTORS), reason=st.sampled_from(["", "发现考勤记录错误，需要补定"]))
            def correct(self, actor, reason):
                before = self.a.corrections
                self._try(actor, service.correct, self.a, reason)
                if self.a.corrections != before:
                    self.filed_open_at_filing = None

            # -- invariants -------------------------------------------------------------------------
            @invariant()
            def notice_after_publicity(self):
                a = self.a
                reached.add(a.status + ("+corrected" if a.corrections else ""))
                if a.notified_on is not None:
                    assert a.publicity_end is not None and a.notified_on > a.publicity_end
                    for o in service.outcomes(a):
                        assert o.notice_on is None or o.notice_on > a.publicity_end

            @invariant()
            def corrections_audited_and_windows_restarted(self):
                a = self.a
                assert self._audit("annual.correct") == (a.corrections or 0)
                if a.corrections and a.status in ("computed", "confirmed", "publicised"):
                    assert all(o.notice_on is None for o in service.outcomes(a))

            @invariant()
            def filing_recorded(self):
                a = self.a
                if a.status == "filed":
                    assert self._audit("annual.file") >= 1
                    if a.filed_open_cases:
                        assert a.filed_open_reason

            @invariant()
            def pay_sums_to_pool(self):
                outs = service.outcomes(self.a)
                if outs:
                    rows = [{"score": o.score, "grade": o.grade, "code": o.code} for o in outs]
                    _c, ex = allocate_pay(rows, service.policy(self.a))
                    assert sum(o.pay_cents or 0 for o in outs) == ex["pool_cents"] - ex["undistributed_cents"]

            @invariant()
            def quota_respected(self):
                outs = service.outcomes(self.a)
                quota = self.a.quota or {}
                if outs and self.a.status != "computed" and "all" in quota:
                    youxiu = sum(1 for o in outs if o.grade == "youxiu")
                    assert youxiu <= int(quota["all"]["quota"])

        run_state_machine_as_test(Procedure, settings=settings(
            max_examples=15, stateful_step_count=30, deadline=None, derandomize=True,
            suppress_health_check=list(HealthCheck)))
        print(sorted(reached))
        # the random walks reach every stage of the procedure, a correction included
        assert {"confirmed", "publicised", "notified", "filed"} <= reached
        assert any(s.endswith("+corrected") for s in reached)
