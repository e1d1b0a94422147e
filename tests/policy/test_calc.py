"""Quota arithmetic: exact, under every rounding rule, with pools that never
borrow and allocations that never exceed the parent's total."""
from __future__ import annotations

import math
from fractions import Fraction

import pytest

from kaohe.policy import calc
from kaohe.policy import registry as reg

RATES = ["0.10", "0.12", "0.15", "0.20", "0.30", "0.125", "0.25"]


def _oracle(rate: str, n: int, rule: str) -> int:
    """Exact rational arithmetic, independent of Decimal."""
    x = Fraction(rate) * n
    if rule == "floor":
        return math.floor(x)
    if rule == "ceil":
        return math.ceil(x)
    return math.floor(x + Fraction(1, 2))


@pytest.mark.parametrize("rule", ["floor", "half_up", "ceil"])
@pytest.mark.parametrize("rate", RATES)
def test_round_quota_headcounts_1_to_200(rate, rule):
    for n in range(1, 201):
        # Rates arrive as floats from JSON; the float 0.15 must behave as 15%.
        assert calc.round_quota(float(rate), n, rule) == _oracle(rate, n, rule), (rate, n, rule)
        assert calc.round_quota(rate, n, rule) == _oracle(rate, n, rule)


def test_float_traps_are_exact():
    # 0.15 * 20 = 3.0000000000000004 and 0.12 * 25 = 3.0000000000000004 in binary floats
    assert calc.round_quota(0.15, 20, "ceil") == 3
    assert calc.round_quota(0.12, 25, "ceil") == 3
    assert calc.round_quota(0.1, 30, "ceil") == 3
    assert calc.round_quota(0.1, 15, "half_up") == 2     # 1.5 → 2
    assert calc.round_quota(0.1, 15, "floor") == 1
    assert calc.round_quota(0.2, 0, "ceil") == 0
    with pytest.raises(ValueError):
        calc.round_quota(0.2, 10, "banker")


def _policy(**over):
    pol = {k: reg.default(k) for k in reg.REGISTRY}
    pol["quota.rate_by_org_grade"] = {"youxiu": 0.20, "lianghao": 0.15, "yiban": 0.12, "jiaocha": 0.10,
                                      "major_contribution": 0.30}
    pol.update(over)
    return pol


@pytest.mark.parametrize("grade,major,expected", [
    (None, False, "0.2"), ("youxiu", False, "0.2"), ("lianghao", False, "0.15"), ("yiban", False, "0.12"),
    ("jiaocha", False, "0.1"), ("jiaocha", True, "0.2"), ("youxiu", True, "0.2"),
])
def test_rate_selection_without_approval(grade, major, expected):
    d = calc.select_rate(_policy(), grade, major)
    assert d.rate == calc.dec(expected)
    # the major-contribution 30% is above the 20% no-approval ceiling
    assert d.needs_approval == major


def test_rate_with_approval_and_hard_max():
    d = calc.select_rate(_policy(), "youxiu", True, approved_rate=0.3)
    assert (d.rate, d.source, d.needs_approval, d.capped_by) == (calc.dec("0.3"), "approval", False, None)
    d = calc.select_rate(_policy(**{"quota.hard_max_rate": 0.25}), "youxiu", True, approved_rate=0.3)
    assert (d.rate, d.capped_by) == (calc.dec("0.25"), "hard_max")
    d = calc.select_rate(_policy(**{"quota.max_rate_without_approval": 0.3}), "lianghao", True)
    assert (d.rate, d.needs_approval) == (calc.dec("0.3"), False)
    d = calc.select_rate(_policy(**{"quota.base_rate": 0.18}), None)
    assert (d.rate, d.source) == (calc.dec("0.18"), "base")


def test_quota_single_pool_and_denominator():
    hc = {"leader": calc.Headcount(5, 5), "staff": calc.Headcount(40, 36)}
    r = calc.compute_quota(_policy(), hc, org_grade="yiban")
    assert [(p.group, p.base, p.quota) for p in r.pools] == [("all", 41, 4)]     # 0.12 × 41 = 4.92
    assert r.total == 4
    r = calc.compute_quota(_policy(**{"quota.denominator": "all", "quota.rounding": "half_up"}), hc, org_grade="yiban")
    assert (r.pools[0].base, r.total) == (45, 5)                                  # 5.4 → 5
    assert "0.12" not in r.steps[1]["en"] and "12%" in r.steps[1]["en"] and "5.4" in r.steps[1]["en"]


def test_rank_group_pools_round_separately_and_do_not_borrow():
    hc = {"leader": calc.Headcount(4, 4), "staff": calc.Headcount(16, 16)}
    pol = _policy(**{"quota.rank_group_pools": True})
    r = calc.compute_quota(pol, hc, org_grade="youxiu")      # 20%: leaders 0.8 → 0, staff 3.2 → 3
    assert [(p.group, p.quota) for p in r.pools] == [("leader", 0), ("staff", 3)]
    assert r.total == 3
    # one pool over everyone would give 4: the separate pools lose the fraction, never borrow it
    assert calc.compute_quota(_policy(), hc, org_grade="youxiu").total == 4
    # a leader selected against an empty leader pool is a violation even though staff have room
    bad = calc.pool_violations(r, {"leader": 1, "staff": 1})
    assert [(u.group, u.quota, u.used) for u in bad] == [("leader", 0, 1)]
    assert calc.pool_violations(r, {"leader": 0, "staff": 3}) == []
    assert [(u.group, u.remaining) for u in calc.pool_usage(r, {"staff": 2})] == [("leader", 0), ("staff", 1)]


def test_allocation_replaces_total():
    hc = {"staff": calc.Headcount(30, 30)}
    r = calc.compute_quota(_policy(), hc, allocated=4)
    assert (r.total, sum(p.quota for p in r.pools), r.allocated) == (4, 6, 4)


def test_check_allocation_never_exceeds_total():
    alloc = {"t1": 3, "t2": 2}
    assert calc.check_allocation(10, alloc, "t3", 5) == 0
    with pytest.raises(ValueError):
        calc.check_allocation(10, alloc, "t3", 6)
    assert calc.check_allocation(10, alloc, "t1", 8) == 0          # replacing t1's own count
    with pytest.raises(ValueError):
        calc.check_allocation(10, alloc, "t1", 9)
    with pytest.raises(ValueError):
        calc.check_allocation(10, alloc, "t3", -1)
    # exhaustive: whatever order children ask in, the accepted total never exceeds the parent's
    import itertools
    for asks in itertools.product(range(0, 5), repeat=4):
        given: dict = {}
        for child, n in enumerate(asks):
            try:
                calc.check_allocation(7, given, child, n)
                given[child] = n
            except ValueError:
                pass
        assert sum(given.values()) <= 7


def test_pct():
    assert calc.pct(0.125) == "12.5%" and calc.pct(0.2) == "20%" and calc.pct("0.10") == "10%"
