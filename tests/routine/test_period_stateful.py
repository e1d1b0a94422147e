"""Issue 12: random sequences of actions (rate, exempt, compute, move the
period, publicise) by random roles cannot break the procedure.  After every
step: no grade from incomplete inputs without a recorded exemption; no talk
task from incomplete inputs; no period in review/公示 with a person whose
inputs are incomplete and not exempted.

The oracle is the test's own record of what the API accepted: a person's
inputs are complete when every rater kind the relation rules give them (read
once from the raters' to-do lists) has an accepted rating."""
from __future__ import annotations

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from kaohe.extensions import db

from .conftest import PEOPLE, full_scores

API = "/api/v1/routine"
ROLES = ("admin",) + PEOPLE
KINDS = ("supervisor", "self", "peer", "democratic")
TARGETS = ("open", "rating", "review", "publicised", "final")


def test_random_procedures_keep_the_invariants(rt):
    counter = iter(range(1000))

    class PeriodMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            n = next(counter)
            resp = rt.client.post(f"{API}/periods", json={"unit_id": rt.unit_id, "year": rt.year + 1 + n // 4,
                                                          "seq": n % 4 + 1, "cycle": "quarter"},
                                  headers=rt.h("admin"))
            assert resp.status_code == 201, resp.get_json()
            self.pid = resp.get_json()["id"]
            assert self._move("admin", "open").status_code == 200
            self.expected: dict[int, set[str]] = {}
            for rater in PEOPLE:
                for t in rt.client.get(f"{API}/periods/{self.pid}/todo", headers=rt.h(rater)).get_json():
                    self.expected.setdefault(t["person_id"], set()).add(t["kind"])
            self.rated: set[tuple[int, str]] = set()     # (ratee, kind) with an accepted rating
            self.exempt: set[int] = set()

        def _move(self, role, to):
            return rt.client.post(f"{API}/periods/{self.pid}/transition", json={"to": to}, headers=rt.h(role))

        def complete(self, pid: int) -> bool:
            return all((pid, k) in self.rated for k in self.expected.get(pid, ()))

        @rule(rater=st.sampled_from(PEOPLE), ratee=st.sampled_from(PEOPLE), kind=st.sampled_from(KINDS),
              level=st.sampled_from(("you", "liang", "zhong", "cha")), work=st.sampled_from((0.0, 20.0, 55.0, 60.0)))
        def rate(self, rater, ratee, kind, level, work):
            body = {"ratee_id": rt.ids[ratee], "rater_kind": kind, "scores": full_scores(kind, level, work)}
            resp = rt.client.post(f"{API}/periods/{self.pid}/ratings", json=body, headers=rt.h(rater))
            assert resp.status_code in (200, 403, 409, 422), resp.get_json()
            if resp.status_code == 200:
                self.rated.add((rt.ids[ratee], kind))

        @rule(role=st.sampled_from(ROLES), person=st.sampled_from(PEOPLE), reason=st.sampled_from(("", "病假整季度")))
        def exempt(self, role, person, reason):
            resp = rt.client.post(f"{API}/periods/{self.pid}/exemptions",
                                  json={"person_id": rt.ids[person], "reason": reason}, headers=rt.h(role))
            assert resp.status_code in (201, 403, 409, 422), resp.get_json()
            if resp.status_code == 201:
                assert role == "admin" and reason and not self.complete(rt.ids[person])
                self.exempt.add(rt.ids[person])

        @rule(role=st.sampled_from(ROLES))
        def compute(self, role):
            resp = rt.client.post(f"{API}/periods/{self.pid}/compute", headers=rt.h(role))
            assert resp.status_code in (202, 403, 422), resp.get_json()

        @rule(role=st.sampled_from(ROLES), to=st.sampled_from(TARGETS))
        def transition(self, role, to):
            resp = self._move(role, to)
            assert resp.status_code in (200, 403, 409, 422), resp.get_json()

        @rule()
        def publicise(self):
            """The office tries to reach 公示 the shortest way."""
            for to in ("rating", "review"):
                self._move("admin", to)
            rt.client.post(f"{API}/periods/{self.pid}/compute", headers=rt.h("admin"))
            self._move("admin", "publicised")

        @invariant()
        def procedure_holds(self):
            from kaohe.routine.models import Exemption, Period, Result, Task
            from kaohe.tenancy.scope import Scope, apply_scope

            with rt.app.app_context():
                apply_scope(Scope.system("t"))
                state = db.session.get(Period, self.pid).state
                exempted = set(db.session.execute(select(Exemption.person_id).where(
                    Exemption.period_id == self.pid)).scalars())
                assert exempted == self.exempt
                for pid, grade, score in db.session.execute(select(Result.person_id, Result.grade, Result.score)
                                                            .where(Result.period_id == self.pid)):
                    if grade is not None or score is not None:
                        assert self.complete(pid) or pid in exempted, (pid, grade, score)
                for pid in db.session.execute(select(Task.person_id).where(
                        Task.source_type == "routine_period", Task.source_id == self.pid,
                        Task.status == "open")).scalars():
                    assert self.complete(pid) or pid in exempted, pid
                if state in ("review", "publicised", "final"):
                    for pid in rt.ids.values():
                        assert self.complete(pid) or pid in exempted, (state, pid)
                db.session.remove()

    run_state_machine_as_test(PeriodMachine, settings=settings(
        max_examples=5, stateful_step_count=14, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))
