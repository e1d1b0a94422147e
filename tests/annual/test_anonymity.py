"""Finding 11 (issue 12) in the annual assessment: a democratic evaluation
(民主测评) with fewer votes than routine.min_anonymous_raters is neither shown
nor counted; counted, the review and annual scores with the routine mean and
the leader's score (both shown) would give the votes away.  Whatever the
hidden votes, the results, the API answer and the person's page are the
same (the ballots package already keeps a session below the threshold out
of the reviews: tests/ballots)."""
from __future__ import annotations

import re

from kaohe.annual.calc.person import PersonInput
from kaohe.annual.calc.score import annual_score
from kaohe.annual.calc.unit import compute_unit
from kaohe.annual.policy import DEFAULTS

from .conftest import YEAR

HIDDEN = ({"youxiu": 2}, {"buchenzhi": 2}, {"chenzhi": 1, "jibenchenzhi": 1}, {"buchenzhi": 1})


def _unit(votes, minimum=3):
    people = [PersonInput(1, routine=[(88, "jiaohao")] * 4, leader_score=85, democratic=votes),
              PersonInput(2, routine=[(91, "hao")] * 4, leader_score=90)]
    return compute_unit(people, {**DEFAULTS, "routine.min_anonymous_raters": minimum}, YEAR)


def test_hidden_votes_change_no_result():
    outs = {repr([r.as_row() for r in _unit(v).results]) for v in HIDDEN}
    assert len(outs) == 1
    r = _unit(HIDDEN[0]).results[0]
    comps = r.components
    assert comps["withheld"] == ["democratic"] and comps["inputs"]["democratic"] is None
    assert comps["values"]["review"] == 85.0      # the leader's score alone
    # at the minimum the votes count (and are shown as counts)
    assert _unit({"youxiu": 3}).results[0].score > _unit({"buchenzhi": 3}).results[0].score
    assert "withheld" not in _unit({"youxiu": 3}).results[0].components


def test_readable_definition_agrees():
    p = PersonInput(1, routine=[(88, "jiaohao")], leader_score=85, democratic={"youxiu": 2})
    score, ex = annual_score(p, DEFAULTS["annual.weights"], min_votes=3)
    assert ex["withheld"] == ["democratic"] and score == annual_score(
        PersonInput(1, routine=[(88, "jiaohao")], leader_score=85), DEFAULTS["annual.weights"])[0]


def _strip(html: str) -> str:
    return re.sub(r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{10,}|"
                  r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?(\.\d+)?([+-]\d{2}:?\d{2}|Z)?", "", html)


def test_entered_votes_below_the_minimum_leave_every_output_unchanged(app, world, t1_seeded, client, api_token,
                                                                       login_as):
    h = api_token("t1admin")
    unit, pid = world.ids["P1-T1"], t1_seeded["people"]["d1staff"]
    base = f"/api/v1/annual/units/{unit}/{YEAR}"

    def run(votes):
        body = {"person_id": pid, **{f"votes_{g}": votes.get(g, 0) for g in
                                     ("youxiu", "chenzhi", "jibenchenzhi", "buchenzhi")}}
        assert client.put(f"{base}/reviews", json=body, headers=h).status_code == 200
        assert client.post(f"{base}/compute", headers=h).status_code in (200, 202)
        res = [{k: v for k, v in r.items() if k not in ("id", "run_id", "computed_at", "created_at")}
               for r in client.get(f"{base}/results", headers=h).get_json()]
        page = login_as("t1admin").get(f"/annual/person/{pid}/{YEAR}")
        assert page.status_code == 200
        return res, _strip(page.get_data(as_text=True))

    first = run({"youxiu": 2})
    reviews = login_as("t1admin").get(f"/annual/unit/{unit}/{YEAR}/reviews").get_data(as_text=True)
    assert "共2票：少于匿名最少人数（3），不计入得分" in reviews     # the office is told when it enters them
    mine = next(r for r in first[0] if r["person_id"] == pid)
    assert mine["score"] is not None
    assert 'data-withheld="democratic"' in first[1]
    assert run({"buchenzhi": 2}) == first
    assert run({"chenzhi": 1, "jibenchenzhi": 1}) == first
    # three votes reach the minimum: counted, and the result moves
    assert run({"buchenzhi": 3})[0] != first[0]
