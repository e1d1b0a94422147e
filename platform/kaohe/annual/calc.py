"""The arithmetic of the annual assessment (年度考核): pure functions, no Flask,
no database.  The same code explains one person's result on a page and
computes a province of a million people in a batch.

Rules encoded here (DOMAIN.md is the rulebook; every number is a policy key):

* annual score = weighted routine mean + weighted annual review, plus the
  special-assessment contribution (``annual.special_mode``):
  ``add_subtract`` adds ``special_weight × Σ points`` (points are signed, on the
  100-point scale, clamped to ±100); ``weighted`` treats the mean special score
  as one more component with weight ``special_weight`` (the other weights
  shrink by the same share).  A missing component's weight is spread over the
  present ones (the explanation says so).
* eligibility, in this order (the first outcome that applies wins):
  leave over ``eligibility.leave_days`` → 6A; probation at the year's end → 5A
  (comment only); open investigation → 5B (no grade until closed, then 补定);
  sanctions (警告: not 优秀; 记过: 5C; 记大过/降级/撤职: 5C this and next year;
  诫勉/调整职务: not 优秀; the heaviest governs) ; refusal → 不称职 (4).
* grade bands (``annual.grade_bands``) give 称职/基本称职/不称职; 优秀 only by
  quota, to the highest eligible scores; a tie across the quota line is
  flagged for the committee, never broken.
* performance pay sums exactly to the pool in cents (largest remainder).
"""
from __future__ import annotations

import datetime as dt
from math import copysign as _copysign, floor as _floor
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Iterable, Sequence

GRADES = ("youxiu", "chenzhi", "jibenchenzhi", "buchenzhi")
GRADE_LABELS = {
    "youxiu": ("优秀", "Excellent"),
    "chenzhi": ("称职", "Competent"),
    "jibenchenzhi": ("基本称职", "Basically competent"),
    "buchenzhi": ("不称职", "Incompetent"),
}
GRADE_CODE = {"youxiu": "1", "chenzhi": "2", "jibenchenzhi": "3", "buchenzhi": "4"}
# National result code list A1517.
CODE_LABELS = {
    "1": ("优秀", "Excellent"),
    "2": ("称职", "Competent"),
    "3": ("基本称职", "Basically competent"),
    "4": ("不称职", "Incompetent"),
    "5A": ("不定等次（试用期）", "No grade: probation"),
    "5B": ("不定等次（立案审查）", "No grade: under investigation"),
    "5C": ("不定等次（受处分）", "No grade: under sanction"),
    "6A": ("不进行考核（长期病事假等）", "Not assessed: long leave"),
    "6B": ("不进行考核（其他）", "Not assessed: other"),
    "7": ("其他", "Other"),
}
ROUTINE_GRADES = ("hao", "jiaohao", "yiban", "jiaocha")
ROUTINE_LABELS = {"hao": ("好", "Good"), "jiaohao": ("较好", "Fairly good"),
                  "yiban": ("一般", "Average"), "jiaocha": ("较差", "Poor")}

# Sanction kinds and their effect.  ``level`` orders severity (heavier wins);
# ``effect`` is what it does to the year's grade; ``years`` how many years
# (the sanction's year and the following ones) it reaches.
SANCTIONS = {
    "jiechen": {"label": ("诫勉", "Admonishment"), "level": 1, "effect": "not_youxiu", "years": 1},
    "tiaozheng": {"label": ("调整职务", "Post adjusted"), "level": 1, "effect": "not_youxiu", "years": 1},
    "jinggao": {"label": ("警告", "Warning"), "level": 2, "effect": "not_youxiu", "years": 1},
    "jiguo": {"label": ("记过", "Demerit"), "level": 3, "effect": "no_grade", "years": 1},
    "jidaguo": {"label": ("记大过", "Major demerit"), "level": 4, "effect": "no_grade", "years": 2},
    "jiangji": {"label": ("降级", "Demotion"), "level": 5, "effect": "no_grade", "years": 2},
    "chezhi": {"label": ("撤职", "Removal from post"), "level": 6, "effect": "no_grade", "years": 2},
}

