"""Pure arithmetic of routine assessment, with the seeds' own examples."""
from __future__ import annotations

import pytest

from kaohe.routine import calc
from kaohe.routine.calc import PersonInput, SpecError, score_person

# -- seed 003: 公共项目20 / 业务工作60 / 综合评议20, deductions with caps, integrity veto

SEED3_LIB = {
    "discipline": {"code": "discipline", "name": "工作纪律", "dimension": "qin", "kind": "deduction",
                   "max": 10, "per": 2, "cap": 10},
    "integrity": {"code": "integrity", "name": "廉洁自律", "dimension": "lian", "kind": "deduction",
                  "max": 5, "per": 5, "cap": 5},
    "integrity_veto": {"code": "integrity_veto", "name": "违法违纪受处分", "dimension": "lian", "kind": "veto",
                       "veto": "zero"},
    "study": {"code": "study", "name": "政治学习", "dimension": "zhengzhi", "kind": "deduction",
              "max": 5, "per": 1, "cap": 5},
    "business": {"code": "business", "name": "业务工作", "dimension": "ji", "kind": "scored", "max": 60},
    "evaluation": {"code": "evaluation", "name": "综合评议", "dimension": "de", "kind": "scored", "max": 20},
    "commendation": {"code": "commendation", "name": "区级以上表彰", "dimension": "ji", "kind": "bonus",
                     "per": 2, "cap": 5},
    "sanction": {"code": "sanction", "name": "通报批评", "dimension": "de", "kind": "deduction",
                 "max": 10, "per": 5, "cap": 10},
}
SEED3 = {
    "code": "seed3", "basis": "points", "total": 100,
    "rater_weights": {"supervisor": 1.0},
    "sections": [
        {"code": "public", "name": "公共项目", "points": 20,
         "indicators": ["discipline", "integrity", "integrity_veto", "study"]},
        {"code": "work", "name": "业务工作", "points": 60, "indicators": ["business"]},
        {"code": "eval", "name": "综合评议", "points": 20, "indicators": ["evaluation"]},
        {"code": "extra", "name": "奖惩", "extra": True, "indicators": ["commendation", "sanction"]},
    ],
}


def seed3(events=None, vetoes=(), business=55, evaluation=18):
    return score_person(PersonInput(1, SEED3, SEED3_LIB, ratings=[("supervisor", {"business": business,
                                                                                   "evaluation": evaluation})],
                                    events=events or {}, vetoes=vetoes))


def test_seed3_scheme_adds_up():
    calc.validate_scheme(SEED3, SEED3_LIB)


def test_seed3_discipline_two_points_per_occurrence():
    r = seed3({"discipline": [2, 2, 2]})
    public = r["sections"][0]
    assert public["items"][0]["points"] == 4      # 10 - 3 × 2
    assert public["score"] == 14                  # 4 + 5 + 5
    assert r["score"] == 14 + 55 + 18


def test_seed3_deduction_stops_at_cap():
    r = seed3({"discipline": [2] * 7})            # 14 raw, capped at 10
    item = r["sections"][0]["items"][0]
    assert item["points"] == 0 and item["capped"] is True and item["applied"] == 10
    assert r["score"] == 0 + 5 + 5 + 55 + 18


def test_seed3_integrity_veto_sets_total_to_zero():
    r = seed3(vetoes=["integrity_veto"])
    assert r["score"] == 0 and r["veto"] == {"code": "integrity_veto", "mode": "zero"}


def test_seed3_bonus_and_sanction_outside_the_hundred():
    r = seed3({"commendation": [2, 2, 2], "sanction": [5]}, business=60, evaluation=20)
    # 100 + min(6, cap 5) - 5
    assert r["score"] == 100


def test_a_deduction_past_its_cap_is_recorded_and_the_points_capped():
    """Seed 003: 发现一次扣2分, the section floored at 0 -- a sixth occurrence is
    evidence, not an error."""
    calc.check_event(SEED3_LIB["discipline"], [2, 2, 2, 2, 2], 2)      # accepted
    with pytest.raises(SpecError):
        calc.check_event(SEED3_LIB["discipline"], [], 0)
    pts, detail = calc.event_points(SEED3_LIB["discipline"], [2] * 6)
    assert pts == 0 and detail == {"occurrences": 6, "raw": 12, "applied": 10, "capped": True}


