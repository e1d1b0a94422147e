"""Performance pay with a routine period (seed 001: 「月度考核，当月兑现」,
10–20% of the year's performance pay): pure functions, no Flask, no database.

pool (cents) = amount per person × people assessed in the period × share ÷
periods a year, rounded half up to the cent; each scored person's part is
pool × own score ÷ Σ scores, floored to the cent, and the cents left over go
one each to the largest remainders, so the parts sum exactly to the pool.
A person without a score (未完成) gets no part this period.
"""
from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Mapping, Sequence


def largest_remainder(pool_cents: int, weights: Sequence[float]) -> list[int]:
    """Split ``pool_cents`` in proportion to ``weights``, summing exactly to
    the pool (ties of remainder: earlier position first).  Nothing to weigh:
    everyone 0."""
    n = len(weights)
    total = sum(Decimal(repr(float(w))) for w in weights)
    if n == 0 or pool_cents <= 0 or total <= 0:
        return [0] * n
    exact = [Decimal(pool_cents) * Decimal(repr(float(w))) / total for w in weights]
    base = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
    left = pool_cents - sum(base)
    for i in sorted(range(n), key=lambda i: (-(exact[i] - base[i]), i))[:left]:
        base[i] += 1
    return base


def pool_cents(amount_per_person: float, headcount: int, share: float, periods_per_year: int) -> int:
    """The period's pool in cents (half up)."""
    if headcount <= 0 or share <= 0 or periods_per_year <= 0:
        return 0
    exact = (Decimal(str(amount_per_person)) * headcount * Decimal(str(share)) * 100 / periods_per_year)
    return int(exact.to_integral_value(rounding=ROUND_HALF_UP))


def split(amount_per_person: float, share: float, periods_per_year: int, headcount: int,
          scores: Mapping[int, float]) -> tuple[dict[int, int], dict]:
    """Each scored person's pay in cents (by person id) and the arithmetic.
    ``headcount`` is everyone assessed in the period (they all put their
    share in); ``scores`` holds the people with a score."""
    pool = pool_cents(amount_per_person, headcount, share, periods_per_year)
    ids = sorted(scores)
    weights = [max(float(scores[i]), 0.0) for i in ids]
    cents = dict(zip(ids, largest_remainder(pool, weights)))
    total = sum(Decimal(repr(w)) for w in weights)
    explain = {"amount_per_person": float(amount_per_person), "share": float(share),
               "periods_per_year": int(periods_per_year), "headcount": int(headcount), "pool_cents": pool,
               "score_total": float(total), "paid": sum(1 for v in cents.values() if v > 0),
               "unit_value": float((Decimal(pool) / 100 / total).quantize(Decimal("0.0001"))) if total else None,
               "rounding": "largest_remainder", "undistributed_cents": pool - sum(cents.values())}
    return cents, explain