# Default points of a graded special-assessment result in add/subtract mode
# (the admin may override the points of any result).
SPECIAL_GRADE_POINTS = {"hao": 10.0, "jiaohao": 5.0, "yiban": 0.0, "jiaocha": -10.0}
# Democratic evaluation votes → points (to average the votes into a score).
VOTE_POINTS = {"youxiu": 100.0, "chenzhi": 80.0, "jibenchenzhi": 60.0, "buchenzhi": 40.0}
# The annual review combines the supervising leader's score and, where held,
# the democratic evaluation.
REVIEW_MIX = {"leader": 0.7, "democratic": 0.3}


# -- inputs and outputs -----------------------------------------------------

@dataclass
class Sanction:
    kind: str
    year: int            # the year the measure was decided


@dataclass
class PersonInput:
    person_id: int
    rank_group: str = "staff"
    routine: Sequence[tuple[float | None, str | None]] = ()   # per period in order: (score, grade)
    leader_score: float | None = None
    democratic: dict | None = None                # vote counts {"youxiu": n, ...}
    special_points: Sequence[float] = ()           # add/subtract points (signed)
    special_scores: Sequence[float] = ()           # 0..100 scores (weighted mode)
    probation_end: dt.date | None = None
    hire_date: dt.date | None = None
    leave_days: int = 0
    investigation_open: bool = False
    investigation_closed_retro: bool = False       # closed after the year: graded retroactively (补定)
    sanctions: Sequence[Sanction] = ()
    refused: bool = False


@dataclass
class PersonResult:
    person_id: int
    rank_group: str
    score: float | None
    grade: str | None
    code: str
    eligible_youxiu: bool
    rules: list[dict] = field(default_factory=list)      # [{"rule": key, "effect": ..., "detail": ...}]
    components: dict = field(default_factory=dict)
    rank: int | None = None
    flags: list[str] = field(default_factory=list)       # "tie_at_line", "priority", "retroactive"
    talks: list[str] = field(default_factory=list)       # "criticism", "reminder"

    def as_row(self) -> dict:
        return {"person_id": self.person_id, "rank_group": self.rank_group, "score": self.score,
                "grade": self.grade, "code": self.code, "eligible_youxiu": self.eligible_youxiu,
                "rank": self.rank, "flags": list(self.flags), "talks": list(self.talks),
                "explain": {"components": self.components, "rules": self.rules}}


# -- the score -----------------------------------------------------------------

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


def review_score(leader_score: float | None, votes: dict | None) -> float | None:
    dem = democratic_score(votes)
    if leader_score is None:
        return dem
    if dem is None:
        return float(leader_score)
    return REVIEW_MIX["leader"] * float(leader_score) + REVIEW_MIX["democratic"] * dem


def annual_score(p: PersonInput, weights: dict, special_mode: str = "add_subtract",
                 special_weight: float = 0.0) -> tuple[float | None, dict]:
    """The annual score and its explanation (each input and weight)."""
    routine_scores = [float(s) for s, _g in p.routine if s is not None]
    routine_mean = sum(routine_scores) / len(routine_scores) if routine_scores else None
    review = review_score(p.leader_score, p.democratic)
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
        "leader_score": p.leader_score, "democratic": p.democratic or None,
        "special_points": list(p.special_points), "special_scores": list(p.special_scores)},
        "weights": w, "values": {k: (None if v is None else round(v, 2)) for k, v in comps.items()}}
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


# -- eligibility ---------------------------------------------------------------

def in_probation(p: PersonInput, year: int) -> bool:
    """In probation at the end of the assessment year (probation_end, or one
    year after hire when the end is not recorded)."""
    end = p.probation_end
    if end is None:
        hire = p.hire_date
        if hire is None:
            return False
        if type(hire) is dt.date and hire.year < 9999:
            # end = hire + 1 year falls in hire.year + 1 (also from 29 February),
            # so "end after 31 December and hired by then" is "hired this year".
            return hire.year == year
    year_end = dt.date(year, 12, 31)
    if end is None and p.hire_date is not None:
        try:
            end = p.hire_date.replace(year=p.hire_date.year + 1)
        except ValueError:  # 29 February
            end = p.hire_date + dt.timedelta(days=365)
    return end is not None and end > year_end and (p.hire_date is None or p.hire_date <= year_end)


def governing_sanction(sanctions: Iterable[Sanction], year: int) -> Sanction | None:
    """The heaviest measure that reaches ``year`` (heavier governs)."""
    best = None
    for s in sanctions:
        spec = SANCTIONS.get(s.kind)
        if spec is None or not (s.year <= year < s.year + spec["years"]):
            continue
        if best is None or spec["level"] > SANCTIONS[best.kind]["level"]:
            best = s
    return best


