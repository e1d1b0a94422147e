"""Issue 12: random sequences of official acts on the annual procedure, by
random roles on random dates, through the API, cannot break it.  Acts:
compute, the routine feed changing inputs, adjust, confirm, reopen with a
reason (page), publish (公示), notice, review/appeal, decide, file (备案),
correct (补定 after the notice: reopen with a reason).  After every step:

- no grade from incomplete inputs: a person without any complete input has
  no grade; the routine part of a score is the mean of the complete
  quarters only (an incomplete quarter never counts as zero);
- no notice before the 公示 has run its working days, and every act is
  dated the day it is done;
- no filing (备案) with an open window or case unless the decision to file
  with them is recorded;
- every change of grade, code or pay after a notice has an audit entry, and
  that person's windows restart (a new notice dated no earlier than the
  change, or none yet);
- pay sums exactly to the pool (amount per person × contributors);
- no unit above its quota.

Each example runs on a database of its own (a fresh copy of the migrated
SQLite template, a fresh app and world), so nothing leaks between
examples; "today" is ``annual.service.as_of`` (what every annual test
uses), advanced by a rule."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from collections import Counter

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from kaohe.extensions import db

from .conftest import YEAR, seed_unit

API = "/api/v1/annual"
START = dt.date(2026, 12, 7)       # a Monday in a year the holiday package knows
ROLES = ("t1admin", "t1leader", "t1staff", "countysup", "t2admin", "policy")
ACTORS = ("t1admin",) * 4 + ROLES          # the office acts most; anyone may try
PEOPLE = ("head", "deputy", "d1head", "d1staff", "d2head", "d2staff")
SCORES = {"head": 96, "deputy": 92, "d1head": 88, "d1staff": 55, "d2head": 79, "d2staff": 66}
GRADES = ("youxiu", "chenzhi", "jibenchenzhi", "buchenzhi")


def test_random_annual_procedures_keep_the_invariants(sqlite_template, tmp_path):
    from conftest import _config
    from kaohe import create_app
    from kaohe.testing import databases
    from kaohe.testing.world import PASSWORD, build_world

    reached: Counter = Counter()      # successful acts over all examples (the test is not vacuous)
    steps: list[int] = []
    tried: Counter = Counter()

    # One seeded database (world, a year of routine results and reviews for T1, a token per role)
    # made once; every example runs on a fresh copy of it.
    seeded = databases.sqlite_copy(sqlite_template)
    base = create_app(_config(tmp_path, f"sqlite:///{seeded}", f"sqlite:///{seeded}"))
    base.config["KAOHE_BACKEND"] = "sqlite"
    with base.app_context():
        world = build_world()
        db.session.remove()
        ids, _aid = seed_unit(world, dict(SCORES))
        from kaohe.annual.models import AnnualReview

        reviews = dict(db.session.execute(select(AnnualReview.person_id, AnnualReview.leader_score)).all())
        db.session.remove()
    tokens = {}
    for role in ROLES:
        resp = base.test_client().post("/api/v1/auth/token", json={"username": role, "password": PASSWORD})
        assert resp.status_code == 201, resp.get_json()
        tokens[role] = {"Authorization": f"Bearer {resp.get_json()['token']}"}
    with base.app_context():
        db.session.remove()
        db.engine.dispose()

    class AnnualMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.path = databases.sqlite_copy(Path(seeded))
            url = f"sqlite:///{self.path}"
            self.app = create_app(_config(tmp_path, url, url))
            self.app.config["KAOHE_BACKEND"] = "sqlite"
            self.client = self.app.test_client()
            self.t1 = world.ids["P1-T1"]
            self.ids = ids
            self.day = START
            self.quarters = {pid: [float(SCORES[k])] * 4 for k, pid in ids.items()}  # None: 未完成
            self.review = {pid: reviews[pid] for pid in ids.values()}
            self.at_compute = None                              # the inputs of the last computation
            self.filed_on: dt.date | None = None
            self.acts: dict[str, dt.date] = {}
            self.snapshot: dict[int, tuple] = {}
            self.audit_seen = 0
            self.seeded = False
            self.browsers: dict = {}
            self.example = len(steps) + 1

        def teardown(self):
            with self.app.app_context():
                db.session.remove()
                db.engine.dispose()
            os.unlink(self.path)

        # -- helpers ------------------------------------------------------------------------

        def h(self, role):
            return tokens[role]

        def call(self, method, url, role, body=None):
            from kaohe.annual import service

            with service.as_of(self.day):
                resp = getattr(self.client, method)(url, json=body, headers=self.h(role))
            assert resp.status_code < 500, (url, resp.status_code, resp.get_data(as_text=True)[:500])
            tried[(url.rsplit("/", 1)[-1], resp.status_code, role)] += 1
            if resp.status_code < 300:
                reached[url.rsplit("/", 1)[-1]] += 1
            return resp

        def unit_url(self, what=""):
            return f"{API}/units/{self.t1}/{YEAR}{what}"

        def sys(self):
            from kaohe.audit.service import Actor, set_actor
            from kaohe.tenancy.scope import Scope, apply_scope

            apply_scope(Scope.system("t"))
            set_actor(Actor(None, "feed"))

        def assessment(self):
            from kaohe.annual.models import AnnualAssessment

            return db.session.execute(select(AnnualAssessment).where(
                AnnualAssessment.org_id == self.t1, AnnualAssessment.year == YEAR)).scalar_one()

        def status(self):
            with self.app.app_context():
                self.sys()
                s = self.assessment().status
                db.session.remove()
                return s

        # -- set-up -------------------------------------------------------------------------

        @initialize(contributors=st.sampled_from(("paid", "assessed")), pools=st.booleans())
        def seed(self, contributors, pools):
            from kaohe.policy import settings as pset
            from kaohe.tenancy.models import OrgNode

            with self.app.app_context():
                self.sys()
                t1 = db.session.get(OrgNode, self.t1)
                pset.set_value(t1, "pay.contributors", contributors)
                pset.set_value(t1, "quota.rank_group_pools", pools)
                db.session.commit()
                db.session.remove()
            self.seeded = True
            self._observe()     # the starting point of the change log

        # -- the routine feed and the calendar ----------------------------------------------

        @rule(days=st.sampled_from((0, 1, 2, 3, 5, 8, 16, 31, 46, 70)))
        def advance(self, days):
            self.day += dt.timedelta(days=days)

        @rule(person=st.sampled_from(PEOPLE), quarters=st.sets(st.integers(0, 3)), drop_review=st.booleans())
        def feed_incomplete(self, person, quarters, drop_review):
            """The routine feed marks quarters 未完成 (no score) and a review may be missing
            (before the result is confirmed)."""
            from kaohe.annual.models import AnnualReview, RoutineImport

            if self.status() not in ("open", "computed"):
                return

            pid = self.ids[person]
            with self.app.app_context():
                self.sys()
                for q in quarters:
                    db.session.execute(RoutineImport.__table__.update().where(
                        RoutineImport.person_id == pid, RoutineImport.year == YEAR,
                        RoutineImport.period_no == q + 1).values(score=None, grade=None))
                    self.quarters[pid][q] = None
                if drop_review:
                    db.session.execute(AnnualReview.__table__.update().where(
                        AnnualReview.person_id == pid).values(leader_score=None))
                    self.review[pid] = None
                db.session.commit()
                db.session.remove()

        # -- the acts ------------------------------------------------------------------------

        @rule(role=st.sampled_from(ACTORS))
        def compute(self, role):
            before = self.status()
            resp = self.call("post", self.unit_url("/compute"), role, {})
            assert resp.status_code in (202, 403, 404, 422), resp.get_json()
            if resp.status_code == 202:
                assert role == "t1admin" and before in ("open", "computed")
                job = self.client.get(resp.get_json()["status_url"], headers=self.h(role)).get_json()
                assert job["status"] in ("done", "failed"), job
                if job["status"] == "done":
                    self.at_compute = ({k: list(v) for k, v in self.quarters.items()}, dict(self.review))

        @rule(role=st.sampled_from(ACTORS), person=st.sampled_from(PEOPLE), grade=st.sampled_from(GRADES),
              reason=st.sampled_from(("", "委员会表决通过", "委员会表决通过")))
        def adjust(self, role, person, grade, reason):
            resp = self.call("post", self.unit_url("/adjustments"), role,
                             {"person_id": self.ids[person], "grade": grade, "reason": reason})
            assert resp.status_code in (200, 403, 404, 422), resp.get_json()
            if resp.status_code == 200:
                assert role == "t1admin" and reason

        @rule(role=st.sampled_from(ACTORS))
        def confirm(self, role):
            resp = self.call("post", self.unit_url("/confirm"), role, {})
            assert resp.status_code in (200, 403, 404, 409, 422), resp.get_json()

        @rule(role=st.sampled_from(ACTORS), typed=st.sampled_from((None, 0, -63, -1, 3)))
        def publish(self, role, typed):
            body = {} if typed is None else {"start": (self.day + dt.timedelta(days=typed)).isoformat()}
            resp = self.call("post", self.unit_url("/publish"), role, body)
            assert resp.status_code in (200, 403, 404, 422), resp.get_json()
            if resp.status_code == 200:
                assert typed in (None, 0), "a back-dated or future 公示 went through"
                self.acts["publish"] = self.day

        @rule(role=st.sampled_from(ACTORS), typed=st.sampled_from((None, 0, -3, 14)))
        def notify(self, role, typed):
            body = {} if typed is None else {"notice_on": (self.day + dt.timedelta(days=typed)).isoformat()}
            resp = self.call("post", self.unit_url("/notify"), role, body)
            assert resp.status_code in (200, 403, 404, 422), resp.get_json()
            if resp.status_code == 200:
                assert typed in (None, 0), "a back-dated or future notice went through"
                self.acts["notify"] = self.day

        @rule(role=st.sampled_from(ACTORS), reason=st.sampled_from((None, "", "上级要求年底前备案，结果出来后补报")))
        def file(self, role, reason):
            resp = self.call("post", self.unit_url("/file"), role, {"open_cases_reason": reason})
            assert resp.status_code in (200, 403, 404, 422), resp.get_json()
            if resp.status_code == 200:
                self.filed_on = self.day

        @rule(role=st.sampled_from(("t1admin", "t1admin", "t1staff", "countysup")),
              reason=st.sampled_from(("", "委员会复议：考勤更正")))
        def reopen(self, role, reason):
            """Reopen a confirmed result (before the 公示) with a reason, on the page."""
            from conftest import Browser
            from kaohe.annual import service

            if role not in self.browsers:
                b = Browser(self.app.test_client())
                b.get("/login")
                resp = b.post("/login", {"username": role, "password": PASSWORD})
                assert resp.status_code in (302, 303), resp.status_code
                b.get("/")          # the signed-in session's CSRF token
                self.browsers[role] = b
            before = self.status()
            with service.as_of(self.day):
                resp = self.browsers[role].post(f"/annual/unit/{self.t1}/{YEAR}/reopen", {"reason": reason})
            assert resp.status_code in (200, 302, 303, 403, 404, 422), resp.status_code
            after = self.status()
            if before != after:
                reached["reopen"] += 1
                assert (before, after) == ("confirmed", "computed") and role == "t1admin" and reason

        @rule(role=st.sampled_from(ACTORS), reason=st.sampled_from(("", "纪检反馈：考勤记录有误，需补定") + ("纪检反馈",) * 2))
        def correct(self, role, reason):
            resp = self.call("post", self.unit_url("/correct"), role, {"reason": reason})
            assert resp.status_code in (200, 403, 404, 409, 422), resp.get_json()
            if resp.status_code == 200:
                assert role == "t1admin" and reason
                self.filed_on = None

        @rule(stage=st.sampled_from(("review", "review", "appeal")),
              role=st.sampled_from(("t1staff", "t1staff", "t1leader", "t1admin")),
              whose=st.sampled_from(("own", "own", "d2staff")))
        def appeal(self, stage, role, whose):
            from kaohe.annual.models import AnnualOutcome

            if whose == "own":
                whose = {"t1staff": "d1staff", "t1leader": "deputy"}.get(role, "d1staff")

            with self.app.app_context():
                self.sys()
                oid = db.session.execute(select(AnnualOutcome.id).where(
                    AnnualOutcome.person_id == self.ids[whose])).scalar_one_or_none()
                db.session.remove()
            if oid is None:
                return
            resp = self.call("post", f"{API}/outcomes/{oid}/cases", role,
                             {"stage": stage, "grounds": "请假就医期间的工作量没有计入考核"})
            assert resp.status_code in (201, 403, 404, 409, 422), resp.get_json()
            if resp.status_code == 201:
                own = {"t1staff": "d1staff", "t1leader": "deputy"}.get(role)
                assert own == whose, "a case filed on someone else's outcome"

        @rule(role=st.sampled_from(("t1admin", "countysup") * 2 + ROLES),
              decision=st.sampled_from(("upheld", "reversed", "extend")),
              new_grade=st.sampled_from(("chenzhi", "jibenchenzhi")))
        def decide(self, role, decision, new_grade):
            from kaohe.annual.models import AnnualAppeal

            with self.app.app_context():
                self.sys()
                cid = db.session.execute(select(AnnualAppeal.id).where(AnnualAppeal.status == "pending")
                                         .order_by(AnnualAppeal.id)).scalars().first()
                db.session.remove()
            if cid is None:
                return
            body = {"decision": decision, "note": "经复核，依据考勤记录作出决定"}
            if decision == "reversed":
                body["new_grade"] = new_grade
            resp = self.call("post", f"{API}/cases/{cid}/decision", role, body)
            assert resp.status_code in (200, 403, 404, 409, 422), resp.get_json()

        @rule(decision=st.sampled_from((None, None, ("d2staff", "jibenchenzhi"), ("d1head", "youxiu"),
                                        ("head", "chenzhi"), ("d1staff", "chenzhi"))),
              mode=st.sampled_from(("next", "wait", "correct", "appeal")))
        def office_next_step(self, decision=None, mode="next"):
            """The office takes the next lawful step the shortest way (so random runs get far),
            with a committee decision on one person before it confirms."""
            from kaohe.annual.models import AnnualResult

            st_ = self.status()
            if st_ in ("open", "computed"):
                self.compute("t1admin")
                with self.app.app_context():
                    self.sys()
                    a = self.assessment()
                    tied = [r.person_id for r in db.session.execute(select(AnnualResult).where(
                        AnnualResult.run_id == a.current_run_id)).scalars() if "tie_at_line" in (r.flags or [])]
                    db.session.remove()
                for pid in tied:
                    self.call("post", self.unit_url("/adjustments"), "t1admin",
                              {"person_id": pid, "grade": "chenzhi", "reason": "委员会表决：名额线并列"})
                if decision:
                    self.adjust("t1admin", decision[0], decision[1], "委员会表决通过")
                self.confirm("t1admin")
            elif st_ == "confirmed" and mode == "correct":
                self.reopen("t1admin", "委员会复议：考勤更正")
            elif st_ == "confirmed":
                self.publish("t1admin", None)
            elif st_ == "publicised":
                with self.app.app_context():
                    self.sys()
                    end = self.assessment().publicity_end
                    db.session.remove()
                self.day = max(self.day, end + dt.timedelta(days=1))
                self.notify("t1admin", None)
            elif st_ in ("notified", "filed") and mode == "correct":
                self.correct("t1admin", "纪检反馈：考勤记录有误，需补定")
            elif st_ == "notified" and mode == "appeal":
                self.appeal("review", "t1staff", "own")
            elif st_ == "notified":
                if mode == "wait":        # until every window has closed and every case is decided
                    from kaohe.annual import service

                    with self.app.app_context():
                        self.sys()
                        with service.as_of(self.day):
                            open_ = service.open_windows(self.assessment())
                        db.session.remove()
                    if any(w["what"].endswith("pending") for w in open_):
                        self.decide("t1admin" if "review" in open_[0]["what"] else "countysup", "upheld", None)
                    elif open_:
                        self.day = max(self.day, max(w["until"] for w in open_) + dt.timedelta(days=1))
                self.file("t1admin", None)

        @rule(modes=st.lists(st.sampled_from(("next", "wait", "correct", "appeal")), min_size=3, max_size=3))
        def office_next_steps(self, modes):
            for mode in modes:
                self.office_next_step(None, mode)

        # -- the invariants -------------------------------------------------------------------

        def _observe(self):
            """Check the change log since the last step and take a new snapshot."""
            from kaohe.annual import service
            from kaohe.annual.models import AnnualOutcome
            from kaohe.audit.models import AuditEntry

            with self.app.app_context():
                self.sys()
                outs = {o.person_id: (o.grade, o.code, o.pay_cents, o.notice_on)
                        for o in db.session.execute(select(AnnualOutcome)).scalars()}
                entries = db.session.execute(select(AuditEntry.id, AuditEntry.action, AuditEntry.target_type,
                                                    AuditEntry.target_id).where(AuditEntry.id > self.audit_seen)
                                             ).all()
                for pid, (grade, code, pay, notice) in outs.items():
                    prev = self.snapshot.get(pid)
                    if prev is None or prev[3] is None or prev[:3] == (grade, code, pay):
                        continue
                    # a change after the written notice: audited for that person, and the windows restart
                    assert any(t == "person" and str(tid) == str(pid) for _i, _a, t, tid in entries), \
                        (pid, prev, (grade, code, pay), [e.action for e in entries])
                    assert notice is None or notice >= self.day, (pid, notice, self.day)
                self.snapshot = outs
                self.audit_seen = max([self.audit_seen] + [e.id for e in entries])
                db.session.remove()
            return service

        @invariant()
        def procedure_holds(self):
            if not self.seeded:
                return
            if len(steps) < self.example:
                steps.append(0)
            steps[-1] += 1
            from kaohe.annual import service
            from kaohe.core.calendar import WorkCalendar

            self._observe()
            with self.app.app_context():
                self.sys()
                a = self.assessment()
                pol = service.policy(a)
                results = service.current_results(a) if a.current_run_id else []
                outs = service.outcomes(a)
                # 1. no grade from incomplete inputs
                if self.at_compute is not None:
                    quarters, review = self.at_compute
                    for r in results:
                        done = [s for s in quarters[r.person_id] if s is not None]
                        has_input = bool(done) or review[r.person_id] is not None
                        if not has_input:
                            assert r.grade is None and r.score is None, (r.person_id, r.grade, r.score)
                        routine = ((r.explain or {}).get("components") or {}).get("values", {}).get("routine")
                        if done:
                            assert abs(routine - sum(done) / len(done)) < 0.01, (r.person_id, routine, done)
                        else:
                            assert routine is None, (r.person_id, routine)
                for o in outs:
                    if o.code != "4":
                        res = next((r for r in results if r.person_id == o.person_id), None)
                        if o.grade is not None and res is not None and a.status != "computed":
                            assert res.score is not None, ("a grade without inputs", o.person_id, o.grade)
                # 2. no notice before the 公示 has run its working days; acts dated the day they are done
                if a.publicity_start is not None:
                    assert a.publicity_start >= self.acts["publish"]
                    n = int(pol.get("annual.publicity_working_days", 5))
                    assert WorkCalendar.from_policy(pol).workdays_between(a.publicity_start, a.publicity_end) >= n
                if a.notified_on is not None:
                    assert a.publicity_end is not None and a.notified_on > a.publicity_end
                    assert a.notified_on == self.acts["notify"]
                for o in outs:      # (a 补定 round keeps the old notices until it confirms)
                    if o.notice_on is not None and a.publicity_end is not None:
                        assert o.notice_on > a.publicity_end, (o.person_id, o.notice_on, a.publicity_end)
                # 3. no filing with an open window unless recorded
                if a.status == "filed":
                    assert self.filed_on is not None
                    if not a.filed_open_reason:
                        assert service.open_windows(a, self.filed_on) == []
                        assert not a.filed_open_cases
                    else:
                        assert len(a.filed_open_reason) >= 4
                # 5. pay sums exactly to the pool
                if outs and a.status in ("confirmed", "publicised", "notified", "filed"):
                    amount = int(round(float(pol.get("pay.amount_per_person", 2000)) * 100))
                    paid = [o for o in outs if o.grade and o.grade != "buchenzhi" and o.score is not None]
                    if pol.get("pay.contributors") == "assessed":
                        contributors = [o for o in outs if o.grade]
                    else:
                        contributors = paid
                    pool = amount * len(contributors)
                    total = sum(o.pay_cents or 0 for o in outs)
                    if sum(o.score for o in paid) > 0:
                        assert total == pool, (total, pool, [(o.grade, o.score, o.pay_cents) for o in outs])
                    assert all((o.pay_cents or 0) == 0 for o in outs if o not in paid)
                # 6. no unit above its quota
                if outs and a.status != "computed":
                    for pool_name, info in (a.quota or {}).items():
                        members = [o for o in outs if pool_name == "all" or
                                   (next(r.rank_group for r in results if r.person_id == o.person_id) == "leader")
                                   == (pool_name == "leader")]
                        assert sum(1 for o in members if o.grade == "youxiu") <= int(info.get("quota", 0)), \
                            (pool_name, info, [(o.person_id, o.grade) for o in members])
                db.session.remove()

    run_state_machine_as_test(AnnualMachine, settings=settings(
        max_examples=int(os.environ.get("KAOHE_STATEFUL_EXAMPLES", "8")), stateful_step_count=30,
        deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)))
    for act in ("compute", "adjustments", "confirm", "reopen", "publish", "notify", "file", "correct", "cases",
                "decision"):
        assert reached[act], (act, dict(reached), steps, sorted(tried.items()))
    os.unlink(seeded)


def test_an_earlier_adjustment_gives_no_grade_without_inputs(app, world):
    """Found by the machine above: the committee adjusted a person, the
    routine feed then marked all their quarters 未完成 and the review was
    missing; after recomputing, the stale adjustment still made them 称职
    (code 2) with no score.  A grade is never given from incomplete inputs:
    the adjustment no longer applies (and the confirmation says so)."""
    from kaohe.annual import engine, service
    from kaohe.annual.models import AnnualReview, RoutineImport
    from kaohe.audit.models import AuditEntry
    from kaohe.tenancy.models import OrgNode

    from .test_procedure import _sys

    with app.app_context():
        ids, aid = seed_unit(world, {"head": 96, "deputy": 92, "d1head": 88, "d1staff": 84, "d2head": 79,
                                     "d2staff": 66})
        _sys()
        t1 = db.session.get(OrgNode, world.ids["P1-T1"])
        engine.compute([t1], YEAR)
        a = db.session.get(service.AnnualAssessment, aid)
        db.session.refresh(a)
        pid = ids["d2staff"]
        service.adjust(a, pid, "chenzhi", "委员会表决通过")
        db.session.execute(RoutineImport.__table__.update().where(RoutineImport.person_id == pid)
                           .values(score=None, grade=None))
        db.session.execute(AnnualReview.__table__.update().where(AnnualReview.person_id == pid)
                           .values(leader_score=None))
        db.session.commit()
        engine.compute([t1], YEAR)
        db.session.refresh(a)
        res = next(r for r in service.current_results(a) if r.person_id == pid)
        assert (res.grade, res.score, res.code) == (None, None, "7")
        for r in service.current_results(a):
            if "tie_at_line" in (r.flags or []):
                service.adjust(a, r.person_id, "chenzhi", "委员会表决：名额线并列")
        service.confirm(a)
        o = next(o for o in service.outcomes(a) if o.person_id == pid)
        assert (o.grade, o.code, o.pay_cents) == (None, "7", 0)
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "annual.confirm")).scalar_one()
        assert entry.after["adjustments_not_applied"] == [pid]
