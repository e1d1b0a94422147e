"""谁管理谁考核 through the API: every pair allowed or refused as the rules say."""
from __future__ import annotations

import pytest

from .conftest import rate


@pytest.mark.parametrize("rater,ratee,kind,status,rule", [
    ("deputy", "d1head", "supervisor", 200, None),                      # leader → head in charge
    ("deputy", "d1staff", "supervisor", 403, "leader_skips_level"),     # leader → staff beneath
    ("deputy", "d2head", "supervisor", 403, "leader_not_in_charge"),    # leader → head not in charge
    ("d1head", "d1staff", "supervisor", 200, None),                     # head → own staff
    ("d1head", "d2staff", "supervisor", 403, "other_department"),       # head → other department
    ("d2staff", "d1staff", "peer", 200, None),                          # peer in group
    ("d1head", "d1staff", "peer", 403, "not_peer"),                     # peer outside group
    ("d1staff", "d1staff", "self", 200, None),                          # self
    ("d1staff", "d2staff", "self", 403, "self_only"),
    ("d1staff", "d1staff", "supervisor", 403, None),                    # staff has no rate permission
    ("head", "deputy", "supervisor", 200, None),                        # head → deputy
    ("d1staff", "d1head", "democratic", 200, None),                     # colleagues of one department
    ("d1head", "d1staff", "democratic", 200, None),                     # every relation rates (the default)
    ("d2staff", "d2head", "peer", 200, None),                           # peer group and same department:
    ("d2staff", "d2head", "democratic", 200, None),                     # and as a colleague
    ("d2staff", "d1staff", "democratic", 403, "not_colleague"),
])
def test_rater_relations(rt, rater, ratee, kind, status, rule):
    resp = rate(rt, rater, ratee, kind)
    assert resp.status_code == status, resp.get_json()
    if rule:
        assert resp.get_json()["errors"]["code"] == [rule]
        assert resp.get_json()["message"]


def test_todo_lists_follow_the_rules(rt):
    todo = rt.client.get(f"/api/v1/routine/periods/{rt.period_id}/todo", headers=rt.h("deputy")).get_json()
    pairs = {(t["person_id"], t["kind"]) for t in todo}
    assert (rt.ids["d1head"], "supervisor") in pairs
    assert not any(p == rt.ids["d1staff"] and k == "supervisor" for p, k in pairs)
    assert (rt.ids["deputy"], "self") in pairs
    rate(rt, "deputy", "d1head", "supervisor")
    todo = rt.client.get(f"/api/v1/routine/periods/{rt.period_id}/todo", headers=rt.h("deputy")).get_json()
    done = [t for t in todo if t["person_id"] == rt.ids["d1head"] and t["kind"] == "supervisor"]
    assert done[0]["done"] is True and done[0]["version"] == 1


def test_outside_scope_is_404(rt, api_token):
    other = api_token("P2-t1admin")
    resp = rt.client.get(f"/api/v1/routine/periods/{rt.period_id}", headers=other)
    assert resp.status_code == 404
    resp = rt.client.get(f"/api/v1/routine/periods/{rt.period_id}", headers=api_token("t2admin"))
    assert resp.status_code == 404


def test_one_rating_per_colleague_as_a_setting(rt):
    """Issue 16, finding 7: with routine.rating_overlap = strongest the same
    rater does not rate the same colleague twice in a period (互评 and 民主测评);
    every_relation (the default: every scoring section keeps its raters) rates
    under each relation.  The setting is frozen with the period."""
    from kaohe.extensions import db
    from kaohe.routine.models import Period
    from kaohe.tenancy.scope import Scope, apply_scope

    def pairs(who):
        todo = rt.client.get(f"/api/v1/routine/periods/{rt.period_id}/todo", headers=rt.h(who)).get_json()
        return [(t["person_id"], t["kind"]) for t in todo]

    def set_overlap(mode):
        with rt.app.app_context():
            apply_scope(Scope.system("test"))
            period = db.session.get(Period, rt.period_id)
            frozen = period.policy["routine.rating_overlap"]
            period.policy = {**period.policy, "routine.rating_overlap": mode}
            db.session.commit()
            db.session.remove()
            return frozen

    assert set_overlap("strongest") == "every_relation"      # frozen at opening, the default
    todo = pairs("d2staff")
    ratees = [p for p, k in todo if k != "self"]
    assert len(ratees) == len(set(ratees)), todo
    assert (rt.ids["d2head"], "peer") in todo and (rt.ids["d2head"], "democratic") not in todo
    assert (rt.ids["d1staff"], "peer") in todo
    assert [k for p, k in pairs("d2head") if p == rt.ids["d2staff"]] == ["supervisor"]
    resp = rate(rt, "d2staff", "d2head", "democratic")
    assert resp.status_code == 403 and resp.get_json()["errors"]["code"] == ["stronger_relation"]
    set_overlap("every_relation")
    todo = pairs("d2staff")
    assert (rt.ids["d2head"], "peer") in todo and (rt.ids["d2head"], "democratic") in todo
    assert rate(rt, "d2staff", "d2head", "democratic").status_code == 200


def test_overlap_rule_is_pure():
    from kaohe.routine.relations import P, RelationIndex

    people = [P(1, 10, "dept_head"), P(2, 10, "staff"), P(3, 10, "staff")]
    for mode, expect in (("strongest", "stronger_relation"), ("every_relation", None)):
        idx = RelationIndex.build(people, memberships=[(7, 2), (7, 3), (7, 1)], overlap=mode)
        assert idx.check(1, 2, "supervisor") is None
        assert idx.check(1, 2, "peer") == expect
        assert idx.check(1, 2, "democratic") == expect
        assert idx.check(2, 3, "peer") is None
        assert idx.check(2, 3, "democratic") == expect
        assert idx.check(2, 1, "democratic") == expect          # peer of their head too