def eligibility(p: PersonInput, year: int, *, leave_days_limit: int = 183) -> tuple[str | None, bool, list[dict]]:
    """(fixed code or None when graded normally, may be 优秀, rules fired).

    A fixed code means no grade from the score: 5A/5B/5C/6A, or "4" for refusal."""
    rules: list[dict] = []
    if p.leave_days > leave_days_limit:
        rules.append({"rule": "long_leave", "effect": "6A", "detail": {"days": p.leave_days, "limit": leave_days_limit}})
        return "6A", False, rules
    if in_probation(p, year):
        rules.append({"rule": "probation", "effect": "5A",
                      "detail": {"probation_end": p.probation_end.isoformat() if p.probation_end else None}})
        return "5A", False, rules
    if p.investigation_open:
        rules.append({"rule": "investigation", "effect": "5B", "detail": {}})
        return "5B", False, rules
    may_excel = True
    if p.investigation_closed_retro:
        rules.append({"rule": "retroactive", "effect": "graded", "detail": {}})
    s = governing_sanction(p.sanctions, year)
    if s is not None:
        spec = SANCTIONS[s.kind]
        others = [x.kind for x in p.sanctions if x is not s and SANCTIONS.get(x.kind)
                  and x.year <= year < x.year + SANCTIONS[x.kind]["years"]]
        detail = {"kind": s.kind, "year": s.year, "others": others}
        if spec["effect"] == "no_grade":
            rules.append({"rule": "sanction", "effect": "5C", "detail": detail})
            return "5C", False, rules
        rules.append({"rule": "sanction", "effect": "not_youxiu", "detail": detail})
        may_excel = False
    if p.refused:
        rules.append({"rule": "refusal", "effect": "4", "detail": {}})
        return "4", False, rules
    return None, may_excel, rules


def routine_rules(routine: Sequence[tuple[float | None, str | None]], rules_on: Iterable[str], *,
                  low_score: float = 60, high_score: float = 95, high_streak: int = 3,
                  low_streak: int = 2) -> tuple[bool, list[dict], list[str], bool]:
    """Routine → annual rules.  Returns (may be 优秀, rules fired, talks, priority)."""
    return _routine_rules(routine, set(rules_on or ()), low_score, high_score, high_streak, low_streak)


def _routine_rules(routine, rules_on: set, low_score, high_score, high_streak, low_streak):
    ok = True
    fired: list[dict] = []
    talks: list[str] = []
    if not rules_on:
        return ok, fired, talks, False
    grades = [g for _s, g in routine if g]
    if "half_hao_none_low" in rules_on:
        hao = grades.count("hao")
        low = grades.count("yiban") + grades.count("jiaocha")
        if not grades or hao * 2 < len(grades) or low:
            ok = False
            fired.append({"rule": "half_hao_none_low", "effect": "not_youxiu",
                          "detail": {"hao": hao, "low": low, "of": len(grades)}})
    if "at_least_one_hao" in rules_on:
        if not any(g == "hao" for g in grades):
            ok = False
            fired.append({"rule": "at_least_one_hao", "effect": "not_youxiu", "detail": {"of": len(grades)}})
    priority = False
    if "consecutive_low" in rules_on:
        scores = [s for s, _g in routine]
        run = best_low = 0
        for s in scores:
            run = run + 1 if (s is not None and s <= low_score) else 0
            best_low = max(best_low, run)
        if best_low >= low_streak:
            ok = False
            talks.append("reminder")
            fired.append({"rule": "consecutive_low", "effect": "not_youxiu",
                          "detail": {"streak": best_low, "threshold": low_score}})
        elif best_low >= 1:
            talks.append("criticism")
            fired.append({"rule": "low_score", "effect": "talk", "detail": {"threshold": low_score}})
        run = best_high = 0
        for s in scores:
            run = run + 1 if (s is not None and s >= high_score) else 0
            best_high = max(best_high, run)
        if best_high >= high_streak:
            priority = True
            fired.append({"rule": "consecutive_high", "effect": "priority",
                          "detail": {"streak": best_high, "threshold": high_score}})
    return ok, fired, talks, priority


# -- the quota -----------------------------------------------------------------

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


