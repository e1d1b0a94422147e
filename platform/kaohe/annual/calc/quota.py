"""The excellence quota: the unit's rate, the count, and who gets 优秀."""
from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Sequence


def quota_rate(pol: dict, org_grade: str | None, major_contribution: bool = False,
               approved_rate: float | None = None) -> tuple[float, str]:
    """The unit's excellence rate (the policy slice's rule): the rate of its
    organisational grade (base rate without one; a major contribution takes
    the higher of the two); above ``quota.max_rate_without_approval`` only
    with an approval from the level above; never above the hard maximum."""
    table = pol.get("quota.rate_by_org_grade") or {}
    base = float(pol.get("quota.base_rate", 0.20))
    if org_grade and org_grade in table:
        rate, why = float(table[org_grade]), org_grade
    else:
        rate, why = base, "base_rate"
    if major_contribution and float(table.get("major_contribution", 0) or 0) > rate:
        rate, why = float(table["major_contribution"]), "major_contribution"
    ceiling = float(pol.get("quota.max_rate_without_approval", 0.20))
    if approved_rate is not None:
        rate, why = float(approved_rate), "approval"
    elif rate > ceiling:
        rate, why = ceiling, why + ":needs_approval"
    hard = float(pol.get("quota.hard_max_rate", 0.30))
    if rate > hard:
        rate, why = hard, why + ":capped"
    return rate, why


def quota_count(rate: float, denominator: int, rounding: str = "floor") -> int:
    """Integer quota = rate × headcount under the tenant's rounding rule.
    Exact decimal arithmetic (0.2 × 15 is 3, never 2.9999)."""
    if denominator <= 0 or rate <= 0:
        return 0
    x = Decimal(repr(float(rate))) * denominator
    if rounding == "ceil":
        q = int(x.to_integral_value(rounding="ROUND_CEILING"))
    elif rounding == "half_up":
        q = int(x.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    else:
        q = int(x.to_integral_value(rounding=ROUND_FLOOR))
    return max(0, min(q, denominator))


def assign_youxiu(candidates: Sequence[tuple[int, float]], quota: int,
                  priority: frozenset | set = frozenset()) -> tuple[list[int], list[int], float | None]:
    """Give 优秀 to the highest scores up to ``quota``.

    ``candidates``: (key, score) of the eligible people.  ``priority``: the
    keys that go first (seed 000: three periods in a row at or above the
    high-score line, ``eligibility.priority_in_selection``): they are placed
    before everyone else, by score among themselves, so a priority person at
    92 takes the last place before a 93.5 without priority.  Returns
    (winners, tied, line score).  When the people competing for the last
    places share a score (and the same priority) and there are more of them
    than places, none of the tied get it here: they are returned as ``tied``
    for the committee, and the number of winners stays below the quota."""
    if quota <= 0 or not candidates:
        return [], [], None
    if priority:
        ordered = sorted(candidates, key=lambda c: (c[0] not in priority, -c[1], c[0]))
        rank = (lambda c: (c[0] in priority, c[1]))
    else:
        ordered = sorted(candidates, key=lambda c: (-c[1], c[0]))
        rank = (lambda c: c[1])
    if len(ordered) <= quota:
        return [k for k, _ in ordered], [], ordered[-1][1]
    line = rank(ordered[quota - 1])
    if rank(ordered[quota]) != line:
        return [k for k, _ in ordered[:quota]], [], ordered[quota - 1][1]
    winners = [c[0] for c in ordered if rank(c) > line]
    tied = [c[0] for c in ordered if rank(c) == line]
    return winners, tied, ordered[quota - 1][1]