@pytest.mark.parametrize("free,n,points", [(0, 2, 6), (3, 3, 10), (3, 4, 8), (3, 9, 0)])
def test_free_occurrences_before_a_deduction_counts(free, n, points):
    """季迟到满N次后: the first ``free`` occurrences are recorded, not deducted."""
    ind = {**SEED3_LIB["discipline"], "free": free}
    pts, detail = calc.event_points(ind, [2] * n)
    assert pts == points and detail["occurrences"] == n


# -- seed 001: 本职90% / 中心10%, three raters ----------------------------------

SEED1_LIB = {
    "own": {"code": "own", "name": "本职工作", "dimension": "ji", "kind": "scored", "max": 100},
    "central": {"code": "central", "name": "中心工作", "dimension": "ji", "kind": "scored", "max": 100},
}
SEED1 = {"code": "seed1", "basis": "weight", "sections": [
    {"code": "own", "weight": 0.9, "indicators": ["own"]},
    {"code": "central", "weight": 0.1, "indicators": ["central"]}],
    "rater_weights": {"supervisor": 0.6, "self": 0.1, "democratic": 0.3}}


def test_seed1_ninety_ten_with_three_raters():
    calc.validate_scheme(SEED1, SEED1_LIB)
    r = score_person(PersonInput(1, SEED1, SEED1_LIB, ratings=[
        ("supervisor", {"own": 90, "central": 80}), ("self", {"own": 100, "central": 100}),
        ("democratic", {"own": 80, "central": 70}), ("democratic", {"own": 90, "central": 90})]))
    own = 0.6 * 90 + 0.1 * 100 + 0.3 * 85       # 89.5
    central = 0.6 * 80 + 0.1 * 100 + 0.3 * 80   # 82
    assert r["score"] == calc.r2(0.9 * own + 0.1 * central)
    assert r["missing_raters"] == []


def test_missing_rater_kind_renormalises_and_is_reported():
    r = score_person(PersonInput(1, SEED1, SEED1_LIB, ratings=[("supervisor", {"own": 90, "central": 80})]))
    assert r["score"] == calc.r2(0.9 * 90 + 0.1 * 80)
    assert r["missing_raters"] == ["democratic", "self"]


def test_weights_that_do_not_add_up_name_the_section():
    bad = {**SEED1, "sections": [{**SEED1["sections"][0], "weight": 0.8}, SEED1["sections"][1]]}
    with pytest.raises(SpecError) as exc:
        calc.validate_scheme(bad, SEED1_LIB)
    assert "0.9" in exc.value.errors["sections"][0]
    bad_points = {**SEED3, "sections": [{**SEED3["sections"][0], "points": 25}] + SEED3["sections"][1:]}
    with pytest.raises(SpecError) as exc:
        calc.validate_scheme(bad_points, SEED3_LIB)
    assert "sections.public.indicators" in exc.value.errors
    assert "public" in exc.value.errors["sections.public.indicators"][0]
    with pytest.raises(SpecError) as exc:
        calc.validate_scheme({**SEED1, "rater_weights": {"supervisor": 0.5, "self": 0.1}}, SEED1_LIB)
    assert "rater_weights" in exc.value.errors


# -- seed 000: four standards 优/良/中/差 and bonus points ------------------------

SEED0_LIB = {
    "unity": {"code": "unity", "name": "团结合作", "dimension": "de", "kind": "graded",
              "levels": {"you": 15, "liang": 12, "zhong": 9, "cha": 5}},
    "execution": {"code": "execution", "name": "执行能力", "dimension": "neng", "kind": "graded",
                  "levels": {"you": 15, "liang": 12, "zhong": 9, "cha": 5}},
    "dedication": {"code": "dedication", "name": "敬业精神", "dimension": "qin", "kind": "graded",
                   "levels": {"you": 15, "liang": 12, "zhong": 9, "cha": 5}},
    "key_work": {"code": "key_work", "name": "重点工作", "dimension": "ji", "kind": "graded",
                 "levels": {"you": 40, "liang": 32, "zhong": 24, "cha": 12}},
    "rules": {"code": "rules", "name": "守纪律懂规矩", "dimension": "lian", "kind": "graded",
              "levels": {"you": 15, "liang": 12, "zhong": 9, "cha": 5}},
    "innovation": {"code": "innovation", "name": "创新加分", "dimension": "ji", "kind": "bonus", "per": 2, "cap": 5},
}
SEED0 = {"code": "seed0", "basis": "points", "total": 100, "rater_weights": {"supervisor": 0.8, "peer": 0.2},
         "sections": [{"code": "main", "points": 100,
                       "indicators": ["unity", "execution", "dedication", "key_work", "rules"]},
                      {"code": "bonus", "extra": True, "indicators": ["innovation"]}]}


