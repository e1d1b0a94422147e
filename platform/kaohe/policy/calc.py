"""Excellence-quota arithmetic: pure functions, no Flask, no database.

All arithmetic is exact: rates are turned into ``Decimal`` through their
decimal text (0.15 → Decimal("0.15"), never the binary float), so
``0.15 × 20`` is exactly 3 and rounds the same way under every rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Mapping

ROUNDING = {"floor": ROUND_FLOOR, "half_up": ROUND_HALF_UP, "ceil": ROUND_CEILING}
ROUNDING_LABELS = {"floor": ("向下取整", "rounded down"), "half_up": ("四舍五入", "rounded half up"),
                   "ceil": ("向上取整", "rounded up")}
GRADE_ZH = {"youxiu": "优秀", "lianghao": "良好", "yiban": "一般", "jiaocha": "较差"}
GROUP_LABELS = {"all": ("全体", "everyone"), "leader": ("领导班子", "leaders"), "staff": ("一般干部", "staff")}


def dec(x: Any) -> Decimal:
    """An exact Decimal from an int, a Decimal, a str or a float's shortest text."""
    if isinstance(x, Decimal):
        return x
    if isinstance(x, bool):
        raise TypeError("a rate cannot be a boolean")
    return Decimal(str(x))


def pct(rate: Any) -> str:
    """0.15 → '15%', 0.125 → '12.5%'."""
    v = (dec(rate) * 100).normalize()
    text = format(v, "f")
    return f"{text}%"


def round_quota(rate: Any, base: int, rule: str = "floor") -> int:
    """rate × base rounded by ``rule`` (floor | half_up | ceil)."""
    if rule not in ROUNDING:
        raise ValueError(f"unknown rounding rule {rule!r}")
    if base < 0:
        raise ValueError("headcount cannot be negative")
    product = dec(rate) * base
    return int(product.to_integral_value(rounding=ROUNDING[rule]))


def denominator(total: int, participants: int, rule: str) -> int:
    """Who counts in the base: everyone on the roster, or those taking part."""
    if rule == "all":
        return total
    if rule == "participants":
        return participants
    raise ValueError(f"unknown denominator rule {rule!r}")


@dataclass(frozen=True)
class RateDecision:
    rate: Decimal                 # the rate that applies
    table_rate: Decimal           # what the policy table gives for the grade
    source: str                   # "base" | grade code | "major_contribution" | "approval"
    needs_approval: bool          # table rate above the no-approval ceiling and no approval
    approved_rate: Decimal | None
    capped_by: str | None         # "no_approval_ceiling" | "hard_max" | None


def select_rate(policy: Mapping[str, Any], org_grade: str | None, major_contribution: bool = False,
                approved_rate: Any = None) -> RateDecision:
    """The unit's excellence rate from its organisational-performance grade.

    - no grade → ``quota.base_rate``; a grade → its row of
      ``quota.rate_by_org_grade``; a major contribution → the higher of the
      grade's rate and the major-contribution rate.
    - above ``quota.max_rate_without_approval`` only with an approval from the
      level above (the approval states the rate it grants); without one the
      rate stops at that ceiling and the result says an approval is needed.
    - never above ``quota.hard_max_rate``.
    """
    table = policy["quota.rate_by_org_grade"]
    if org_grade is None:
        table_rate, source = dec(policy["quota.base_rate"]), "base"
    else:
        if org_grade not in GRADE_ZH:
            raise ValueError(f"unknown organisational grade {org_grade!r}")
        table_rate, source = dec(table[org_grade]), org_grade
    if major_contribution and dec(table["major_contribution"]) > table_rate:
        table_rate, source = dec(table["major_contribution"]), "major_contribution"
    ceiling = dec(policy["quota.max_rate_without_approval"])
    hard = dec(policy["quota.hard_max_rate"])
    capped_by = None
    needs = False
    if approved_rate is not None:
        rate = dec(approved_rate)
        source = "approval"
    elif table_rate > ceiling:
        rate, needs, capped_by = ceiling, True, "no_approval_ceiling"
    else:
        rate = table_rate
    if rate > hard:
        rate, capped_by = hard, "hard_max"
    return RateDecision(rate, table_rate, source, needs, dec(approved_rate) if approved_rate is not None else None,
                        capped_by)


@dataclass(frozen=True)
class Headcount:
    total: int          # active people on the roster
    participants: int   # of whom taking part in the assessment (e.g. not in probation)


@dataclass
class Pool:
    group: str
    base: int
    quota: int
    exact: Decimal


@dataclass
class QuotaResult:
    rate: RateDecision
    rounding: str
    denominator: str
    pools: list[Pool]
    total: int
    allocated: int | None = None          # a count handed down by the parent replaces the computed total
    steps: list[dict] = field(default_factory=list)   # [{"zh": ..., "en": ...}] the arithmetic in words

    def as_dict(self) -> dict:
        return {
            "rate": float(self.rate.rate), "table_rate": float(self.rate.table_rate), "rate_source": self.rate.source,
            "needs_approval": self.rate.needs_approval,
            "approved_rate": float(self.rate.approved_rate) if self.rate.approved_rate is not None else None,
            "capped_by": self.rate.capped_by, "rounding": self.rounding, "denominator": self.denominator,
            "pools": [{"group": p.group, "base": p.base, "exact": str(p.exact), "quota": p.quota} for p in self.pools],
            "computed_total": sum(p.quota for p in self.pools), "allocated": self.allocated, "total": self.total,
            "steps": self.steps,
        }