def assign_youxiu(candidates: Sequence[tuple[int, float]], quota: int) -> tuple[list[int], list[int], float | None]:
    """Give 优秀 to the highest scores up to ``quota``.

    ``candidates``: (key, score) of the eligible people.  Returns
    (winners, tied, line score).  When the people competing for the last
    places share a score and there are more of them than places, none of the
    tied get it here: they are returned as ``tied`` for the committee, and the
    number of winners stays below the quota."""
    if quota <= 0 or not candidates:
        return [], [], None
    ordered = sorted(candidates, key=lambda c: (-c[1], c[0]))
    if len(ordered) <= quota:
        return [k for k, _ in ordered], [], ordered[-1][1]
    line = ordered[quota - 1][1]
    if ordered[quota][1] != line:
        return [k for k, _ in ordered[:quota]], [], line
    winners = [k for k, s in ordered if s > line]
    tied = [k for k, s in ordered if s == line]
    return winners, tied, line


def _weight_pattern(w_keys: tuple, w_vals: tuple, mask: tuple, w_positive: float):
    """annual_score's weights for one pattern of present components:
    ((index, weight) of the present ones, their total, the renormalised
    note or None), or None when nothing is present."""
    items = tuple((i, v) for i, (v, has) in enumerate(zip(w_vals, mask)) if has and v > 0)
    if not items:
        return None
    total_w = sum(v for _i, v in items)
    renormalised = None
    if abs(total_w - w_positive) > 1e-9:
        present = {w_keys[i] for i, _v in items}
        renormalised = tuple(sorted(k for k, v in zip(w_keys, w_vals) if k not in present and v > 0))
    return items, total_w, renormalised


@dataclass
class UnitOutcome:
    results: list[PersonResult]
    quota: dict   # per pool: {"rate", "why", "denominator", "quota", "awarded", "line", "tied", "rounding"}


