"""The annual slice's view of the policy cascade: the effective policy of
each unit for a year as a plain dict, with the national defaults of the keys
this slice reads filled in (the policy registry stays the source of truth)."""
from __future__ import annotations

from typing import Sequence

from sqlalchemy import select

from ..extensions import db
from ..policy.models import OrgPerformanceGrade, QuotaAllocation, QuotaApproval
from ..policy.resolve import effective_policies

DEFAULTS: dict = {
    "annual.weights": {"routine": 0.5, "review": 0.5},
    "annual.special_mode": "add_subtract",
    "annual.special_weight": 0.0,
    "annual.grade_bands": {"chenzhi": 70, "jibenchenzhi": 60},
    "annual.publicity_working_days": 5,
    "annual.democratic_eval_for": ["section_chief"],
    "quota.base_rate": 0.20,
    "quota.max_rate_without_approval": 0.20,
    "quota.hard_max_rate": 0.30,
    "quota.rate_by_org_grade": {"youxiu": 0.20, "lianghao": 0.20, "yiban": 0.20, "jiaocha": 0.20,
                                "major_contribution": 0.20},
    "quota.rounding": "floor",
    "quota.denominator": "participants",
    "quota.rank_group_pools": False,
    "eligibility.routine_rules": ["half_hao_none_low"],
    "eligibility.leave_days": 183,
    "eligibility.leave_measure": "calendar_days",
    "routine.min_anonymous_raters": 3,
    "eligibility.priority_in_selection": True,
    "eligibility.talks_both": True,
    "routine.low_score": 60,
    "routine.high_score": 95,
    "routine.high_streak": 3,
    "routine.low_streak": 2,
    "appeal.appealable_grades": ["buchenzhi"],
    "appeal.review_apply_days": 30,
    "appeal.review_decide_days": 30,
    "appeal.after_review_days": 15,
    "appeal.direct_days": 30,
    "appeal.decide_days": 60,
    "appeal.extension_days": 30,
    "pay.formula": "score_share",
    "pay.amount_per_person": 2000,
    "pay.contributors": "paid",
    "pay.grade_coefficients": {"youxiu": 1.2, "chenzhi": 1.0, "jibenchenzhi": 0.5, "buchenzhi": 0},
    "calendar.extra_holidays": [],
    "calendar.extra_workdays": [],
}


def policies_for(nodes: Sequence, year: int) -> dict[int, dict]:
    """{node id: plain policy dict} for many nodes of one province, in a
    bounded number of queries (the policy slice caches by path)."""
    pols = effective_policies(list(nodes), year) if nodes else {}
    out = {}
    for nid, pol in pols.items():
        values = getattr(pol, "_values", None)    # read-only use: a shallow copy is enough and 10x cheaper
        out[nid] = {**DEFAULTS, **(values if isinstance(values, dict) else pol.snapshot())}
    return out


def policy_for(node, year: int) -> dict:
    return policies_for([node], year)[node.id]


def org_grades_for(nodes: Sequence, year: int) -> dict[int, dict]:
    """What the policy slice records about each unit's quota for a year
    (its organisational grade, an approved rate, a count allocated by the
    parent), read in bulk: {unit id: {"grade", "major", "approved_rate",
    "allocated"}} (keys present only when recorded)."""
    out: dict[int, dict] = {}
    if not nodes:
        return out
    G, A, Q = OrgPerformanceGrade.__table__, QuotaApproval.__table__, QuotaAllocation.__table__
    root_id = nodes[0].root_id
    ids = [n.id for n in nodes]
    conn = db.session.connection()
    for i in range(0, len(ids), 900):
        part = ids[i:i + 900]
        for org_id, grade, major in conn.execute(select(G.c.org_id, G.c.grade, G.c.major_contribution).where(
                G.c.root_id == root_id, G.c.year == year, G.c.org_id.in_(part))):
            out.setdefault(org_id, {}).update(grade=grade, major=bool(major))
        for org_id, rate in conn.execute(select(A.c.org_id, A.c.rate).where(
                A.c.root_id == root_id, A.c.year == year, A.c.status == "approved", A.c.org_id.in_(part))):
            out.setdefault(org_id, {})["approved_rate"] = float(rate)
        for child, count in conn.execute(select(Q.c.child_id, Q.c.count).where(
                Q.c.root_id == root_id, Q.c.year == year, Q.c.child_id.in_(part))):
            out.setdefault(child, {})["allocated"] = int(count)
    return out
