"""Dashboard arithmetic and flags: table tests, no database."""
from __future__ import annotations

import datetime as dt

import pytest

from kaohe.supervision import calc

TODAY = dt.date(2026, 11, 22)
SETTINGS = {"good_cap_rate": 0.4, "high_score": 95, "grace_days": 15, "publicise_within_days": 7}


def unit(routine=None, annual=None, appeals=None, talks=None, people=10):
    return calc.unit_figures(people=people, routine=routine, annual=annual, appeals=appeals, talks=talks,
                             reminders=None, today=TODAY, settings=SETTINGS)


def period(**kw):
    base = {"period_id": 1, "state": "rating", "starts_on": dt.date(2026, 7, 1), "ends_on": dt.date(2026, 9, 30),
            "computed": False, "computed_at": None, "publicity_from": None, "publicity_until": None, "final": False,
            "participants": 10, "work_records": 10, "rated": 10, "grades": {}, "results": 0, "score_min": None,
            "score_max": None, "score_avg": None, "high": 0}
    base.update(kw)
    return base


def test_overdue_items():
    u = unit(period(rated=6))
    codes = [o["code"] for o in u["overdue"]]
    assert codes == ["period_overdue", "ratings_missing"]
    assert u["overdue"][0]["params"]["days"] == (TODAY - dt.date(2026, 9, 30)).days
    assert u["overdue"][1]["params"]["n"] == 4
    fresh = unit(period(ends_on=TODAY - dt.timedelta(days=3), rated=10))
    assert fresh["overdue"] == []
    final = unit(period(state="final", final=True))
    assert final["overdue"] == []
    pub = unit(period(ends_on=TODAY - dt.timedelta(days=5), publicity_from=TODAY - dt.timedelta(days=4),
                      publicity_until=TODAY - dt.timedelta(days=1)))
    assert [o["code"] for o in pub["overdue"]] == ["publicity_done_not_final"]
    assert unit(None, appeals={"open": 2, "overdue": 1, "next_deadline": TODAY})["overdue"][0]["code"] == "appeals_overdue"
    assert unit(None, talks={"due": 3, "overdue": 2})["overdue"][0]["params"]["n"] == 2


def test_roll_up_and_not_opened():
    a = unit(period(grades={"hao": 4, "jiaohao": 6}, results=10, rated=5))
    b = unit(None, people=7)
    row = calc.roll_up([a, b])
    assert row["units"] == 2 and row["people"] == 17 and row["with_period"] == 1 and row["not_opened"] == 1
    assert row["completion"]["ratings"] == 0.5 and row["completion"]["final"] == 0.0
    assert row["hao_share"] == 0.4
    calc.mark_not_opened(row, True)
    assert row["overdue"][-1]["code"] == "not_opened" and calc.is_lagging(row)
    empty = calc.roll_up([])
    assert empty["units"] == 0 and empty["completion"]["ratings"] is None


@pytest.mark.parametrize("scores,expected", [
    ((88, 88, 88), "identical_scores"),
    ((96, 97, 99), "all_high"),
    ((95, 95, 95), "identical_scores"),
    ((80, 96, 99), None),
    ((99, 99), None),            # too few people to call it a pattern
])
def test_identical_and_all_high(scores, expected):
    u = unit(period(results=len(scores), score_min=min(scores), score_max=max(scores), grades={"hao": len(scores)}))
    flags = calc.flags_for_units({7: u}, SETTINGS, TODAY)
    got = [f["code"] for f in flags]
    assert got == ([expected] if expected else [])
    for f in flags:
        assert f["unit_id"] == 7 and calc.flag_message(f) and "%(" not in calc.flag_message(f)


def test_computed_not_publicised():
    computed_at = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    u = unit(period(computed=True, computed_at=computed_at))
    assert [f["code"] for f in calc.flags_for_units({1: u}, SETTINGS, TODAY)] == ["computed_not_publicised"]
    recent = unit(period(computed=True, computed_at=dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)))
    assert calc.flags_for_units({1: recent}, SETTINGS, TODAY) == []
    published = unit(period(computed=True, computed_at=computed_at, publicity_from=dt.date(2026, 11, 3),
                            state="publicised"))
    assert calc.flags_for_units({1: published}, SETTINGS, TODAY) == []
    annual = unit(None, annual={"status": "confirmed", "computed": True, "confirmed": True, "grades": {}})
    assert [f["code"] for f in calc.flags_for_units({1: annual}, SETTINGS, TODAY)] == ["annual_not_publicised"]


@pytest.mark.parametrize("args,fires", [
    ((3, 3, 12, 4, 10, 0.4), True),     # 4 people, 好 in all 3 periods, cap floor(4.0)=4
    ((3, 3, 12, 4, 12, 0.4), False),    # cap would be 4.8 → 4, still at cap … see next
    ((3, 3, 11, 5, 10, 0.4), False),    # the list moved (11 ≠ 5 × 3)
    ((1, 1, 4, 4, 10, 0.4), False),     # one period is no pattern
    ((3, 2, 8, 4, 10, 0.4), False),     # a period without any 好
    ((3, 3, 6, 2, 10, 0.4), False),     # well below the cap
])
def test_same_people_at_cap(args, fires):
    f = calc.flag_same_people_at_cap(*args)
    if args == (3, 3, 12, 4, 12, 0.4):
        assert f is not None          # floor(0.4 × 12) = 4 = the four people: at the cap
        return
    assert (f is not None) == fires
    if f:
        assert f["code"] == "same_people_at_cap" and "4" in calc.flag_message(f)


def test_burst():
    t0 = dt.datetime(2026, 10, 8, 9, 0, tzinfo=dt.timezone.utc)
    assert calc.flag_burst(12, t0, t0 + dt.timedelta(seconds=120))["params"] == {"n": 12, "seconds": 120}
    assert calc.flag_burst(12, t0, t0 + dt.timedelta(hours=2)) is None
    assert calc.flag_burst(5, t0, t0) is None
