"""Finding 11 (issue 12): anonymity.  Peers or democratic voters fewer than
routine.min_anonymous_raters were hidden but still counted, while the
supervisor's and the self score were shown: the hidden mean could be solved
for from the total.  Now such a group is withheld -- not counted, its weight
going to the counted raters (routine.anonymous_below_minimum = not_counted)
or the person is 未完成 until more answer (= incomplete) -- so nothing any
page, export or API answer shows depends on it.  The tests change only the
hidden votes and require every output to stay byte for byte the same."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select, update

from kaohe.extensions import db
from kaohe.routine import calc

from .conftest import exempt_incomplete, full_scores, rate, transition

API = "/api/v1/routine"

LIB = {
    "work": {"code": "work", "kind": "scored", "max": 60, "dimension": "ji"},
    "ethics": {"code": "ethics", "kind": "graded", "dimension": "de",
               "levels": {"you": 40, "liang": 32, "zhong": 24, "cha": 12}},
}
SCHEME = {"code": "s", "basis": "points", "total": 100,
          "rater_weights": {"supervisor": 0.6, "self": 0.1, "peer": 0.1, "democratic": 0.2},
          "sections": [{"code": "a", "points": 100, "indicators": ["work", "ethics"]}]}


def _score(dem_votes, peer_votes, minimum, mode_votes=None):
    ratings = [("supervisor", {"work": 50, "ethics": "liang"}), ("self", {"work": 58, "ethics": "you"})]
    ratings += [("democratic", {"work": v, "ethics": "cha"}) for v in dem_votes]
    ratings += [("peer", {"work": v, "ethics": "zhong"}) for v in peer_votes]
    return calc.score_person(calc.PersonInput(person_id=1, scheme=SCHEME, library=LIB, ratings=ratings,
                                              min_anonymous=minimum))


@pytest.mark.parametrize("minimum", [3, 5])
def test_total_and_shown_components_do_not_determine_a_hidden_group(minimum):
    """Below the minimum, every output is the same whatever the hidden votes
    were: the total cannot be inverted to recover them."""
    outputs = set()
    for dem in ([0, 0], [60, 60], [10, 55], [60]):
        for peer in ([], [0], [60, 30]):
            if len(dem) >= minimum:
                continue
            out = _score(dem, peer, minimum)
            assert out["withheld"] == sorted({"democratic"} | ({"peer"} if peer else set()))
            outputs.add(repr(out))
    assert len(outputs) == 2     # with and without a withheld peer group: only the group's name differs
    base = _score([], [], minimum)
    # exactly the supervisor and self, renormalised: 0.6/0.7 and 0.1/0.7 of the item means
    item = base["sections"][0]["items"][0]
    assert item["points"] == calc.r2((50 * 0.6 + 58 * 0.1) / 0.7)
    assert repr(_score([0, 0], [], minimum)["score"]) == repr(base["score"])


def test_at_the_minimum_the_group_counts_and_moves_the_score():
    low, high = _score([0, 0, 0], [], 3), _score([60, 60, 60], [], 3)
    assert low["score"] < high["score"] and low["withheld"] == high["withheld"] == []
    assert low["sections"][0]["items"][0]["counts"]["democratic"] == 3


def test_a_withheld_group_leaves_no_trace_but_its_name():
    item = _score([7, 13], [], 3)["sections"][0]["items"][0]
    assert "democratic" not in item["raters"] and "democratic" not in item["counts"]
    assert item["withheld"] == ["democratic"]
    assert "7" not in repr(item["raters"]) and "10.0" not in repr(item)


def test_an_item_only_withheld_raters_rate_is_unrated_never_zero():
    scheme = {**SCHEME, "sections": [{"code": "a", "points": 100, "indicators": ["work", "ethics"],
                                      "raters": {"democratic": 1.0}}]}
    out = calc.score_person(calc.PersonInput(person_id=1, scheme=scheme, library=LIB, min_anonymous=3,
                                             ratings=[("democratic", {"work": 40, "ethics": "you"})] * 2))
    assert out["unrated"] == ["ethics", "work"] and out["withheld"] == ["democratic"]


def test_the_rule_is_a_bounded_policy_setting_with_a_national_default():
    from kaohe.policy import registry as reg

    s = reg.REGISTRY["routine.anonymous_below_minimum"]
    assert s.default == "not_counted" and s.kind == reg.BOUNDED and set(s.choices) == {"not_counted", "incomplete"}
    assert calc.POLICY_DEFAULTS["routine.anonymous_below_minimum"] == "not_counted"


# -- every output of a real period ------------------------------------------------------------

def _system(rt):
    from kaohe.tenancy.scope import Scope, apply_scope

    ctx = rt.app.app_context()
    ctx.push()
    apply_scope(Scope.system("t"))
    return ctx


def _prepare(rt, mode="not_counted"):
    """T1 with a minimum of 3: each staff member has 2 peers (the 党群组) and
    one democratic voter (a two-person department), so both groups are below
    it.  The evaluation section is also rated by the supervisor so that
    people get a score from the counted raters."""
    from kaohe.routine.models import Period

    ctx = _system(rt)
    period = db.session.get(Period, rt.period_id)
    frozen = dict(period.frozen)
    frozen["schemes"] = {code: {**s, "sections": [
        {**sec, "raters": {"supervisor": 0.5, "democratic": 0.5}} if sec["code"] == "eval" else sec
        for sec in s["sections"]]} for code, s in frozen["schemes"].items()}
    db.session.execute(update(Period).where(Period.id == period.id).values(
        frozen=frozen, policy={**period.policy, "routine.min_anonymous_raters": 3,
                               "routine.anonymous_below_minimum": mode}))
    db.session.commit()
    ctx.pop()


def _rate_all(rt):
    """Every rating the rules allow; the supervisor also rates the evaluation item."""
    by_id = {v: k for k, v in rt.ids.items()}
    for rater in rt.ids:
        for t in rt.client.get(f"{API}/periods/{rt.period_id}/todo", headers=rt.h(rater)).get_json():
            scores = full_scores(t["kind"])
            if t["kind"] == "supervisor":
                scores["democratic"] = 8.0
            resp = rate(rt, rater, by_id[t["person_id"]], t["kind"], scores)
            assert resp.status_code == 200, resp.get_json()


def _set_hidden(rt, peer_work, dem):
    """Change only the anonymous votes (what a differencing attacker does not know)."""
    from kaohe.routine.models import Rating

    ctx = _system(rt)
    for r in db.session.execute(select(Rating).where(Rating.period_id == rt.period_id,
                                                     Rating.rater_kind.in_(("peer", "democratic")))).scalars():
        r.scores = {"democratic": dem} if r.rater_kind == "democratic" else {**r.scores, "work": peer_work,
                                                                                "ethics": "cha"}
    db.session.commit()
    ctx.pop()


def _compute_and_publish(rt):
    resp = rt.client.post(f"{API}/periods/{rt.period_id}/compute", headers=rt.h("admin"))
    assert resp.status_code == 202, resp.get_json()
    assert transition(rt, "publicised").status_code == 200


_VOLATILE = re.compile(r'([A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{10,}|'   # CSRF tokens
                       r'name="version" value="\d+"|'                                  # the period's version
                       r'\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?(\.\d+)?([+-]\d{2}:?\d{2}|Z)?)')


def _diff(a, b):
    import difflib
    import json

    a, b = (x if isinstance(x, str) else json.dumps(x, indent=1, ensure_ascii=False) for x in (a, b))
    return "\n".join(list(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0))[:20])


def _outputs(rt, login_new):
    from openpyxl import load_workbook

    out = {}
    out["api.results"] = rt.client.get(f"{API}/periods/{rt.period_id}/results", headers=rt.h("admin")).get_json()
    out["api.me"] = rt.client.get(f"{API}/periods/{rt.period_id}/results/me", headers=rt.h("d1staff")).get_json()
    staff = login_new("t1staff")
    out["page.me"] = staff.get(f"/routine/periods/{rt.period_id}/result").get_data(as_text=True)
    admin = login_new("t1admin")
    out["page.period"] = admin.get(f"/routine/periods/{rt.period_id}").get_data(as_text=True)
    out["page.person"] = admin.get(f"/routine/periods/{rt.period_id}/people/{rt.ids['d1staff']}").get_data(
        as_text=True)
    resp = admin.get(f"/supervision/exports/routine.results?org_id={rt.unit_id}&year={rt.year}&period=quarter-{rt.q}")
    assert resp.status_code == 200
    out["xlsx"] = [[c.value for c in row] for row in load_workbook(io.BytesIO(resp.data))["平时考核 Results"]
                   .iter_rows()]
    for k in ("page.me", "page.period", "page.person"):
        out[k] = _VOLATILE.sub("", out[k])
    return out


@pytest.mark.parametrize("rt", [3], indirect=True)
def test_no_page_export_or_api_answer_depends_on_a_hidden_group(rt, login_new):
    _prepare(rt)
    assert transition(rt, "rating").status_code == 200
    _rate_all(rt)
    exempt_incomplete(rt)     # those without a supervisor (the head)
    assert transition(rt, "review").status_code == 200
    _set_hidden(rt, peer_work=60.0, dem=10.0)
    _compute_and_publish(rt)
    first = _outputs(rt, login_new)
    me = first["api.me"]
    assert me["score"] is not None and me["grade"]
    items = [it for s in me["breakdown"]["sections"] for it in s["items"]]
    assert {k for it in items for k in it.get("withheld", [])} == {"peer", "democratic"}
    assert not any(k in (it.get("raters") or {}) for it in items for k in ("peer", "democratic"))
    assert "data-withheld" in first["page.me"] and "data-withheld" in first["page.person"]

    # the same period with other hidden votes: every output is identical
    assert transition(rt, "review").status_code == 200
    _set_hidden(rt, peer_work=0.0, dem=0.0)
    _compute_and_publish(rt)
    second = _outputs(rt, login_new)
    for key in first:
        assert first[key] == second[key], (key, _diff(first[key], second[key]))


@pytest.mark.parametrize("rt", [3], indirect=True)
def test_incomplete_mode_asks_for_more_raters_or_an_exemption(rt, login_new):
    _prepare(rt, mode="incomplete")
    assert transition(rt, "rating").status_code == 200
    _rate_all(rt)
    status = rt.client.get(f"{API}/periods/{rt.period_id}/inputs", headers=rt.h("admin")).get_json()
    row = next(r for r in status if r["person_id"] == rt.ids["d1staff"])
    assert row["withheld"] == ["democratic", "peer"] and not row["exempted"]
    resp = transition(rt, "review")
    assert resp.status_code == 422 and "anonymity" in resp.get_json()["errors"]["state"][0]
    page = login_new("t1admin").get(f"/routine/periods/{rt.period_id}").get_data(as_text=True)
    gap = re.search(r'data-person="%d"><td>[^<]*</td><td>([^<]*)</td>' % rt.ids["d1staff"], page)
    assert gap and "评价人数少于匿名最少人数（不计入得分）：" in gap.group(1), page[page.find("inputs-incomplete"):][:3000]
    exempt_incomplete(rt)
    assert transition(rt, "review").status_code == 200
    resp = rt.client.post(f"{API}/periods/{rt.period_id}/compute", headers=rt.h("admin"))
    assert resp.status_code == 202
    res = {r["person_id"]: r for r in rt.client.get(f"{API}/periods/{rt.period_id}/results",
                                                    headers=rt.h("admin")).get_json()}
    mine = res[rt.ids["d1staff"]]
    assert mine["score"] is not None and "exempted" in mine["flags"]
