"""Grades, national result codes, sanctions and the fixed points tables of
the annual assessment."""
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


def N_(message: str) -> str:
    """Marks a label for the catalog (a refusal naming the rule is shown translated); no Flask here."""
    return message


# Eligibility and grading rules (calc/eligibility.py) in words: (zh, en); the English is a catalog msgid
RULE_LABELS = {
    "long_leave": ("病事假超过半年，不进行考核", N_("Leave over half the year: not assessed")),
    "probation": ("试用期，只写评语不定等次", N_("Probation: comment only, no grade")),
    "investigation": ("立案审查中，结案后补定等次", N_("Under investigation: graded after closing")),
    "retroactive": ("结案后补定等次", N_("Graded retroactively after the investigation closed")),
    "sanction": ("受处分或组织处理影响", N_("Sanction or organisational measure applies")),
    "refusal": ("无正当理由不参加考核，定为不称职", N_("Refused to take part: Incompetent")),
    "half_hao_none_low": ("平时考核“好”不足一半或有“一般/较差”", N_("Fewer than half of the routine results Good, or some Average/Poor")),
    "at_least_one_hao": ("平时考核没有“好”", N_("No routine result graded Good")),
    "consecutive_low": ("连续低分，不得评为优秀并诫勉谈话", N_("Consecutive low scores: not Excellent, reminder talk")),
    "low_score": ("出现低分，需批评教育谈话", N_("A low score: criticism talk")),
    "consecutive_high": ("连续高分，优先评优", N_("Consecutive high scores: priority for Excellent")),
    "routine_no_youxiu": ("平时考核已确定本年度不得评优秀", N_("The routine results bar Excellent this year")),
    "last_place": ("末位，不得评为优秀", N_("Last place: not Excellent")),
    "no_inputs": ("无考核数据", N_("No assessment data")),
}


# The stages of a unit's annual assessment (AnnualAssessment.status) in words: (zh, en)
STATUS_LABELS = {"open": ("进行中", "Open"), "computed": ("已计算", "Computed"), "confirmed": ("已确定等次", "Confirmed"),
                 "publicised": ("公示中", "On public notice"), "notified": ("已书面通知", "Notified"),
                 "filed": ("已备案", "Filed with the level above")}