def compute_quota(policy: Mapping[str, Any], headcounts: Mapping[str, Headcount], *, org_grade: str | None = None,
                  major_contribution: bool = False, approved_rate: Any = None,
                  allocated: int | None = None) -> QuotaResult:
    """The integer excellence quota of one unit, with its arithmetic.

    ``headcounts`` maps rank group ('leader' / 'staff') to counts.  With
    ``quota.rank_group_pools`` each group is its own pool, rounded on its own
    (no borrowing between them); otherwise one pool over everyone.  A count
    ``allocated`` by the parent replaces the computed total."""
    decision = select_rate(policy, org_grade, major_contribution, approved_rate)
    rule = policy["quota.rounding"]
    denom_rule = policy["quota.denominator"]
    steps: list[dict] = []
    src_zh = {"base": "基准比例", "major_contribution": "重大贡献单位比例", "approval": "上级审批比例"}
    src_en = {"base": "base rate", "major_contribution": "major-contribution rate", "approval": "approved rate"}
    if decision.source in GRADE_ZH:
        zh_src, en_src = f"组织绩效“{GRADE_ZH[decision.source]}”对应比例", f"rate for organisational grade {decision.source}"
    else:
        zh_src, en_src = src_zh[decision.source], src_en[decision.source]
    steps.append({"zh": f"适用比例：{zh_src} {pct(decision.rate)}", "en": f"Rate: {en_src} {pct(decision.rate)}"})
    if decision.capped_by == "no_approval_ceiling":
        steps.append({"zh": f"表定比例 {pct(decision.table_rate)} 超过无需审批上限，未经上级审批按 {pct(decision.rate)} 计算",
                      "en": f"The table rate {pct(decision.table_rate)} is above the no-approval ceiling; without an "
                            f"approval from the level above {pct(decision.rate)} applies"})
    elif decision.capped_by == "hard_max":
        steps.append({"zh": f"不得超过最高比例 {pct(decision.rate)}",
                      "en": f"Capped at the hard maximum {pct(decision.rate)}"})
    groups = ["leader", "staff"] if policy["quota.rank_group_pools"] else ["all"]
    pools: list[Pool] = []
    for g in groups:
        if g == "all":
            hc = Headcount(sum(h.total for h in headcounts.values()), sum(h.participants for h in headcounts.values()))
        else:
            hc = headcounts.get(g, Headcount(0, 0))
        base = denominator(hc.total, hc.participants, denom_rule)
        exact = decision.rate * base
        quota = round_quota(decision.rate, base, rule)
        pools.append(Pool(g, base, quota, exact))
        base_zh = "参加考核人数" if denom_rule == "participants" else "在册人数"
        base_en = "people taking part" if denom_rule == "participants" else "people on the roster"
        gz, ge = GROUP_LABELS[g]
        steps.append({
            "zh": f"{gz}：{pct(decision.rate)} × {base}（{base_zh}） = {_num(exact)}，{ROUNDING_LABELS[rule][0]}得 {quota} 名",
            "en": f"{ge}: {pct(decision.rate)} × {base} ({base_en}) = {_num(exact)}, {ROUNDING_LABELS[rule][1]} "
                  f"→ {quota}",
        })
    computed = sum(p.quota for p in pools)
    if len(pools) > 1:
        steps.append({"zh": f"分组计算、不得互相调剂，合计 {computed} 名",
                      "en": f"Separate pools, no borrowing between them: {computed} in total"})
    total = computed
    if allocated is not None:
        total = allocated
        steps.append({"zh": f"上级已分配名额 {allocated} 名（按比例计算为 {computed} 名），以分配为准",
                      "en": f"The parent allocated {allocated} (the rate gives {computed}); the allocation applies"})
    return QuotaResult(decision, rule, denom_rule, pools, total, allocated, steps)


def _num(x: Decimal) -> str:
    text = format(x.normalize(), "f")
    return text


@dataclass(frozen=True)
class PoolUse:
    group: str
    quota: int
    used: int

    @property
    def remaining(self) -> int:
        return self.quota - self.used


def pool_usage(result: QuotaResult, selected_by_group: Mapping[str, int]) -> list[PoolUse]:
    """How many of each pool are used by the selected 优秀 candidates.
    With separate pools a spare place in one group never covers another."""
    if len(result.pools) == 1 and result.pools[0].group == "all":
        used = sum(selected_by_group.values())
        return [PoolUse("all", result.total, used)]
    return [PoolUse(p.group, p.quota, int(selected_by_group.get(p.group, 0))) for p in result.pools]


def pool_violations(result: QuotaResult, selected_by_group: Mapping[str, int]) -> list[PoolUse]:
    """The pools the selection overruns (empty: within quota)."""
    return [u for u in pool_usage(result, selected_by_group) if u.used > u.quota]


def allocation_remaining(total: int, allocations: Mapping[Any, int]) -> int:
    return total - sum(allocations.values())


def check_allocation(total: int, allocations: Mapping[Any, int], child: Any, count: int) -> int:
    """Remaining after giving ``child`` ``count`` (replacing its previous
    count); raises ValueError when the children's total would exceed ``total``."""
    if count < 0:
        raise ValueError("an allocation cannot be negative")
    others = sum(v for k, v in allocations.items() if k != child)
    if others + count > total:
        raise ValueError(f"would allocate {others + count} of {total} ({total - others} left for this child)")
    return total - others - count