def compute_unit(people: Sequence[PersonInput], pol: dict, year: int, *, org_grade: str | None = None,
                 major_contribution: bool = False, approved_rate: float | None = None,
                 allocated: int | None = None) -> UnitOutcome:
    """Everything for one assessment unit: scores, eligibility, bands, ranks and
    the quota line.  Deterministic: the same inputs give the same outcome."""
    weights = pol.get("annual.weights") or {"routine": 0.5, "review": 0.5}
    mode = pol.get("annual.special_mode", "add_subtract")
    sw = float(pol.get("annual.special_weight", 0.0) or 0.0)
    bands = pol.get("annual.grade_bands") or {"chenzhi": 70, "jibenchenzhi": 60}
    rules_on = pol.get("eligibility.routine_rules") or []
    leave_limit = int(pol.get("eligibility.leave_days", 183))
    rr_args = (set(rules_on), float(pol.get("routine.low_score", 60)), float(pol.get("routine.high_score", 95)),
               int(pol.get("routine.high_streak", 3)), int(pol.get("routine.low_streak", 2)))
    only_half_hao = rr_args[0] == {"half_hao_none_low"}
    line_chenzhi = float(bands.get("chenzhi", 70))
    line_jiben = float(bands.get("jibenchenzhi", 60))
    # What annual_score works out per person but is the same for the whole
    # unit: the weights, and for each pattern of present components the
    # weights used, their total and the renormalisation note.
    w = {k: float(weights.get(k, 0.0) or 0.0) for k in ("routine", "review")}
    weighted = mode == "weighted" and sw > 0
    if weighted:
        shrink = 1.0 - sw
        w = {k: v * shrink for k, v in w.items()}
        w["special"] = float(sw)
    add_sub = mode == "add_subtract" and sw > 0
    w_keys, w_vals = tuple(w), tuple(w.values())
    w_positive = sum(v for v in w_vals if v > 0)
    patterns: dict[tuple, tuple | None] = {}
    mix_leader, mix_dem = REVIEW_MIX["leader"], REVIEW_MIX["democratic"]
    date_type = dt.date
    results: list[PersonResult] = []
    append = results.append
    for p in people:
        # -- the score: annual_score(p, weights, mode, sw), computed the same way --
        rs = p.routine
        sc = [float(s) for s, _g in rs if s is not None]
        rm = sum(sc) / len(sc) if sc else None
        leader, votes = p.leader_score, p.democratic
        dem = democratic_score(votes) if votes else None
        if leader is None:
            rv = dem
        elif dem is None:
            rv = float(leader)
        else:
            rv = mix_leader * float(leader) + mix_dem * dem
        values = {"routine": None if rm is None else round(rm, 2), "review": None if rv is None else round(rv, 2)}
        if weighted:
            ss = p.special_scores
            sm = sum(ss) / len(ss) if ss else None
            values["special"] = None if sm is None else round(sm, 2)
            comps = (rm, rv, sm)
            mask = (rm is not None, rv is not None, sm is not None)
        else:
            comps = (rm, rv)
            mask = (rm is not None, rv is not None)
        explain = {"inputs": {"routine": [{"score": s, "grade": g} for s, g in rs], "leader_score": leader,
                              "democratic": votes or None, "special_points": list(p.special_points),
                              "special_scores": list(p.special_scores)},
                   "weights": w.copy(), "values": values}
        if mask in patterns:
            pat = patterns[mask]
        else:
            pat = patterns[mask] = _weight_pattern(w_keys, w_vals, mask, w_positive)
        if pat is None:
            explain["note"] = "no_inputs"
            score = None
        else:
            items, total_w, renormalised = pat
            if len(items) == 2:         # sum() of two terms, in the same order
                (i, a), (j, b) = items
                base = (0.0 + comps[i] * a + comps[j] * b) / total_w
            else:
                base = sum([comps[i] * v for i, v in items]) / total_w
            if renormalised is not None:
                explain["renormalised"] = list(renormalised)
            special_add = 0.0
            if add_sub and p.special_points:
                pts = max(-100.0, min(100.0, float(sum(p.special_points))))
                special_add = sw * pts
                explain["special_add"] = r2(special_add)
                explain["special_points_total"] = r2(pts)
            score = r2(base + special_add)
            explain["score"] = score
        # -- eligibility (the common case without any record inline) ------------
        hire = p.hire_date
        if p.probation_end is None and type(hire) is date_type and hire.year < 9999:
            probation = hire.year == year              # in_probation's shortcut
        else:
            probation = in_probation(p, year)
        if (p.leave_days <= leave_limit and not probation and not p.investigation_open
                and not p.investigation_closed_retro and not p.sanctions and not p.refused):
            code, may_excel, rules = None, True, []
        else:
            code, may_excel, rules = eligibility(p, year, leave_days_limit=leave_limit)
        # -- routine → annual rules (the national default inline) ---------------
        if only_half_hao:
            grades = [g for _s, g in rs if g]
            hao = grades.count("hao")
            low = grades.count("yiban") + grades.count("jiaocha")
            talks, priority = [], False
            if not grades or hao * 2 < len(grades) or low:
                ok = False
                rules.append({"rule": "half_hao_none_low", "effect": "not_youxiu",
                              "detail": {"hao": hao, "low": low, "of": len(grades)}})
            else:
                ok = True
        else:
            ok, fired, talks, priority = _routine_rules(rs, *rr_args)
            if fired:
                rules.extend(fired)
        flags = []
        if priority:
            flags.append("priority")
        if p.investigation_closed_retro:
            flags.append("retroactive")
        res = PersonResult(p.person_id, p.rank_group, score, None, code or "", False, rules, explain, None, flags,
                           talks)
        if code == "4":
            res.grade = "buchenzhi"
        elif code is None:
            if score is None:
                res.code = "7"
                rules.append({"rule": "no_inputs", "effect": "7", "detail": {}})
            else:
                grade = "chenzhi" if score >= line_chenzhi else "jibenchenzhi" if score >= line_jiben else "buchenzhi"
                res.grade = grade
                res.code = GRADE_CODE[grade]
                res.eligible_youxiu = may_excel and ok and grade == "chenzhi"
        append(res)
    # Ranks among the graded (dense on score, ties share a rank).
    graded = sorted((r for r in results if r.score is not None and r.grade is not None), key=lambda r: -r.score)
    prev, rank = None, 0
    for i, r in enumerate(graded, 1):
        if r.score != prev:
            rank, prev = i, r.score
        r.rank = rank
    if "last_place" in set(rules_on) and len(graded) > 1:
        low = graded[-1].score
        for r in graded:
            if r.score == low:
                r.eligible_youxiu = False
                r.rules.append({"rule": "last_place", "effect": "not_youxiu", "detail": {"rank": r.rank}})
    # The quota, per pool.
    rate, why = quota_rate(pol, org_grade, major_contribution, approved_rate)
    left_of_allocation = allocated
    rounding = pol.get("quota.rounding", "floor")
    denominator_mode = pol.get("quota.denominator", "participants")
    pools = ["leader", "staff"] if pol.get("quota.rank_group_pools") else ["all"]
    quota_info: dict = {}
    for pool in pools:
        members = [r for r in results if pool == "all" or (r.rank_group == pool) or
                   (pool == "staff" and r.rank_group not in ("leader",))]
        if denominator_mode == "all":
            denom = len(members)
        else:
            denom = sum(1 for r in members if r.grade is not None)
        q = computed = quota_count(rate, denom, rounding)
        if left_of_allocation is not None:      # a count handed down by the parent replaces the rate's
            q = max(0, min(int(left_of_allocation), denom)) if len(pools) == 1 else min(q, left_of_allocation)
            left_of_allocation -= q
        cands = [(r.person_id, r.score) for r in members if r.eligible_youxiu]
        winners, tied, line = assign_youxiu(cands, q)
        win, tie = set(winners), set(tied)
        for r in members:
            if r.person_id in win:
                r.grade, r.code = "youxiu", "1"
            elif r.person_id in tie:
                r.flags.append("tie_at_line")
        quota_info[pool] = {"rate": rate, "why": why, "rounding": rounding, "denominator_mode": denominator_mode,
                            "denominator": denom, "quota": q, "by_rate": computed, "allocated": allocated, "awarded": len(winners), "line": line,
                            "tied": len(tied), "open_places": q - len(winners)}
    for r in results:
        r.components["quota_pool"] = "all" if len(pools) == 1 else ("leader" if r.rank_group == "leader" else "staff")
    return UnitOutcome(results, quota_info)