def test_seed0_four_standards_and_bonus():
    calc.validate_scheme(SEED0, SEED0_LIB)
    sup = {"unity": "you", "execution": "liang", "dedication": "you", "key_work": "liang", "rules": "you"}
    peer = {"unity": "liang", "execution": "liang", "dedication": "liang", "key_work": "liang", "rules": "liang"}
    r = score_person(PersonInput(1, SEED0, SEED0_LIB, ratings=[("supervisor", sup), ("peer", peer)],
                                 events={"innovation": [2]}))
    supervisor_total = 15 + 12 + 15 + 32 + 15   # 89
    peer_total = 12 + 12 + 12 + 32 + 12         # 80
    assert r["score"] == calc.r2(0.8 * supervisor_total + 0.2 * peer_total + 2)
    assert calc.grade_for(r["score"], {"hao": 90, "jiaohao": 80, "yiban": 60}) == "jiaohao"


def test_graded_value_outside_levels_is_refused():
    with pytest.raises(SpecError):
        calc.rated_value_points(SEED0_LIB["unity"], "excellent")
    with pytest.raises(SpecError) as exc:
        calc.rated_value_points(SEED1_LIB["own"], 101)
    assert "between 0 and 100" in exc.value.errors["own"][0]


# -- indicator definitions ----------------------------------------------------

@pytest.mark.parametrize("ind,field", [
    ({"kind": "graded", "dimension": "de", "levels": {"you": 5, "liang": 6, "zhong": 3, "cha": 1}}, "levels"),
    ({"kind": "graded", "dimension": "de", "levels": {"you": 5}}, "levels"),
    ({"kind": "scored", "dimension": "de", "max": 0}, "max"),
    ({"kind": "deduction", "dimension": "qin", "max": 10, "per": 2, "cap": 12}, "cap"),
    ({"kind": "bonus", "dimension": "ji", "per": -1, "cap": 3}, "per"),
    ({"kind": "veto", "dimension": "lian", "veto": "grade_cap", "cap_grade": "bad"}, "cap_grade"),
    ({"kind": "data", "dimension": "ji", "max": 10, "formula": {"type": "eval", "expr": "1"}}, "formula.type"),
    ({"kind": "data", "dimension": "ji", "max": 10, "formula": {"type": "ratio", "target": 0}}, "formula.target"),
    ({"kind": "scored", "dimension": "xx", "max": 5}, "dimension"),
    ({"kind": "magic", "dimension": "de"}, "kind"),
])
def test_invalid_indicators_name_the_field(ind, field):
    assert field in calc.validate_indicator(ind)


@pytest.mark.parametrize("spec,value,expected", [
    ({"type": "linear", "slope": 0.5, "intercept": 2}, 10, 7),
    ({"type": "linear", "slope": 1, "intercept": 0}, 50, 20),           # clamped to max
    ({"type": "linear", "slope": 1, "intercept": -5}, 2, 0),            # clamped to 0
    ({"type": "threshold", "steps": [[0, 2], [10, 10], [20, 20]]}, 15, 10),
    ({"type": "threshold", "steps": [[5, 2]]}, 3, 0),
    ({"type": "ratio", "target": 40}, 30, 15),
    ({"type": "ratio", "target": 40}, 60, 20),
])
def test_data_formulas(spec, value, expected):
    calc.validate_formula(spec)
    assert calc.apply_formula(spec, value, 20) == expected


def test_data_fed_indicator_in_a_police_scheme():
    lib = {"cases": {"code": "cases", "kind": "data", "dimension": "ji", "max": 40,
                     "formula": {"type": "ratio", "target": 20}},
           "quality": {"code": "quality", "kind": "data", "dimension": "ji", "max": 60,
                       "formula": {"type": "threshold", "steps": [[0, 20], [80, 45], [95, 60]]}}}
    scheme = {"code": "police", "basis": "points", "total": 100, "rater_weights": {"supervisor": 1},
              "sections": [{"code": "net", "points": 100, "indicators": ["cases", "quality"]}]}
    calc.validate_scheme(scheme, lib)
    r = score_person(PersonInput(1, scheme, lib, metrics={"cases": 15, "quality": 90}))
    assert r["score"] == 30 + 45


