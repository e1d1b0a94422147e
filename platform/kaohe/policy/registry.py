"""The registry of policy settings: the single source of truth for every key,
its type (a marshmallow field), national default, kind, topic and meaning.

Kinds:
- ``inheritable``: any node may override unless an ancestor locked it.
- ``province_only``: only the province sets it; lower nodes always inherit.
- ``bounded``: like inheritable, and an ancestor may also set bounds (min/max
  for numbers and rates, including each entry of a table of rates; allowed
  values for choices) that every node below must stay inside.
- ``additive``: a library of items (e.g. common indicators): each level adds
  its own items to the inherited ones and may drop inherited items unless
  they are mandatory.

Other slices read values through ``kaohe.policy.resolve.effective_policy``;
adding a key here is the only thing needed to make it configurable.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from marshmallow import ValidationError, fields, validate

from ..core.errors import Invalid

# The vocabulary and value types live beside this module; they are named
# here too (callers read them as ``registry.X``).
from .vocabulary import (  # noqa: F401
    INHERITABLE,
    PROVINCE_ONLY,
    BOUNDED,
    ADDITIVE,
    KINDS,
    BOUND_NUMBER,
    BOUND_CHOICE,
    BOUND_TABLE,
    GROUPS,
    ROUTINE_GRADES,
    ANNUAL_GRADES,
    ORG_GRADES,
    ORG_GRADE_KEYS,
    RATER_KINDS,
    ELIGIBILITY_RULES,
    POSITION_LEVELS,
    INDICATOR_CATEGORIES,
    ORG_GRADE_LABELS,
    ROUTINE_GRADE_LABELS,
    ANNUAL_GRADE_LABELS,
    CHOICE_LABELS,
)
from .value_types import (  # noqa: F401
    StrictInt,
    StrictFloat,
    StrictBool,
    Rate,
    choice_field,
    RoutineBandsSchema,
    GradeScaleField,
    AnnualBandsSchema,
    RaterWeightsSchema,
    AnnualWeightsSchema,
    OrgGradeRatesSchema,
    PayCoefficientsSchema,
    AdditiveSchema,
    DateList,
)

@dataclass(frozen=True)
class Setting:
    key: str
    field_factory: Callable[[], fields.Field]
    default: Any
    kind: str
    group: str
    zh: str
    en: str
    bound: str | None = None          # BOUND_NUMBER / BOUND_CHOICE / BOUND_TABLE for bounded keys
    choices: tuple[str, ...] = ()      # for choice values (and BOUND_CHOICE)
    number_range: tuple[float, float] | None = None   # the type's own range (for bounds validation)
    unit: str = ""                     # "rate", "days", "points", "people", "yuan"
    order: int = 0

    @property
    def is_rate(self) -> bool:
        return self.unit == "rate"

    def field(self) -> fields.Field:
        return self.field_factory()


REGISTRY: dict[str, Setting] = {}


def _add(key, field_factory, default, kind, group, zh, en, **kw):
    if key in REGISTRY:
        raise ValueError(f"duplicate setting {key}")
    if kind not in KINDS:
        raise ValueError(kind)
    REGISTRY[key] = Setting(key, field_factory, default, kind, group, zh, en, order=len(REGISTRY), **kw)


def _nested(schema_cls):
    return lambda: fields.Nested(schema_cls, required=True)


# -- the settings ---------------------------------------------------------
def _username_rule(value: str) -> None:
    import re

    if "{staff_no}" not in value:
        raise ValidationError("must contain {staff_no}")
    rest = re.sub(r"\{(unit|staff_no)\}", "", value)
    if "{" in rest or "}" in rest or not re.fullmatch(r"[A-Za-z0-9_.@-]*", rest):
        raise ValidationError("only {unit}, {staff_no} and letters, digits, _ . @ -")


_add("routine.cycle", lambda: choice_field(("month", "quarter", "half_year")), "quarter", BOUNDED, "cycle",
     "平时考核周期（按月、按季度或按半年）", "Routine assessment cycle (monthly, quarterly or half-yearly)",
     bound=BOUND_CHOICE, choices=("month", "quarter", "half_year"))
_add("routine.daily_log_required", StrictBool, False, INHERITABLE, "cycle",
     "是否要求每日工作写实（默认可选，避免形式主义）",
     "Whether daily work logs are required (optional by default, to avoid box-ticking)")
_add("routine.grade_bands", _nested(RoutineBandsSchema), {"hao": 90, "jiaohao": 80, "yiban": 60}, BOUNDED,
     "routine_grades", "平时考核等次分数线：好、较好、一般的最低分，低于“一般”为较差",
     "Routine grade thresholds: lowest score for Good / Fairly good / Average; below Average is Poor",
     bound=BOUND_TABLE, number_range=(0, 100), unit="points")
_add("routine.grade_scale", GradeScaleField,
     [{"code": "hao", "name": "好", "name_en": "Good", "rank": "hao"},
      {"code": "jiaohao", "name": "较好", "name_en": "Fairly good", "rank": "jiaohao"},
      {"code": "yiban", "name": "一般", "name_en": "Average", "rank": "yiban"},
      {"code": "jiaocha", "name": "较差", "name_en": "Poor", "rank": "jiaocha"}], INHERITABLE,
     "routine_grades", "平时考核等次的名称与分数段（由好到差，2至4个等次；如“优秀、良好、及格、不及格”）："
     "每个等次的编码、名称、最低分及对应的国家等次（好、较好、一般、较差）；不填最低分时按“平时考核等次分数线”",
     "Names and bands of the routine grades (best first, 2 to 4; e.g. 优秀/良好/及格/不及格): each grade's code, "
     "name, lowest score and the national grade it counts as (好/较好/一般/较差); without lowest scores the "
     "routine grade thresholds apply", unit="points")
_add("routine.good_cap_rate", Rate, 0.40, BOUNDED, "good_cap",
     "“好”等次人数占参加考核人数的最高比例", "Highest share of participants who may be graded Good",
     bound=BOUND_NUMBER, number_range=(0, 1), unit="rate")
_add("routine.good_cap_scope", lambda: choice_field(("department", "unit")), "department", INHERITABLE, "good_cap",
     "“好”等次比例的计算范围（按科室或按单位）", "Where the cap on Good is counted (per department or per unit)",
     choices=("department", "unit"))
_add("routine.rater_weights", _nested(RaterWeightsSchema),
     {"supervisor": 0.7, "self": 0.1, "peer": 0.1, "democratic": 0.1}, INHERITABLE, "raters",
     "各评价主体的权重（主管领导、本人、互评、民主测评），合计为1",
     "Weight of each rater (supervisor, self, peers, democratic vote); they add up to 1", unit="rate")
_add("routine.min_anonymous_raters", lambda: StrictInt(validate=validate.Range(1, 50)), 3, BOUNDED, "raters",
     "匿名评价（互评、民主测评）展示并计入得分所需的最少评价人数",
     "Fewest raters before anonymous ratings (peers, democratic vote) are shown and counted",
     bound=BOUND_NUMBER, number_range=(1, 50), unit="people")
_add("routine.anonymous_below_minimum", lambda: choice_field(("not_counted", "incomplete")), "not_counted", BOUNDED,
     "raters", "互评、民主测评人数少于匿名最少人数时：该组评价不计入得分（权重按比例分给其他评价主体），"
     "或视为未完成；无论哪种方式，该组的结果都不会出现在任何页面、导出或接口中，也无法从总分推算",
     "When fewer peers or democratic voters than the anonymity minimum have answered: their group is not "
     "counted (its weight goes to the other raters), or the person's inputs are incomplete; either way the "
     "group's value appears on no page, export or API answer and cannot be worked out from the total",
     bound=BOUND_CHOICE, choices=("not_counted", "incomplete"))
_add("routine.rating_overlap", lambda: choice_field(("strongest", "every_relation")), "every_relation", INHERITABLE, "raters",
     "同一评价人对同一被评价人在同一周期内有多种评价关系（如既是互评又是民主测评）时：只评一次，"
     "按最主要的关系（主管评价 > 互评 > 民主测评）评价；或每种关系各评一次",
     "When a rater has several relations to the same colleague in one period (e.g. peer and democratic): "
     "rate once, under the strongest relation (supervisor > peer > democratic), or once for each relation",
     choices=("strongest", "every_relation"))
_add("routine.reveal_votes_to_admin", StrictBool, False, PROVINCE_ONLY, "raters",
     "管理员能否看到匿名评价的具体投票", "Whether administrators may see individual anonymous votes")
_add("routine.low_score", lambda: StrictInt(validate=validate.Range(0, 100)), 60, BOUNDED, "signals",
     "低分预警线（不高于此分触发提醒谈话）", "Low-score line (a score at or below it triggers a talk)",
     bound=BOUND_NUMBER, number_range=(0, 100), unit="points")
_add("routine.high_score", lambda: StrictInt(validate=validate.Range(0, 100)), 95, BOUNDED, "signals",
     "高分线（连续达到可优先评优）", "High-score line (reaching it repeatedly gives priority for Excellent)",
     bound=BOUND_NUMBER, number_range=(0, 100), unit="points")
_add("routine.high_streak", lambda: StrictInt(validate=validate.Range(1, 12)), 3, INHERITABLE, "signals",
     "连续高分次数达到多少可优先评优", "Consecutive high scores that give priority for Excellent", unit="times")
_add("routine.low_streak", lambda: StrictInt(validate=validate.Range(1, 12)), 2, INHERITABLE, "signals",
     "连续低分次数达到多少取消评优资格并诫勉谈话",
     "Consecutive low scores that bar Excellent and trigger an admonition talk", unit="times")
_add("routine.deduction_free_occurrences", lambda: StrictInt(validate=validate.Range(0, 31)), 0, INHERITABLE,
     "signals", "扣分项免计次数：每期每项前N次只记录不扣分（如“季迟到满N次后扣分”）",
     "Free occurrences of a deduction: the first N in a period are recorded but not deducted "
     "(e.g. 'deduct after N late arrivals a quarter')", unit="times")
_add("routine.publicity_working_days", lambda: StrictInt(validate=validate.Range(0, 30)), 3, BOUNDED, "publicity",
     "平时考核结果公示的工作日数", "Working days the routine results are publicly posted",
     bound=BOUND_NUMBER, number_range=(0, 30), unit="days")
_add("routine.leader_score_mode", lambda: choice_field(("rated", "derived")), "rated", INHERITABLE, "raters",
     "领导班子成员得分方式：直接评价，或由分管人员平均分推算",
     "How leaders are scored: rated directly, or derived from the average of those they lead",
     choices=("rated", "derived"))
_add("annual.weights", _nested(AnnualWeightsSchema), {"routine": 0.5, "review": 0.5}, BOUNDED, "annual",
     "年度考核得分构成：平时考核与年终评鉴的权重", "Annual score: weights of routine results and the year-end review",
     bound=BOUND_TABLE, number_range=(0, 1), unit="rate")
_add("annual.special_mode", lambda: choice_field(("add_subtract", "weighted")), "add_subtract", PROVINCE_ONLY,
     "annual", "专项考核计入年度的方式", "How special assessments count in the annual result",
     choices=("add_subtract", "weighted"))
_add("annual.special_weight", Rate, 0.0, BOUNDED, "annual",
     "专项考核在年度考核中的权重", "Weight of special assessments in the annual result",
     bound=BOUND_NUMBER, number_range=(0, 1), unit="rate")
_add("annual.grade_bands", _nested(AnnualBandsSchema), {"chenzhi": 70, "jibenchenzhi": 60}, PROVINCE_ONLY,
     "annual", "年度等次分数线：称职、基本称职的最低分，低于为不称职（优秀只按名额确定）",
     "Annual thresholds for Competent / Basically competent; below is Incompetent (Excellent only by quota)", unit="points")
_add("annual.publicity_working_days", lambda: StrictInt(validate=validate.Range(5, 30)), 5, BOUNDED, "publicity",
     "年度优秀人选公示的工作日数（不少于5个工作日）",
     "Working days the Excellent candidates are publicly posted (at least 5)",
     bound=BOUND_NUMBER, number_range=(5, 30), unit="days")
_add("annual.democratic_eval_for", lambda: fields.List(choice_field(POSITION_LEVELS)), ["section_chief"], INHERITABLE,
     "annual", "必须进行民主测评的人员", "Who must go through a democratic evaluation",
     choices=POSITION_LEVELS)
_add("quota.base_rate", Rate, 0.20, BOUNDED, "quota",
     "优秀基准比例（未评组织绩效等次或一般情况）",
     "Base excellence rate (for units without an organisational-performance grade)",
     bound=BOUND_NUMBER, number_range=(0, 1), unit="rate")
_add("quota.max_rate_without_approval", Rate, 0.20, BOUNDED, "quota",
     "无需上级审批的最高优秀比例", "Highest excellence rate without approval from the level above",
     bound=BOUND_NUMBER, number_range=(0, 1), unit="rate")
_add("quota.hard_max_rate", Rate, 0.30, PROVINCE_ONLY, "quota",
     "经审批也不得超过的优秀比例上限", "Ceiling no approval can exceed", unit="rate")
_add("quota.rate_by_org_grade", _nested(OrgGradeRatesSchema),
     {"youxiu": 0.20, "lianghao": 0.20, "yiban": 0.20, "jiaocha": 0.20, "major_contribution": 0.20}, BOUNDED,
     "quota", "按组织绩效等次确定的优秀比例（优秀、良好、一般、较差、重大贡献）",
     "Excellence rate by organisational-performance grade (excellent, good, fair, poor, major contribution)",
     bound=BOUND_TABLE, number_range=(0, 1), unit="rate")
_add("quota.rounding", lambda: choice_field(("floor", "half_up", "ceil")), "floor", BOUNDED, "quota_rules",
     "名额取整方式（向下取整、四舍五入、向上取整）", "How a quota is rounded (down, half up, up)",
     bound=BOUND_CHOICE, choices=("floor", "half_up", "ceil"))
_add("quota.denominator", lambda: choice_field(("participants", "all")), "participants", PROVINCE_ONLY,
     "quota_rules", "计算名额的基数：参加考核人数或全部在册人数",
     "Quota base: those taking part, or everyone on the roster", choices=("participants", "all"))
_add("quota.rank_group_pools", StrictBool, False, INHERITABLE, "quota_rules",
     "领导班子与一般干部分别计算名额、不得互相调剂",
     "Separate quota pools for leaders and staff, with no borrowing between them")
_add("eligibility.routine_rules", lambda: fields.List(choice_field(ELIGIBILITY_RULES)), ["half_hao_none_low"],
     INHERITABLE, "eligibility", "平时考核结果用于年度评优的规则", "Routine-to-annual rules for Excellent eligibility",
     choices=ELIGIBILITY_RULES)
_add("eligibility.priority_in_selection", StrictBool, True, INHERITABLE, "eligibility",
     "连续高分获得“优先评优”者在年度优秀名额中优先确定（先于未获优先者，按得分排序）",
     "People with priority for Excellent (consecutive high routine scores) take the quota places first, "
     "ahead of those without it (by score among themselves)")
_add("eligibility.talks_both", StrictBool, True, INHERITABLE, "eligibility",
     "连续低分时既要对每个低分期进行批评教育谈话，也要进行提醒谈话（诫勉）",
     "Consecutive low scores need both a criticism talk for each low period and the reminder talk (admonishment)")
_add("eligibility.leave_days", lambda: StrictInt(validate=validate.Range(1, 366)), 183, PROVINCE_ONLY,
     "eligibility", "年内请假超过多少天不确定等次", "Days of leave in a year above which no grade is given",
     unit="days")
_add("eligibility.leave_measure", lambda: choice_field(("calendar_days", "working_days")), "calendar_days", BOUNDED,
     "eligibility", "“请假超过半年”的计算口径：按自然日（超过“年内请假天数”上限）或按工作日（超过全年工作日的一半）",
     "How 'leave over half the year' is measured: calendar days (above the leave-days limit) or working days "
     "(more than half of the year's working days)",
     bound=BOUND_CHOICE, choices=("calendar_days", "working_days"))
_add("appeal.appealable_grades", lambda: fields.List(choice_field(("buchenzhi", "jibenchenzhi"))), ["buchenzhi"],
     PROVINCE_ONLY, "appeal", "可以申请复核、申诉的等次", "Grades that may be reviewed or appealed",
     choices=("buchenzhi", "jibenchenzhi"))
for _key, _default, _zh, _en in (
    ("appeal.review_apply_days", 30, "收到书面通知后申请复核的期限（日）", "Days to apply for a review after the written notice"),
    ("appeal.review_decide_days", 30, "复核决定期限（日）", "Days to decide a review"),
    ("appeal.after_review_days", 15, "对复核决定不服提出申诉的期限（日）", "Days to appeal after the review decision"),
    ("appeal.direct_days", 30, "直接提出申诉的期限（日）", "Days to appeal directly"),
    ("appeal.decide_days", 60, "申诉决定期限（日）", "Days to decide an appeal"),
    ("appeal.extension_days", 30, "申诉决定可延长的期限（日）", "Days an appeal decision may be extended"),
):
    _add(_key, lambda: StrictInt(validate=validate.Range(1, 365)), _default, PROVINCE_ONLY, "appeal", _zh, _en,
         unit="days")
_add("pay.formula", lambda: choice_field(("score_share", "grade_coefficient")), "score_share", INHERITABLE, "pay",
     "绩效奖金计算方式：按分值分配（人均额×人数÷总分×本人得分）或按等次系数",
     "Performance pay: share of the pool by score (amount × headcount ÷ total score × own score) "
     "or by grade coefficient", choices=("score_share", "grade_coefficient"))
_add("pay.amount_per_person", lambda: StrictFloat(validate=validate.Range(0, 1_000_000)), 2000, BOUNDED, "pay",
     "绩效奖金人均额度（元）", "Performance pay amount per person (yuan)",
     bound=BOUND_NUMBER, number_range=(0, 1_000_000), unit="yuan")
_add("pay.contributors", lambda: choice_field(("paid", "assessed")), "paid", INHERITABLE, "pay",
     "谁出资构成绩效奖金总额：仅获发奖金的人员，或全部参加考核人员（如“每人提出2000元为镇机关绩效工资总额”，"
     "被一票否决、不称职者的份额也计入总额）",
     "Who puts the amount per person into the pool: only the people paid, or everyone assessed (seed 003: "
     "\"each person contributes 2000\"; a vetoed or Incompetent person's share stays in the pool)",
     choices=("paid", "assessed"))
_add("routine.period_pay_share", Rate, 0.0, BOUNDED, "pay",
     "随平时考核兑现的绩效奖金比例：每期（如月度考核“当月兑现”）发放年度绩效奖金的这一比例，"
     "奖金池＝人均额度×参加考核人数×比例÷每年期数，按得分分配；0为不随平时考核发放（比例范围可由上级设定，如10%–20%）",
     "Share of the performance pay paid with each routine period (seed 001: monthly, paid the same month, "
     "10–20%): pool = amount per person × people assessed × share ÷ periods a year, split by score; "
     "0 = none (the level above may bound the range, e.g. 10%–20%)",
     bound=BOUND_NUMBER, number_range=(0, 1), unit="rate")
_add("pay.grade_coefficients", _nested(PayCoefficientsSchema),
     {"youxiu": 1.2, "chenzhi": 1.0, "jibenchenzhi": 0.5, "buchenzhi": 0}, INHERITABLE, "pay",
     "各年度等次的奖金系数", "Pay coefficient for each annual grade")
_add("calendar.extra_holidays", lambda: DateList(), [], INHERITABLE, "calendar",
     "本地增加的节假日（计算公示等工作日时扣除）", "Local extra holidays (skipped when counting working days)")
_add("calendar.extra_workdays", lambda: DateList(), [], INHERITABLE, "calendar",
     "本地调休上班日", "Local extra working days (weekend days worked)")
_add("indicators.common", lambda: fields.Nested(AdditiveSchema, required=True), {"add": [], "remove": []},
     ADDITIVE, "indicators",
     "共性指标库：上级下发的指标（必选项不可删除）加本级新增指标",
     "Common indicators: items handed down from above (mandatory ones cannot be dropped) plus local ones")


_add("accounts.username_rule",
     lambda: fields.String(validate=[validate.Length(1, 40), _username_rule]), "{unit}-{staff_no}", PROVINCE_ONLY,
     "accounts", "批量开通账号时的用户名规则（{unit} 为单位编码，{staff_no} 为工号）",
     "Username rule when accounts are provisioned ({unit}: unit code, {staff_no}: staff number)")


class UnknownSetting(Invalid):
    default = "Unknown setting."


def get(key: str) -> Setting:
    try:
        return REGISTRY[key]
    except KeyError:
        raise UnknownSetting({key: [f"unknown setting {key!r}"]}) from None


def _flatten(messages) -> str:
    if isinstance(messages, dict):
        return "; ".join(f"{k}: {_flatten(v)}" if k != "_schema" else _flatten(v) for k, v in messages.items())
    if isinstance(messages, (list, tuple)):
        return "; ".join(_flatten(m) for m in messages)
    return str(messages)


def validate_value(key: str, value: Any) -> Any:
    """Type-check ``value`` for ``key``; returns the normalised value or raises
    Invalid naming the key and the rule."""
    setting = get(key)
    f = setting.field()
    try:
        out = f.deserialize(value)
    except ValidationError as exc:
        inv = Invalid({key: [_flatten(exc.messages)]})
        # for the structured editor: {row index: {field: [messages]}} of the items added
        add = exc.messages.get("add") if isinstance(exc.messages, dict) else None
        inv.row_errors = {int(i): {f: m if isinstance(m, list) else [_flatten(m)] for f, m in errs.items()}
                          for i, errs in add.items() if isinstance(errs, dict)} if isinstance(add, dict) else {}
        raise inv from None
    if setting.kind == ADDITIVE:
        out = {"add": [dict(i) for i in out.get("add", [])], "remove": list(out.get("remove", []))}
    return _plain(out)


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    return value


def default(key: str) -> Any:
    return copy.deepcopy(get(key).default)


def settings_by_group() -> list[tuple[str, tuple[str, str], list[Setting]]]:
    out = []
    for code, label in GROUPS.items():
        items = sorted((s for s in REGISTRY.values() if s.group == code), key=lambda s: s.order)
        if items:
            out.append((code, label, items))
    return out


def _selfcheck() -> None:
    for s in REGISTRY.values():
        if s.group not in GROUPS:
            raise ValueError(f"{s.key}: unknown group {s.group}")
        if (s.kind == BOUNDED) != (s.bound is not None):
            raise ValueError(f"{s.key}: bounded keys (and only they) name how bounds apply")
        validate_value(s.key, copy.deepcopy(s.default))


_selfcheck()
