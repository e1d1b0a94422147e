"""Performance pay: the pool split so the parts sum exactly to it in cents."""
from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Sequence

from .score import r2


def largest_remainder(pool_cents: int, weights: Sequence[float]) -> list[int]:
    """Split ``pool_cents`` in proportion to ``weights`` so the parts sum exactly
    to the pool: everyone gets the floor of their exact share, and the cents
    left over go one each to the largest fractional remainders (ties: earlier
    position first)."""
    n = len(weights)
    total = sum(Decimal(repr(float(w))) for w in weights)
    if n == 0 or pool_cents <= 0 or total <= 0:
        return [0] * n
    exact = [Decimal(pool_cents) * Decimal(repr(float(w))) / total for w in weights]
    base = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
    left = pool_cents - sum(base)
    order = sorted(range(n), key=lambda i: (-(exact[i] - base[i]), i))
    for i in order[:left]:
        base[i] += 1
    return base


PAY_WITHOUT_GRADE = {"5A": "chenzhi"}   # probation staff are paid as 称职; others get nothing this year

# Who puts ``pay.amount_per_person`` into the pool (``pay.contributors``):
#   "paid"     — only the people who are paid (a graded person other than 不称职,
#                and 5A probation staff);
#   "assessed" — seed 003 「每人提出2000元为镇机关绩效工资总额」: everyone who was
#                assessed this year, i.e. everyone graded (不称职 and a vetoed 0
#                included) plus 5A probation staff; 5B/5C (no grade) and 6A/6B/7
#                (not assessed) contribute nothing.
CONTRIBUTORS = ("paid", "assessed")


def contributes(row: dict, weight: float, who: str) -> bool:
    if who == "assessed":
        return bool(row.get("grade") or PAY_WITHOUT_GRADE.get(row.get("code") or ""))
    return weight > 0


def allocate_pay(rows: Sequence[dict], pol: dict) -> tuple[list[int], dict]:
    """Performance pay per person in cents, and the explanation.

    rows: [{"score", "grade", "code"}].  ``score_share`` (seed 003): pool =
    amount per person × number of contributors (``pay.contributors``: the
    people paid, or everyone assessed as seed 003 says); unit value = pool ÷ Σ scores; pay = unit
    value × own score.  ``grade_coefficient``: the pool split by grade
    coefficients.  Both are rounded by largest remainder, summing exactly."""
    formula = pol.get("pay.formula", "score_share")
    amount = Decimal(str(pol.get("pay.amount_per_person", 2000)))
    coeffs = pol.get("pay.grade_coefficients") or {"youxiu": 1.2, "chenzhi": 1.0, "jibenchenzhi": 0.5, "buchenzhi": 0}
    weights: list[float] = []
    for r in rows:
        grade = r.get("grade") or PAY_WITHOUT_GRADE.get(r.get("code") or "")
        if formula == "grade_coefficient":
            weights.append(float(coeffs.get(grade, 0) or 0) if grade else 0.0)
        else:
            weights.append(float(r["score"]) if grade and r.get("score") is not None and grade != "buchenzhi" else 0.0)
    who = pol.get("pay.contributors", "paid")
    if who not in CONTRIBUTORS:
        raise ValueError(f"pay.contributors must be one of {CONTRIBUTORS}, not {who!r}")
    paid = sum(1 for w in weights if w > 0)
    contributors = sum(1 for r, w in zip(rows, weights) if contributes(r, w, who))
    pool_cents = int((amount * contributors * 100).to_integral_value(rounding=ROUND_HALF_UP))
    cents = largest_remainder(pool_cents, weights)
    total_w = sum(weights)
    explain = {"formula": formula, "amount_per_person": float(amount), "paid": paid, "contributors_rule": who,
               "contributors": contributors, "pool_cents": pool_cents,
               "weight_total": r2(total_w) if total_w else 0,
               "unit_value": (float(Decimal(pool_cents) / 100 / Decimal(repr(total_w))) if total_w else None),
               "rounding": "largest_remainder",
               # a pool nobody can be paid from (everyone 不称职) stays undistributed and is shown as such
               "undistributed_cents": pool_cents - sum(cents)}
    return cents, explain