# -- performance pay ------------------------------------------------------------

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


def allocate_pay(rows: Sequence[dict], pol: dict) -> tuple[list[int], dict]:
    """Performance pay per person in cents, and the explanation.

    rows: [{"score", "grade", "code"}].  ``score_share`` (seed 003): pool =
    amount per person × number paid; unit value = pool ÷ Σ scores; pay = unit
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
    paid = sum(1 for w in weights if w > 0)
    pool_cents = int((amount * paid * 100).to_integral_value(rounding=ROUND_HALF_UP))
    cents = largest_remainder(pool_cents, weights)
    total_w = sum(weights)
    explain = {"formula": formula, "amount_per_person": float(amount), "paid": paid, "pool_cents": pool_cents,
               "weight_total": r2(total_w) if total_w else 0,
               "unit_value": (float(Decimal(pool_cents) / 100 / Decimal(repr(total_w))) if total_w else None),
               "rounding": "largest_remainder"}
    return cents, explain


# -- multi-year counters -------------------------------------------------------

def counters(history: Sequence[tuple[int, str | None]]) -> dict:
    """Counters from a person's yearly grades [(year, grade or None)], oldest first.

    称职 or better: 2 cumulative years → a salary step, 5 → a 级别 (the count
    runs on after each step; 不称职 resets it — the person is demoted).
    Consecutive 优秀: 3 → third-class merit (三等功).  Consecutive 不称职:
    1 → warning, 2 → dismissal (辞退).  Years without a grade neither count nor
    break a streak of 优秀/不称职 (a 5A/6A year interrupts nothing)."""
    good = 0
    youxiu_streak = 0
    bad_streak = 0
    for _year, grade in sorted(history):
        if grade is None:
            continue
        if grade in ("youxiu", "chenzhi"):
            good += 1
        if grade == "buchenzhi":
            good = 0
        youxiu_streak = youxiu_streak + 1 if grade == "youxiu" else 0
        bad_streak = bad_streak + 1 if grade == "buchenzhi" else 0
    last_grade = next((g for _y, g in sorted(history, reverse=True) if g is not None), None)
    alerts = []
    if last_grade in ("youxiu", "chenzhi") and good and good % 2 == 0:
        alerts.append("salary_step")
    if last_grade in ("youxiu", "chenzhi") and good and good % 5 == 0:
        alerts.append("level")
    if youxiu_streak and youxiu_streak % 3 == 0:
        alerts.append("merit_third_class")
    if bad_streak == 1:
        alerts.append("buchenzhi_warning")
    elif bad_streak >= 2:
        alerts.append("dismissal")
    return {"good_years": good, "toward_step": good % 2, "step_every": 2, "toward_level": good % 5, "level_every": 5,
            "youxiu_streak": youxiu_streak, "merit_every": 3, "buchenzhi_streak": bad_streak, "alerts": alerts}
