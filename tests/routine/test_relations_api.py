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
    ("d1head", "d1staff", "democratic", 200, None),                     # colleagues of one department
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
