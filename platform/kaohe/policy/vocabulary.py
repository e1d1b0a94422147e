"""The words of the policy settings: setting kinds, bound types, topic
groups, the grade scales and rater kinds, and their labels (zh, en).
Shared by the registry's declarations and the value types."""
from __future__ import annotations

INHERITABLE = "inheritable"
PROVINCE_ONLY = "province_only"
BOUNDED = "bounded"
ADDITIVE = "additive"
KINDS = (INHERITABLE, PROVINCE_ONLY, BOUNDED, ADDITIVE)

# How bounds apply to a bounded key.
BOUND_NUMBER = "number"        # min / max on the value
BOUND_CHOICE = "choice"        # allowed values
BOUND_TABLE = "table"          # min / max on every entry of a {name: number} table

# Topic groups in display order: code -> (zh, en)
GROUPS: dict[str, tuple[str, str]] = {
    "cycle": ("考核周期与工作写实", "Assessment cycle and work records"),
    "routine_grades": ("平时考核等次与分数段", "Routine grades and score bands"),
    "good_cap": ("“好”等次比例", "The cap on Good"),
    "raters": ("评价主体与权重", "Raters and their weights"),
    "signals": ("预警与谈话", "Warning signals and talks"),
    "annual": ("年度考核权重与等次", "Annual weights and grades"),
    "quota": ("优秀比例（按组织绩效）", "Excellence quota (by organisational performance)"),
    "quota_rules": ("名额计算规则", "Quota arithmetic rules"),
    "indicators": ("指标库", "Indicator library"),
    "eligibility": ("评优资格", "Eligibility rules"),
    "appeal": ("复核与申诉时限", "Review and appeal deadlines"),
    "publicity": ("公示", "Public notice"),
    "pay": ("绩效奖金", "Performance pay"),
    "calendar": ("工作日历", "Working calendar"),
    "accounts": ("账号", "Accounts"),
}

ROUTINE_GRADES = ("hao", "jiaohao", "yiban", "jiaocha")
ANNUAL_GRADES = ("youxiu", "chenzhi", "jibenchenzhi", "buchenzhi")
ORG_GRADES = ("youxiu", "lianghao", "yiban", "jiaocha")
ORG_GRADE_KEYS = ORG_GRADES + ("major_contribution",)
RATER_KINDS = ("supervisor", "self", "peer", "democratic")
ELIGIBILITY_RULES = ("half_hao_none_low", "at_least_one_hao", "consecutive_low", "last_place")
POSITION_LEVELS = ("section_chief", "deputy_section_chief", "staff", "leader")
INDICATOR_CATEGORIES = ("de", "neng", "qin", "ji", "lian")   # 德 能 勤 绩 廉

ORG_GRADE_LABELS = {
    "youxiu": ("优秀", "Excellent"), "lianghao": ("良好", "Good"), "yiban": ("一般", "Fair"),
    "jiaocha": ("较差", "Poor"), "major_contribution": ("重大贡献", "Major contribution"),
}
ROUTINE_GRADE_LABELS = {"hao": ("好", "Good"), "jiaohao": ("较好", "Fairly good"),
                        "yiban": ("一般", "Fair"), "jiaocha": ("较差", "Poor")}
ANNUAL_GRADE_LABELS = {"youxiu": ("优秀", "Excellent"), "chenzhi": ("称职", "Competent"),
                       "jibenchenzhi": ("基本称职", "Basically competent"), "buchenzhi": ("不称职", "Incompetent")}
CHOICE_LABELS: dict[str, tuple[str, str]] = {
    "month": ("按月", "Monthly"), "quarter": ("按季度", "Quarterly"), "half_year": ("按半年", "Half-yearly"),
    "department": ("按科室", "Per department"), "unit": ("按单位", "Per unit"),
    "strongest": ("同一人只评一次，按最主要的关系评价", "Once per colleague, under the strongest relation"),
    "every_relation": ("每种关系各评一次", "Once for each relation"),
    "rated": ("直接评价", "Rated directly"), "derived": ("由下属得分推算", "Derived from subordinates' scores"),
    "add_subtract": ("加减分", "Add / subtract points"), "weighted": ("加权计入", "Weighted"),
    "floor": ("向下取整", "Round down"), "half_up": ("四舍五入", "Round half up"), "ceil": ("向上取整", "Round up"),
    "participants": ("参加考核人数", "Those taking part"), "all": ("全部在册人数", "Everyone on the roster"),
    "paid": ("仅获发奖金的人员", "Only the people paid"), "assessed": ("全部参加考核人员", "Everyone assessed"),
    "not_counted": ("不计入得分，其权重按比例分给其他评价主体", "Not counted; its weight goes to the other raters"),
    "incomplete": ("视为未完成（需补足人数或由管理员豁免）", "Inputs incomplete (more raters, or an exemption)"),
    "calendar_days": ("自然日（超过183天）", "Calendar days (more than 183)"),
    "working_days": ("工作日（超过全年工作日的一半）", "Working days (more than half the year's)"),
    "score_share": ("按分值分配", "Share of the score pool"), "grade_coefficient": ("按等次系数", "Grade coefficient"),
    **{k: v for k, v in ORG_GRADE_LABELS.items()},
    **{k: v for k, v in ROUTINE_GRADE_LABELS.items()},
    **{k: v for k, v in ANNUAL_GRADE_LABELS.items()},
    "half_hao_none_low": ("半数以上为“好”且无一般、较差", "At least half Good and none Average/Poor"),
    "at_least_one_hao": ("四个季度至少一次“好”", "At least one Good in four quarters"),
    "consecutive_low": ("连续两次低分不得评优", "Two consecutive low scores bar Excellent"),
    "last_place": ("末位不得评优", "Last place loses Excellent eligibility"),
    # the parts of routine.rater_weights and annual.weights
    "supervisor": ("上级评价", "Supervisor"), "self": ("自评", "Self"), "peer": ("同事互评", "Peers"),
    "democratic": ("民主测评", "Democratic evaluation"), "routine": ("平时考核", "Routine results"),
    "review": ("年度审核评鉴", "Year-end review"),
    "section_chief": ("科级领导", "Section chiefs"), "deputy_section_chief": ("副科级", "Deputy section chiefs"),
    "leader": ("领导班子成员", "Leadership members"), "staff": ("一般干部", "Staff"),
}
