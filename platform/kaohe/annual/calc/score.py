"""The annual score: rounding, the review (leader and democratic votes) and
the weighted components with the special-assessment contribution."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from math import copysign as _copysign, floor as _floor

from .codes import REVIEW_MIX, VOTE_POINTS
from .person import PersonInput

_CENT = Decimal("0.01")


def r2_decimal(x: float) -> float:
    """The definition of ``r2``: the shortest decimal of ``x`` (its repr)
    rounded half up (away from zero) to 2 decimals, as a float."""
    return float(Decimal(repr(x)).quantize(_CENT, rounding=ROUND_HALF_UP))


def r2(x: float) -> float:
    """Round half up to 2 decimals (decimal rounding, so 84.125 → 84.13 and
    1.005 → 1.01 everywhere).  Bit-identical to ``r2_decimal``, without a
    Decimal for almost every input.

    Why it is exact: for a float |x| < 1e6, let d be the decimal value of
    repr(x) (|d - x| ≤ ½ ulp(x)) and y = |x| × 100 in floating point
    (|y - 100|x|| ≤ ½ ulp(y)); together |y - 100|d|| < 3e-8.  Rounding 100|d|
    half up only changes its result at a half-integer k + ½, so whenever the
    exact fraction of y (y - floor(y) is exact below 2**52) is more than 1e-6
    away from ½, floor(y + ½) = floor(100|d| + ½) = n.  n / 100 is the
    correctly rounded quotient of two exact doubles, i.e. float("n/100"),
    which is what float(Decimal) gives; the sign (also of a zero result, as
    Decimal's "-0.00") comes back with copysign.  Everything else (near a
    half, huge, not finite, not a float) takes the Decimal path."""
    if type(x) is float and -1e6 < x < 1e6:
        y = x * 100.0 if x >= 0.0 else x * -100.0
        n = _floor(y)
        f = y - n
        if f < 0.499999:
            return _copysign(n / 100.0, x)
        if f > 0.500001:
            return _copysign((n + 1) / 100.0, x)
    return r2_decimal(x)


def democratic_score(votes: dict | None) -> float | None:
    if not votes:
        return None
    total = sum(int(votes.get(g, 0) or 0) for g in VOTE_POINTS)
    if total <= 0:
        return None
    return sum(VOTE_POINTS[g] * int(votes.get(g, 0) or 0) for g in VOTE_POINTS) / total


def votes_withheld(votes: dict | None, minimum: int) -> bool:
    """Anonymity: a democratic evaluation with fewer votes than
    routine.min_anonymous_raters is withheld -- not shown and not counted
    (the review is then the leader's score alone).  Counted, it could be
    worked out from the review or annual score and the other components,
    which the person sees."""
    if not votes or minimum <= 0:
        return False
    return sum(int(votes.get(g, 0) or 0) for g in VOTE_POINTS) < minimum


def review_score(leader_score: float | None, votes: dict | None) -> float | None:
    dem = democratic_score(votes)
    if leader_score is None:
        return dem
    if dem is None:
        return float(leader_score)
    return REVIEW_MIX["leader"] * float(leader_score) + REVIEW_MIX["democratic"] * dem


def annual_score(p: PersonInput, weights: dict, special_mode: str = "add_subtract",
                 special_weight: float = 0.0, min_votes: int = 3) -> tuple[float | None, dict]:
    """The annual score and its explanation (each input and weight).
    ``min_votes``: routine.min_anonymous_raters (fewer votes are withheld)."""
    routine_scores = [float(s) for s, _g in p.routine if s is not None]
    routine_mean = sum(routine_scores) / len(routine_scores) if routine_scores else None
    withheld = votes_withheld(p.democratic, min_votes)
    votes = None if withheld else p.democratic
    review = review_score(p.leader_score, votes)
    comps = {"routine": routine_mean, "review": review}
    w = {k: float(weights.get(k, 0.0) or 0.0) for k in ("routine", "review")}
    special_mean = None
    if special_mode == "weighted" and special_weight > 0:
        special_mean = sum(p.special_scores) / len(p.special_scores) if p.special_scores else None
        shrink = 1.0 - special_weight
        w = {k: v * shrink for k, v in w.items()}
        comps["special"] = special_mean
        w["special"] = float(special_weight)
    present = {k: v for k, v in w.items() if comps.get(k) is not None and v > 0}
    explain: dict = {"inputs": {
        "routine": [{"score": s, "grade": g} for s, g in p.routine],
        "leader_score": p.leader_score, "democratic": votes or None,
        "special_points": list(p.special_points), "special_scores": list(p.special_scores)},
        "weights": w, "values": {k: (None if v is None else round(v, 2)) for k, v in comps.items()}}
    if withheld:
        explain["withheld"] = ["democratic"]
    if not present:
        explain["note"] = "no_inputs"
        return None, explain
    total_w = sum(present.values())
    base = sum(comps[k] * v for k, v in present.items()) / total_w
    if abs(total_w - sum(v for v in w.values() if v > 0)) > 1e-9:
        explain["renormalised"] = sorted(k for k in w if k not in present and w[k] > 0)
    special_add = 0.0
    if special_mode == "add_subtract" and special_weight > 0 and p.special_points:
        pts = max(-100.0, min(100.0, float(sum(p.special_points))))
        special_add = special_weight * pts
        explain["special_add"] = r2(special_add)
        explain["special_points_total"] = r2(pts)
    score = r2(base + special_add)
    explain["score"] = score
    return score, explain
