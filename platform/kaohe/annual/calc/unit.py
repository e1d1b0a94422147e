"""One assessment unit's whole outcome: every score, eligibility, band,
rank and the quota line, computed for a batch of a million people."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .codes import GRADE_CODE, REVIEW_MIX
from .eligibility import apply_routine_rules, eligibility, half_hao_none_low, in_probation, long_leave
from .person import PersonInput, PersonResult
from .quota import assign_youxiu, quota_count, quota_rate
from .score import democratic_score, r2, votes_withheld


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
    leave_measure = pol.get("eligibility.leave_measure") or "calendar_days"
    min_votes = int(pol.get("routine.min_anonymous_raters", 3) or 0)
    rr_args = (set(rules_on), float(pol.get("routine.low_score", 60)), float(pol.get("routine.high_score", 95)),
               int(pol.get("routine.high_streak", 3)), int(pol.get("routine.low_streak", 2)),
               bool(pol.get("eligibility.talks_both", False)))
    priority_first = bool(pol.get("eligibility.priority_in_selection", False))
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
    results: list[PersonResult] = []
    append = results.append
    for p in people:
        # -- the score: annual_score(p, weights, mode, sw), computed the same way --
        rs = p.routine
        sc = [float(s) for s, _g in rs if s is not None]
        rm = sum(sc) / len(sc) if sc else None
        leader, votes = p.leader_score, p.democratic
        withheld = votes_withheld(votes, min_votes)
        if withheld:       # too few votes to stay anonymous: neither shown nor counted
            votes = None
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
        if withheld:
            explain["withheld"] = ["democratic"]
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
        probation = in_probation(p, year)
        if ((not p.leave_days or not long_leave(p, leave_limit, leave_measure)) and not probation
                and not p.investigation_open and not p.investigation_closed_retro and not p.sanctions
                and not p.refused):
            code, may_excel, rules = None, True, []
        else:
            code, may_excel, rules = eligibility(p, year, leave_days_limit=leave_limit, leave_measure=leave_measure)
        # -- routine → annual rules -----------------------------------------------
        if only_half_hao:       # the national default: that rule alone, no talks, no priority
            fired = half_hao_none_low(rs)
            ok, talks, priority = fired is None, [], False
            if fired is not None:
                rules.append(fired)
        else:
            ok, fired, talks, priority = apply_routine_rules(rs, *rr_args)
            if fired:
                rules.extend(fired)
        if p.routine_no_youxiu:     # the routine slice decided it (consecutive low results): no 优秀 this year
            ok = False
            rules.append({"rule": "routine_no_youxiu", "effect": "not_youxiu", "detail": {}})
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
        prio = frozenset(r.person_id for r in members if r.eligible_youxiu and "priority" in r.flags) \
            if priority_first else frozenset()
        winners, tied, line = assign_youxiu(cands, q, prio)
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