def test_grade_cap_veto():
    lib = dict(SEED1_LIB, warn={"code": "warn", "kind": "veto", "dimension": "lian", "veto": "grade_cap",
                                "cap_grade": "yiban"})
    scheme = {**SEED1, "sections": SEED1["sections"] + [{"code": "v", "extra": True, "indicators": ["warn"]}]}
    r = score_person(PersonInput(1, scheme, lib, ratings=[("supervisor", {"own": 100, "central": 100})],
                                 vetoes=["warn"]))
    assert r["score"] == 100
    assert calc.grade_for(r["score"], {"hao": 90, "jiaohao": 80, "yiban": 60}, r["veto"]["cap_grade"]) == "yiban"


# -- leaders (seed 003) ---------------------------------------------------------

def test_derived_leader_scores():
    staff = {1: 90, 2: 80, 3: 70, 4: 100}
    dept = {1: 10, 2: 10, 3: 20, 4: 30}
    got = calc.derived_leader_scores(staff, dept, {100: [10, 20], 101: [30], 102: []}, [200])
    assert got[100] == 80 and got[101] == 100 and got[102] is None
    assert got[200] == 90   # mean of the deputies who have a score


# -- grades, 好 cap, ranks, streaks -----------------------------------------------

@pytest.mark.parametrize("score,grade", [(100, "hao"), (90, "hao"), (89.99, "jiaohao"), (80, "jiaohao"),
                                         (79.5, "yiban"), (60, "yiban"), (59.99, "jiaocha"), (0, "jiaocha")])
def test_grade_bands(score, grade):
    assert calc.grade_for(score, {"hao": 90, "jiaohao": 80, "yiban": 60}) == grade


def test_good_cap_without_tie():
    group = {1: (98, "hao"), 2: (95, "hao"), 3: (93, "hao"), 4: (85, "jiaohao"), 5: (70, "yiban")}
    out = calc.apply_good_cap(group, 0.4)
    assert out.quota == 2 and out.tie is None
    assert [out.grades[i] for i in (1, 2, 3)] == ["hao", "hao", "jiaohao"]


def test_good_cap_tie_is_flagged_never_broken():
    group = {1: (98, "hao"), 2: (95, "hao"), 3: (95, "hao"), 4: (85, "jiaohao"), 5: (70, "yiban")}
    out = calc.apply_good_cap(group, 0.4)
    assert out.tie == {"line": 95, "slots": 1, "candidates": [2, 3], "resolved": False}
    assert out.grades[1] == "hao" and out.grades[2] == out.grades[3] == "jiaohao"
    decided = calc.apply_good_cap(group, 0.4, decision=[3])
    assert decided.grades[3] == "hao" and decided.grades[2] == "jiaohao" and decided.tie["resolved"]
    wrong = calc.apply_good_cap(group, 0.4, decision=[1])     # not a candidate: still undecided
    assert wrong.tie["resolved"] is False


def test_good_cap_small_group_and_under_quota():
    assert calc.apply_good_cap({1: (99, "hao"), 2: (80, "jiaohao")}, 0.4).grades[1] == "jiaohao"   # floor(0.8)=0
    out = calc.apply_good_cap({i: (91, "hao") if i < 2 else (70, "yiban") for i in range(10)}, 0.4)
    assert out.tie is None and sum(g == "hao" for g in out.grades.values()) == 2


def test_competition_ranks():
    assert calc.competition_ranks({1: 90, 2: 95, 3: 90, 4: 80}) == {2: 1, 1: 2, 3: 2, 4: 4}


@pytest.mark.parametrize("history,flags", [
    ([70, 59], ["criticism_talk"]),
    ([60], ["criticism_talk"]),
    ([55, 58], ["criticism_talk", "reminder_talk", "no_youxiu"]),
    ([58, 70], []),
    ([96, 95, 99], ["priority"]),
    ([96, 94, 99], []),
    ([95, 99], []),
])
def test_streak_rules(history, flags):
    assert calc.streak_flags(history, low=60, high=95, low_streak=2, high_streak=3) == flags
