"""Who may be graded, and who may be 优秀: leave, probation, investigations,
sanctions, refusal, and the routine → annual rules."""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Sequence

from .codes import SANCTIONS
from .leave import is_long, rule_detail
from .person import PersonInput, Sanction

_date = dt.date


def in_probation(p: PersonInput, year: int) -> bool:
    """In probation at the end of the assessment year (probation_end, or one
    year after hire when the end is not recorded).  The computation asks
    this for every person, so the common case (no recorded end, a plain
    hire date) is answered first without date arithmetic."""
    end = p.probation_end
    if end is None:
        hire = p.hire_date
        if hire is None:
            return False
        if type(hire) is _date and hire.year < 9999:
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


def long_leave(p: PersonInput, leave_days_limit: int, leave_measure: str = "calendar_days") -> bool:
    """Leave over half the year, by the policy's measure (calc.leave)."""
    return is_long(p.leave_days, p.leave_workdays, p.year_workdays, leave_measure, leave_days_limit)


def eligibility(p: PersonInput, year: int, *, leave_days_limit: int = 183,
                leave_measure: str = "calendar_days") -> tuple[str | None, bool, list[dict]]:
    """(fixed code or None when graded normally, may be 优秀, rules fired).

    A fixed code means no grade from the score: 5A/5B/5C/6A, or "4" for refusal."""
    rules: list[dict] = []
    if long_leave(p, leave_days_limit, leave_measure):
        rules.append({"rule": "long_leave", "effect": "6A", "detail": rule_detail(
            p.leave_days, p.leave_workdays, p.year_workdays, leave_measure, leave_days_limit)})
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


def half_hao_none_low(routine: Sequence[tuple[float | None, str | None]]) -> dict | None:
    """The national default routine → annual rule: 优秀 only with 好 in at
    least half of the graded periods and no 一般/较差.  The rule as it fired
    (for the explanation), or None when it holds.  The one implementation:
    ``routine_rules`` applies it, and ``compute_unit`` calls it straight when
    it is the only rule on (the common case, once per person)."""
    grades = [g for _s, g in routine if g]
    hao = grades.count("hao")
    low = grades.count("yiban") + grades.count("jiaocha")
    if not grades or hao * 2 < len(grades) or low:
        return {"rule": "half_hao_none_low", "effect": "not_youxiu",
                "detail": {"hao": hao, "low": low, "of": len(grades)}}
    return None


def routine_rules(routine: Sequence[tuple[float | None, str | None]], rules_on: Iterable[str], *,
                  low_score: float = 60, high_score: float = 95, high_streak: int = 3,
                  low_streak: int = 2, talks_both: bool = False) -> tuple[bool, list[dict], list[str], bool]:
    """Routine → annual rules.  Returns (may be 优秀, rules fired, talks, priority)."""
    return apply_routine_rules(routine, set(rules_on or ()), low_score, high_score, high_streak, low_streak,
                               talks_both)


def talk_base(kind: str) -> tuple[str, int | None]:
    """A talk kind and the routine period it is for: "criticism_p2" →
    ("criticism", 2); "reminder" → ("reminder", None)."""
    base, sep, n = kind.partition("_p")
    return (base, int(n)) if sep and n.isdigit() else (kind, None)


def apply_routine_rules(routine, rules_on: set, low_score, high_score, high_streak, low_streak,
                        talks_both: bool = False):
    """``routine_rules`` with the rule set and the thresholds as they are
    read once per unit.

    Talks under ``consecutive_low``: with ``talks_both`` (seed 000,
    ``eligibility.talks_both``) a criticism talk for every low period
    (kind ``criticism_p<n>``, n the period's place in the year) AND the
    reminder talk when the low scores are consecutive -- 70/60/58/80 gives
    criticism talks for periods 2 and 3 and the reminder talk; without it
    one talk, the reminder replacing the criticism."""
    ok = True
    fired: list[dict] = []
    talks: list[str] = []
    if not rules_on:
        return ok, fired, talks, False
    if "half_hao_none_low" in rules_on:
        rule = half_hao_none_low(routine)
        if rule is not None:
            ok = False
            fired.append(rule)
    if "at_least_one_hao" in rules_on:
        grades = [g for _s, g in routine if g]
        if "hao" not in grades:
            ok = False
            fired.append({"rule": "at_least_one_hao", "effect": "not_youxiu", "detail": {"of": len(grades)}})
    priority = False
    if "consecutive_low" in rules_on:
        scores = [s for s, _g in routine]
        run = best_low = 0
        for s in scores:
            run = run + 1 if (s is not None and s <= low_score) else 0
            best_low = max(best_low, run)
        if talks_both and best_low >= 1:
            low_at = [i for i, sc in enumerate(scores, 1) if sc is not None and sc <= low_score]
            talks.extend(f"criticism_p{i}" for i in low_at)
            fired.append({"rule": "low_score", "effect": "talk", "detail": {"threshold": low_score,
                                                                              "periods": low_at}})
        if best_low >= low_streak:
            ok = False
            talks.append("reminder")
            fired.append({"rule": "consecutive_low", "effect": "not_youxiu",
                          "detail": {"streak": best_low, "threshold": low_score}})
        elif best_low >= 1 and not talks_both:
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
