"""A period through the API: state machine, bad input, optimistic locking,
events with caps, computation, publication, final and amendments."""
from __future__ import annotations

import datetime as dt

from kaohe.core.clock import local_today

import pytest
from sqlalchemy import func, select

from kaohe.extensions import db

from .conftest import SCHEME, exempt_incomplete, full_scores, rate, rate_everything, transition

from kaohe.routine.periods import STATE_LABELS

API = "/api/v1/routine"


def period(rt):
    return rt.client.get(f"{API}/periods/{rt.period_id}", headers=rt.h("admin")).get_json()


def rate_all(rt, level="you", work=55.0):
    """Every rating the rules allow in T1, all at the same values."""
    for rater in ("head", "deputy", "d1head", "d2head"):
        for t in rt.client.get(f"{API}/periods/{rt.period_id}/todo", headers=rt.h(rater)).get_json():
            if t["kind"] == "supervisor":
                assert rate(rt, rater, _key(rt, t["person_id"]), "supervisor",
                            full_scores("supervisor", level, work)).status_code == 200


def _key(rt, pid):
    return next(k for k, v in rt.ids.items() if v == pid)


def count(app, model, **where):
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system("t"))
        stmt = select(func.count()).select_from(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        n = db.session.execute(stmt).scalar()
        db.session.remove()
        return n


# -- state machine ---------------------------------------------------------------------

ILLEGAL = {
    "open": ["open", "review", "publicised", "final"],
    "rating": ["rating", "publicised", "final"],
    "review": ["open", "review", "final"],
}


def test_every_illegal_transition_is_refused_naming_the_allowed(rt):
    for state, targets in ILLEGAL.items():
        if period(rt)["state"] != state:
            if state == "review":
                exempt_incomplete(rt)
            assert transition(rt, state).status_code == 200, state
        for to in targets:
            resp = transition(rt, to)
            assert resp.status_code == 422, (state, to)
            msg = resp.get_json()["errors"]["state"][0]
            # the states named as words (their labels), not codes
            assert f"in state {STATE_LABELS[state][1]} " in msg and "Allowed" in msg
    # review → publicised needs computed results
    resp = transition(rt, "publicised")
    assert resp.status_code == 422 and "Compute" in resp.get_json()["errors"]["state"][0]


def test_draft_cannot_skip_and_unknown_state_is_422(rt):
    resp = rt.client.post(f"{API}/periods/{rt.period_id}/transition", json={"to": "archived"}, headers=rt.h("admin"))
    assert resp.status_code == 422 and "to" in resp.get_json()["errors"]
    resp = rt.client.post(f"{API}/periods", json={"unit_id": rt.unit_id, "year": rt.year + 1, "seq": 1},
                          headers=rt.h("admin"))
    assert resp.status_code == 201 and resp.get_json()["state"] == "draft"
    pid = resp.get_json()["id"]
    for to in ("rating", "review", "publicised", "final"):
        r = rt.client.post(f"{API}/periods/{pid}/transition", json={"to": to}, headers=rt.h("admin"))
        assert r.status_code == 422 and "Allowed: Open." in r.get_json()["errors"]["state"][0]
    dup = rt.client.post(f"{API}/periods", json={"unit_id": rt.unit_id, "year": rt.year + 1, "seq": 1},
                         headers=rt.h("admin"))
    assert dup.status_code == 409
    bad = rt.client.post(f"{API}/periods", json={"unit_id": rt.unit_id, "year": rt.year + 1, "seq": 5,
                                                  "cycle": "quarter"}, headers=rt.h("admin"))
    assert bad.status_code == 422 and "seq" in bad.get_json()["errors"]


def test_staff_cannot_move_a_period(rt):
    assert transition(rt, "rating").status_code == 200
    resp = rt.client.post(f"{API}/periods/{rt.period_id}/transition", json={"to": "review"}, headers=rt.h("d1staff"))
    assert resp.status_code == 403


# -- bad input -------------------------------------------------------------------------

def test_score_outside_range_and_unknown_level_are_422_nothing_written(rt):
    from kaohe.routine.models import Rating

    resp = rate(rt, "d1head", "d1staff", "supervisor", {"ethics": "you", "work": 61})
    assert resp.status_code == 422
    assert "between 0 and 60" in resp.get_json()["errors"]["scores.work"][0]
    resp = rate(rt, "d1head", "d1staff", "supervisor", {"ethics": "great", "work": 50})
    assert resp.status_code == 422 and "scores.ethics" in resp.get_json()["errors"]
    resp = rate(rt, "d1head", "d1staff", "supervisor", {"ethics": "you"})
    assert resp.status_code == 422 and "missing work" in resp.get_json()["errors"]["scores"][0]
    resp = rate(rt, "d1head", "d1staff", "supervisor", {"ethics": "you", "work": 50, "democratic": 5})
    assert resp.status_code == 422 and "scores.democratic" in resp.get_json()["errors"]
    assert count(rt.app, Rating) == 0


def test_ratings_for_a_closed_period_are_refused(rt):
    assert transition(rt, "rating").status_code == 200
    assert rate(rt, "d1head", "d1staff", "supervisor").status_code == 200
    exempt_incomplete(rt)
    assert transition(rt, "review").status_code == 200
    resp = rate(rt, "d1head", "d2head" if False else "d1staff", "supervisor", version=1)
    assert resp.status_code == 422
    assert "this period is Review" in resp.get_json()["errors"]["period"][0]


def test_scheme_whose_weights_do_not_add_up_is_refused_naming_the_section(rt):
    from kaohe.routine.models import Scheme

    bad = {**SCHEME, "code": "bad", "sections": [{**SCHEME["sections"][0], "points": 25}] + SCHEME["sections"][1:]}
    resp = rt.client.post(f"{API}/units/{rt.unit_id}/schemes", json=bad, headers=rt.h("admin"))
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert "sections.common.indicators" in errors and "common" in errors["sections.common.indicators"][0]
    weights = {**SCHEME, "code": "bad2", "rater_weights": {"supervisor": 0.7, "self": 0.1}}
    resp = rt.client.post(f"{API}/units/{rt.unit_id}/schemes", json=weights, headers=rt.h("admin"))
    assert resp.status_code == 422 and "rater_weights" in resp.get_json()["errors"]
    pct = {"code": "pct", "name": "x", "basis": "weight", "sections": [
        {"code": "own", "weight": 0.8, "indicators": []}, {"code": "center", "weight": 0.1, "indicators": []}]}
    resp = rt.client.post(f"{API}/units/{rt.unit_id}/schemes", json=pct, headers=rt.h("admin"))
    assert resp.status_code == 422 and "0.9" in resp.get_json()["errors"]["sections"][0]
    assert count(rt.app, Scheme) == 1


def test_deduction_beyond_its_cap_is_recorded_and_capped(rt):
    body = {"person_id": rt.ids["d1staff"], "indicator_code": "discipline", "occurred_on": local_today().isoformat(),
            "evidence": "late for the duty roster"}
    for _ in range(7):   # 7 × 2 = 14 points of evidence against a cap of 10
        assert rt.client.post(f"{API}/periods/{rt.period_id}/events", json=body, headers=rt.h("admin")).status_code == 201
    assert len(rt.client.get(f"{API}/periods/{rt.period_id}/events", headers=rt.h("admin")).get_json()) == 7
    assert transition(rt, "rating").status_code == 200
    rate_everything(rt)
    rt.client.post(f"{API}/periods/{rt.period_id}/compute", headers=rt.h("admin"))
    results = {r["person_id"]: r for r in rt.client.get(f"{API}/periods/{rt.period_id}/results",
                                                        headers=rt.h("admin")).get_json()}
    item = next(i for i in results[rt.ids["d1staff"]]["breakdown"]["sections"][0]["items"] if i["code"] == "discipline")
    assert item["points"] == 0 and item["applied"] == 10 and item["capped"] and item["occurrences"] == 7
    assert results[rt.ids["d1staff"]]["score"] == 20 + 0 + 55 + 9
    resp = rt.client.post(f"{API}/periods/{rt.period_id}/events", json={**body, "occurred_on": "2001-01-01"},
                          headers=rt.h("admin"))
    assert resp.status_code == 422 and "occurred_on" in resp.get_json()["errors"]
    resp = rt.client.post(f"{API}/periods/{rt.period_id}/events", json={**body, "indicator_code": "work"},
                          headers=rt.h("admin"))
    assert resp.status_code == 422 and "indicator_code" in resp.get_json()["errors"]
    resp = rt.client.post(f"{API}/periods/{rt.period_id}/events", json=body, headers=rt.h("d1head"))
    assert resp.status_code == 403


def test_policy_free_occurrences_before_deducting(rt):
    """routine.deduction_free_occurrences = 3 (seed 003: 季迟到满3次后): four late
    arrivals deduct one occurrence (2 points); all four stay on record."""
    from kaohe.policy.registry import REGISTRY
    from kaohe.routine.models import Period
    from kaohe.tenancy.scope import Scope, apply_scope

    assert REGISTRY["routine.deduction_free_occurrences"].default == 0
    with rt.app.app_context():
        apply_scope(Scope.system("t"))
        per = db.session.get(Period, rt.period_id)
        per.policy = {**per.policy, "routine.deduction_free_occurrences": 3}
        db.session.commit()
    body = {"person_id": rt.ids["d1staff"], "indicator_code": "discipline", "occurred_on": local_today().isoformat(),
            "evidence": "迟到（考勤记录）"}
    for _ in range(4):
        assert rt.client.post(f"{API}/periods/{rt.period_id}/events", json=body, headers=rt.h("admin")).status_code == 201
    assert transition(rt, "rating").status_code == 200
    rate_everything(rt)
    rt.client.post(f"{API}/periods/{rt.period_id}/compute", headers=rt.h("admin"))
    results = {r["person_id"]: r for r in rt.client.get(f"{API}/periods/{rt.period_id}/results",
                                                        headers=rt.h("admin")).get_json()}
    item = next(i for i in results[rt.ids["d1staff"]]["breakdown"]["sections"][0]["items"] if i["code"] == "discipline")
    assert item["points"] == 8 and item["free"] == 3 and item["occurrences"] == 4


def test_correction_for_a_day_in_a_final_period_is_refused(rt):
    from kaohe.routine.models import Correction, Period
    from kaohe.tenancy.scope import Scope, apply_scope

    with rt.app.app_context():
        apply_scope(Scope.system("t"))
        db.session.add(Period(root_id=db.session.get(Period, rt.period_id).root_id, org_id=rt.unit_id,
                              year=2020, cycle="quarter", seq=1, starts_on=dt.date(2020, 1, 1),
                              ends_on=dt.date(2020, 3, 31), state="final"))
        db.session.commit()
    resp = rt.client.post(f"{API}/me/corrections", json={"day": "2020-02-03", "reason": "training",
                                                         "sign_in_at": "2020-02-03T08:30:00+08:00"},
                          headers=rt.h("d1staff"))
    assert resp.status_code == 422 and "final period" in resp.get_json()["errors"]["day"][0]
    resp = rt.client.post(f"{API}/me/corrections", json={"day": "2020-04-03", "reason": ""}, headers=rt.h("d1staff"))
    assert resp.status_code == 422 and "reason" in resp.get_json()["errors"]
    assert count(rt.app, Correction) == 0


def test_correction_needs_the_supervisor(rt):
    day = local_today() - dt.timedelta(days=1)
    resp = rt.client.post(f"{API}/me/corrections", json={
        "day": day.isoformat(), "reason": "county meeting", "sign_in_at": f"{day.isoformat()}T08:55:00+08:00"},
        headers=rt.h("d1staff"))
    assert resp.status_code == 201, resp.get_json()
    cid = resp.get_json()["id"]
    # not the supervisor (the deputy leads the department head, not the staff)
    resp = rt.client.post(f"{API}/corrections/{cid}/decision", json={"approve": True}, headers=rt.h("deputy"))
    assert resp.status_code == 403
    pending = rt.client.get(f"{API}/corrections/pending", headers=rt.h("d1head")).get_json()
    assert [c["id"] for c in pending] == [cid]
    resp = rt.client.post(f"{API}/corrections/{cid}/decision", json={"approve": True}, headers=rt.h("d1head"))
    assert resp.status_code == 200 and resp.get_json()["status"] == "approved"
    resp = rt.client.post(f"{API}/corrections/{cid}/decision", json={"approve": False, "note": "x"},
                          headers=rt.h("d1head"))
    assert resp.status_code == 409


# -- optimistic locking ----------------------------------------------------------------

def test_two_edits_of_one_rating_the_loser_gets_409_with_the_newer_value(rt):
    first = rate(rt, "d1head", "d1staff", "supervisor", full_scores("supervisor", "you", 50))
    assert first.status_code == 200 and first.get_json()["version"] == 1
    # the rater changes it (version 1 → 2)
    second = rate(rt, "d1head", "d1staff", "supervisor", full_scores("supervisor", "liang", 52), version=1)
    assert second.status_code == 200 and second.get_json()["version"] == 2
    # a second tab still on version 1 loses
    stale = rate(rt, "d1head", "d1staff", "supervisor", full_scores("supervisor", "zhong", 40), version=1)
    assert stale.status_code == 409
    current = stale.get_json()["errors"]["current"]
    assert current["version"] == 2 and current["scores"] == {"ethics": "liang", "work": 52.0}
    # resubmitting without a version never silently overwrites either
    assert rate(rt, "d1head", "d1staff", "supervisor").status_code == 409
    # the office adjusting with a stale version loses too
    rid = current["id"]
    resp = rt.client.put(f"{API}/ratings/{rid}/adjust", json={"scores": {"work": 45}, "reason": "typo", "version": 1},
                         headers=rt.h("admin"))
    assert resp.status_code == 409 and resp.get_json()["errors"]["current"]["version"] == 2
    resp = rt.client.put(f"{API}/ratings/{rid}/adjust", json={"scores": {"work": 45}, "reason": "typo", "version": 2},
                         headers=rt.h("admin"))
    assert resp.status_code == 200 and resp.get_json()["version"] == 3
    stale = rate(rt, "d1head", "d1staff", "supervisor", version=2)
    assert stale.status_code == 409 and stale.get_json()["errors"]["current"]["scores"]["work"] == 45


# -- compute, publish, final, amendments ---------------------------------------------------------------

def _through_to_review(rt, **rate_kw):
    assert transition(rt, "rating").status_code == 200
    rate_everything(rt, **rate_kw)
    assert transition(rt, "review").status_code == 200
    job = rt.client.post(f"{API}/periods/{rt.period_id}/compute", headers=rt.h("admin"))
    assert job.status_code == 202
    status = rt.client.get(f"/api/v1/jobs/{job.get_json()['job_id']}", headers=rt.h("admin")).get_json()
    assert status["status"] == "done", status
    return status


def test_compute_publish_final_and_amend(rt):
    ev = {"person_id": rt.ids["d1staff"], "indicator_code": "discipline",
          "occurred_on": local_today().isoformat(), "evidence": "absent from duty"}
    assert rt.client.post(f"{API}/periods/{rt.period_id}/events", json=ev, headers=rt.h("admin")).status_code == 201
    _through_to_review(rt)
    results = {r["person_id"]: r for r in rt.client.get(f"{API}/periods/{rt.period_id}/results",
                                                        headers=rt.h("admin")).get_json()}
    staff = results[rt.ids["d1staff"]]
    # every rater answered: ethics 20 + discipline 8 + work 55 + democratic 9
    assert staff["score"] == 92 and staff["grade"] is not None
    assert "incomplete" not in staff["flags"]
    assert results[rt.ids["d2staff"]]["score"] == 94
    # the staff member cannot see results before publication
    assert rt.client.get(f"{API}/periods/{rt.period_id}/results/me", headers=rt.h("d1staff")).status_code == 403
    resp = transition(rt, "publicised")
    assert resp.status_code == 200, resp.get_json()
    p = resp.get_json()
    assert p["publicity_until"] >= p["publicity_from"]
    mine = rt.client.get(f"{API}/periods/{rt.period_id}/results/me", headers=rt.h("d1staff")).get_json()
    assert mine["score"] == 92 and mine["rank_of"] == 6
    # final only after the publicity window
    resp = transition(rt, "final")
    assert resp.status_code == 422 and "public notice runs until" in resp.get_json()["errors"]["state"][0]
    from kaohe.routine.models import Period
    from kaohe.tenancy.scope import Scope, apply_scope

    with rt.app.app_context():
        apply_scope(Scope.system("t"))
        per = db.session.get(Period, rt.period_id)
        per.publicity_until = local_today() - dt.timedelta(days=1)
        db.session.commit()
    assert transition(rt, "final").status_code == 200
    # read-only: no rating, no event, no record, no transition, no compute
    assert rate(rt, "d1head", "d1staff", "supervisor", version=1).status_code == 422
    assert rt.client.post(f"{API}/periods/{rt.period_id}/events", json=ev, headers=rt.h("admin")).status_code == 422
    resp = rt.client.put(f"{API}/periods/{rt.period_id}/records/mine", json={
        "on_date": local_today().isoformat(), "done": "x"}, headers=rt.h("d1staff"))
    assert resp.status_code == 422
    assert rt.client.post(f"{API}/periods/{rt.period_id}/compute", headers=rt.h("admin")).status_code == 422
    for to in ("open", "rating", "review", "publicised", "final"):
        resp = transition(rt, to)
        assert resp.status_code == 422 and "amendment" in resp.get_json()["errors"]["state"][0]
    # an amendment with a reason re-derives the result
    resp = rt.client.post(f"{API}/periods/{rt.period_id}/amendments", json={"what": "event", "reason": ""},
                          headers=rt.h("admin"))
    assert resp.status_code == 422
    resp = rt.client.post(f"{API}/periods/{rt.period_id}/amendments", json={"what": "void_event", "reason": "x"},
                          headers=rt.h("admin"))
    assert resp.status_code == 422 and "event_id" in resp.get_json()["errors"]
    event_id = rt.client.get(f"{API}/periods/{rt.period_id}/events", headers=rt.h("admin")).get_json()[0]["id"]
    resp = rt.client.post(f"{API}/periods/{rt.period_id}/amendments", json={
        "what": "void_event", "event_id": event_id, "reason": "the absence was an approved county meeting"},
        headers=rt.h("admin"))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["after"]["results"][str(rt.ids["d1staff"])][0] == 94
    mine = rt.client.get(f"{API}/periods/{rt.period_id}/results/me", headers=rt.h("d1staff")).get_json()
    assert mine["score"] == 94
    audit = rt.client.get("/api/v1/audit?action=routine.period.amend", headers=rt.h("admin"))
    if audit.status_code == 200:
        assert any(e.get("action") == "routine.period.amend" for e in audit.get_json())


def test_cap_tie_is_flagged_and_resolved_by_a_person(rt):
    # everyone rated equally high: ties at the 好 line in each department
    assert transition(rt, "rating").status_code == 200
    rate_everything(rt, work=60, dem=9)
    assert transition(rt, "review").status_code == 200
    # make the policy unit-wide so all six compete: floor(6 × 0.4) = 2 places
    from kaohe.routine.models import Period
    from kaohe.tenancy.scope import Scope, apply_scope

    with rt.app.app_context():
        apply_scope(Scope.system("t"))
        per = db.session.get(Period, rt.period_id)
        per.policy = {**per.policy, "routine.good_cap_scope": "unit"}
        db.session.commit()
    rt.client.post(f"{API}/periods/{rt.period_id}/compute", headers=rt.h("admin"))
    p = period(rt)
    ties = p["compute_summary"]["ties"]
    assert len(ties) == 1 and ties[0]["slots"] == 2 and not ties[0]["resolved"]
    results = rt.client.get(f"{API}/periods/{rt.period_id}/results", headers=rt.h("admin")).get_json()
    assert all(r["grade"] != "hao" for r in results if r["person_id"] in ties[0]["candidates"])
    assert any("cap_tie" in r["flags"] for r in results)
    resp = transition(rt, "publicised")
    assert resp.status_code == 422 and "tie" in resp.get_json()["errors"]["state"][0]
    chosen = ties[0]["candidates"][:2]
    resp = rt.client.post(f"{API}/periods/{rt.period_id}/ties", json={"group": "unit", "chosen": chosen[:1],
                                                                        "reason": "x"}, headers=rt.h("admin"))
    assert resp.status_code == 422 and "exactly 2" in resp.get_json()["errors"]["chosen"][0]
    resp = rt.client.post(f"{API}/periods/{rt.period_id}/ties", json={
        "group": "unit", "chosen": chosen, "reason": "longer service on the flood duty roster"}, headers=rt.h("admin"))
    assert resp.status_code == 200
    results = rt.client.get(f"{API}/periods/{rt.period_id}/results", headers=rt.h("admin")).get_json()
    assert sorted(r["person_id"] for r in results if r["grade"] == "hao") == sorted(chosen)
    assert transition(rt, "publicised").status_code == 200


def test_warning_rules_raise_tasks(rt):
    """A score ≤ 60 raises a criticism talk for the supervisor (seed 000)."""
    assert transition(rt, "rating").status_code == 200
    rate_everything(rt, scores={"d1staff": ("cha", 20, 2)})
    assert transition(rt, "review").status_code == 200
    rt.client.post(f"{API}/periods/{rt.period_id}/compute", headers=rt.h("admin"))
    results = {r["person_id"]: r for r in rt.client.get(f"{API}/periods/{rt.period_id}/results",
                                                        headers=rt.h("admin")).get_json()}
    assert "criticism_talk" in results[rt.ids["d1staff"]]["flags"]
    tasks = rt.client.get(f"{API}/tasks", headers=rt.h("d1head")).get_json()
    assert [t["kind"] for t in tasks] == ["routine.criticism_talk"]
    assert tasks[0]["person_id"] == rt.ids["d1staff"]
    # recomputing does not duplicate it
    rt.client.post(f"{API}/periods/{rt.period_id}/compute", headers=rt.h("admin"))
    assert len(rt.client.get(f"{API}/tasks", headers=rt.h("d1head")).get_json()) == 1
    resp = rt.client.post(f"{API}/tasks/{tasks[0]['id']}/close", json={"note": "talk held"}, headers=rt.h("d1staff"))
    assert resp.status_code == 403
    resp = rt.client.post(f"{API}/tasks/{tasks[0]['id']}/close", json={"note": "talk held"}, headers=rt.h("d1head"))
    assert resp.status_code == 200 and resp.get_json()["status"] == "done"


def test_derived_leader_scores_in_a_period(rt):
    scheme = rt.client.get(f"{API}/units/{rt.unit_id}/schemes", headers=rt.h("admin")).get_json()[0]
    body = {k: scheme[k] for k in ("code", "name", "job_category", "basis", "total", "sections", "rater_weights",
                                   "democratic_scope")}
    body.update(leader_score_mode="derived", version=scheme["version"])
    resp = rt.client.post(f"{API}/periods", json={"unit_id": rt.unit_id, "year": rt.year + 2, "seq": 1},
                          headers=rt.h("admin"))
    pid = resp.get_json()["id"]
    assert rt.client.put(f"{API}/schemes/{scheme['id']}", json=body, headers=rt.h("admin")).status_code == 200
    rt.period_id = pid
    assert transition(rt, "open").status_code == 200
    assert transition(rt, "rating").status_code == 200
    # the head may no longer rate the deputy directly
    resp = rate(rt, "head", "deputy", "supervisor")
    assert resp.status_code == 403 and resp.get_json()["errors"]["code"] == ["derived_leader"]
    # every rater answers: D1 is 20+10+60+0 = 90 and 16+10+50+0 = 76
    rate_everything(rt, scores={"d1head": ("you", 60, 0), "d1staff": ("liang", 50, 0)})
    assert transition(rt, "review").status_code == 200
    rt.client.post(f"{API}/periods/{pid}/compute", headers=rt.h("admin"))
    results = {r["person_id"]: r for r in rt.client.get(f"{API}/periods/{pid}/results",
                                                        headers=rt.h("admin")).get_json()}
    assert results[rt.ids["deputy"]]["score"] == 83           # mean of D1 (90, 76)
    assert results[rt.ids["head"]]["score"] == 83             # mean of the deputies
    assert "derived" in results[rt.ids["deputy"]]["flags"]


# -- anonymity ----------------------------------------------------------------------------

@pytest.mark.parametrize("rt", [3], indirect=True)   # the national anonymity minimum
def test_anonymous_ratings_never_leak(rt):
    assert transition(rt, "rating").status_code == 200
    assert rate(rt, "d2staff", "d1staff", "peer", full_scores("peer", "cha", 7)).status_code == 200
    assert rate(rt, "d2head", "d1staff", "peer", full_scores("peer", "you", 58)).status_code == 200
    url = f"{API}/periods/{rt.period_id}/ratings?ratee_id={rt.ids['d1staff']}"
    # the office sees who voted, not the votes
    admin_view = rt.client.get(url, headers=rt.h("admin")).get_json()
    assert sorted(admin_view["voters"]["peer"]) == sorted([rt.ids["d2staff"], rt.ids["d2head"]])
    assert "votes" not in admin_view["anonymous"]
    assert admin_view["anonymous"]["peer"] == {"responses": 2, "minimum": 3, "shown": False}
    body = rt.client.get(url, headers=rt.h("admin")).get_data(as_text=True)
    assert "cha" not in body and "58" not in body
    # the audit log carries a digest, not the scores
    audit = rt.client.get("/api/v1/audit", headers=rt.h("admin"))
    if audit.status_code == 200:
        entries = [e for e in audit.get_json() if e["action"] == "routine.rating.submit"]
        assert entries and all("scores" not in e["after"] and "rater" not in e["after"] for e in entries)
        assert all("scores_digest" in e["after"] for e in entries)
    # the person rated: nothing before publication; aggregates only after, and only past the minimum
    assert rt.client.get(url, headers=rt.h("d1staff")).status_code == 403
    assert rt.client.get(url, headers=rt.h("d2staff")).status_code == 403
    rate_all(rt)
    exempt_incomplete(rt)
    assert transition(rt, "review").status_code == 200
    rt.client.post(f"{API}/periods/{rt.period_id}/compute", headers=rt.h("admin"))
    assert transition(rt, "publicised").status_code == 200
    own = rt.client.get(url, headers=rt.h("d1staff"))
    assert own.status_code == 200
    data = own.get_json()
    assert data["voters"] is None and data["anonymous"]["peer"]["shown"] is False
    mine = rt.client.get(f"{API}/periods/{rt.period_id}/results/me", headers=rt.h("d1staff")).get_json()
    for s in mine["breakdown"]["sections"]:
        for item in s["items"]:
            assert "peer" not in (item.get("raters") or {})
    page = rt.client.get(f"{API}/periods/{rt.period_id}/results/me", headers=rt.h("d1staff")).get_data(as_text=True)
    assert '"peer":' not in page      # no peer value anywhere (the breakdown names the group withheld, nothing more)


def test_anonymous_aggregates_shown_at_the_minimum(rt):
    from kaohe.routine.models import Period
    from kaohe.tenancy.scope import Scope, apply_scope

    with rt.app.app_context():
        apply_scope(Scope.system("t"))
        per = db.session.get(Period, rt.period_id)
        per.policy = {**per.policy, "routine.min_anonymous_raters": 2}
        db.session.commit()
    assert rate(rt, "d2staff", "d1staff", "peer", full_scores("peer", "cha", 10)).status_code == 200
    assert rate(rt, "d2head", "d1staff", "peer", full_scores("peer", "you", 50)).status_code == 200
    assert transition(rt, "rating").status_code == 200
    rate_everything(rt)
    exempt_incomplete(rt)     # one democratic voter per person is below the minimum: their evaluation is unrated
    assert transition(rt, "review").status_code == 200
    rt.client.post(f"{API}/periods/{rt.period_id}/compute", headers=rt.h("admin"))
    assert transition(rt, "publicised").status_code == 200
    data = rt.client.get(f"{API}/periods/{rt.period_id}/ratings?ratee_id={rt.ids['d1staff']}",
                         headers=rt.h("d1staff")).get_json()
    assert data["anonymous"]["peer"] == {"responses": 2, "minimum": 2, "shown": True,
                                         "means": {"ethics": 13.0, "work": 30.0}}


# -- work records and attendance ------------------------------------------------------------

def test_work_records_with_versions(rt):
    url = f"{API}/periods/{rt.period_id}/records/mine"
    today = local_today()
    resp = rt.client.put(url, json={"on_date": today.isoformat(), "plan": "village visits", "done": "visited 5"},
                         headers=rt.h("d1staff"))
    assert resp.status_code == 200 and resp.get_json()["on_date"] == today.replace(day=1).isoformat()
    resp = rt.client.put(url, json={"on_date": today.isoformat(), "done": "visited 6", "version": 1},
                         headers=rt.h("d1staff"))
    assert resp.status_code == 200 and resp.get_json()["version"] == 2
    resp = rt.client.put(url, json={"on_date": today.isoformat(), "done": "visited 7", "version": 1},
                         headers=rt.h("d1staff"))
    assert resp.status_code == 409 and resp.get_json()["errors"]["current"]["done"] == "visited 6"
    resp = rt.client.put(url, json={"on_date": (today + dt.timedelta(days=40)).isoformat(), "done": "x"},
                         headers=rt.h("d1staff"))
    assert resp.status_code == 422
    resp = rt.client.put(url, json={"on_date": today.isoformat(), "done": ""}, headers=rt.h("d1staff"))
    assert resp.status_code == 422 and "done" in resp.get_json()["errors"]
    board = rt.client.get(f"{API}/periods/{rt.period_id}/completeness", headers=rt.h("admin")).get_json()
    row = next(r for r in board["rows"] if r["person_id"] == rt.ids["d1staff"])
    assert row["records"] == 1
    assert board["totals"]["people"] == 6


def test_sign_in_and_out(rt):
    resp = rt.client.post(f"{API}/me/attendance", json={"what": "in"}, headers=rt.h("d1staff"))
    assert resp.status_code == 200 and resp.get_json()["sign_in_at"]
    assert rt.client.post(f"{API}/me/attendance", json={"what": "in"}, headers=rt.h("d1staff")).status_code == 409
    resp = rt.client.post(f"{API}/me/attendance", json={"what": "out"}, headers=rt.h("d1staff"))
    assert resp.status_code == 200 and resp.get_json()["sign_out_at"]
    assert rt.client.post(f"{API}/me/attendance", json={"what": "sideways"},
                          headers=rt.h("d1staff")).status_code == 422
    assert rt.client.post(f"{API}/me/attendance", json={"what": "in"}, headers=rt.h("admin")).status_code == 403


def test_sign_in_after_midnight_beijing_counts_for_the_beijing_day(rt, login, monkeypatch):
    """01:48 in Beijing is 17:48 UTC of the day before: the sign-in belongs
    to the Beijing day, and the staff page of that day shows it."""
    from kaohe.core import clock
    from kaohe.routine.models import Attendance

    late = dt.datetime.combine(local_today(), dt.time(17, 48), tzinfo=dt.timezone.utc)
    monkeypatch.setattr(clock, "utcnow", lambda: late)
    resp = rt.client.post(f"{API}/me/attendance", json={"what": "in"}, headers=rt.h("d1staff"))
    assert resp.status_code == 200
    with rt.app.app_context():
        from kaohe.tenancy.scope import Scope, apply_scope

        apply_scope(Scope.system("test"))
        days = db.session.execute(select(Attendance.day)).scalars().all()
        db.session.remove()
    assert days == [late.date() + dt.timedelta(days=1)]
    assert rt.client.post(f"{API}/me/attendance", json={"what": "in"}, headers=rt.h("d1staff")).status_code == 409
    page = login("t1staff").get("/routine/").get_data(as_text=True)
    assert 'name="what" value="out"' in page and 'name="what" value="in"' not in page


def test_metrics_import_all_or_nothing(rt):
    from kaohe.routine.models import Metric

    resp = rt.client.post(f"{API}/periods/{rt.period_id}/metrics", json={"rows": [
        {"staff_no": "d1staff", "indicator_code": "work", "value": 3}]}, headers=rt.h("admin"))
    assert resp.status_code == 422 and "rows.0.indicator_code" in resp.get_json()["errors"]
    resp = rt.client.post(f"{API}/periods/{rt.period_id}/metrics", json={"rows": [
        {"staff_no": "nobody", "indicator_code": "work", "value": 3}]}, headers=rt.h("admin"))
    assert resp.status_code == 422 and "rows.0.person" in resp.get_json()["errors"]
    assert count(rt.app, Metric) == 0
