"""Exhaustive table tests of the pure annual arithmetic (no fixtures)."""
import datetime as dt
import random

import pytest

from kaohe.annual.calc.codes import GRADES
from kaohe.annual.calc.counters import counters
from kaohe.annual.calc.eligibility import eligibility, governing_sanction, half_hao_none_low, routine_rules
from kaohe.annual.calc.pay import allocate_pay, largest_remainder
from kaohe.annual.calc.person import PersonInput, Sanction
from kaohe.annual.calc.quota import quota_count, quota_rate
from kaohe.annual.calc.score import annual_score, r2
from kaohe.annual.calc.unit import compute_unit
from kaohe.annual.policy import DEFAULTS

QINGHAI = {"youxiu": 0.20, "lianghao": 0.15, "yiban": 0.12, "jiaocha": 0.10, "major_contribution": 0.30}


def pol(**kw):
    p = dict(DEFAULTS)
    p["eligibility.routine_rules"] = []
    p.update({k.replace("__", "."): v for k, v in kw.items()})
    return p


def person(pid, score, **kw):
    """A person whose annual score equals ``score`` (routine and review equal)."""
    return PersonInput(person_id=pid, routine=[(score, "hao")] * 4, leader_score=score, **kw)


# -- the quota line ----------------------------------------------------------------

@pytest.mark.parametrize("org_grade", [None, "youxiu", "lianghao", "yiban", "jiaocha", "major"])
@pytest.mark.parametrize("rounding", ["floor", "half_up", "ceil"])
def test_quota_line_headcounts_1_to_200(org_grade, rounding):
    rng = random.Random(f"{org_grade}{rounding}")
    p = pol(quota__rate_by_org_grade=QINGHAI, quota__rounding=rounding, quota__max_rate_without_approval=0.30)
    for n in range(1, 201):
        people = []
        for i in range(n):
            score = rng.choice([72.0, 75.5, 80.0, 80.0, 85.25, 90.0, 90.0, 95.0, 99.0])
            kw = {}
            if rng.random() < 0.1:
                kw["sanctions"] = [Sanction("jinggao", 2026)]          # not 优秀
            if rng.random() < 0.05:
                kw["leave_days"] = 200                                  # 6A, no grade
            people.append(person(i + 1, score, **kw))
        out = compute_unit(people, p, 2026, org_grade=None if org_grade == "major" else org_grade,
                           major_contribution=org_grade == "major")
        info = out.quota["all"]
        rate = QINGHAI["major_contribution"] if org_grade == "major" else QINGHAI.get(org_grade, 0.20)
        denom = sum(1 for r in out.results if r.grade is not None)
        assert info["denominator"] == denom
        assert info["quota"] == quota_count(rate, denom, rounding)
        youxiu = [r for r in out.results if r.grade == "youxiu"]
        assert len(youxiu) <= info["quota"]                             # never over the quota
        assert all(r.eligible_youxiu for r in youxiu)                   # ineligible skipped
        tied = [r for r in out.results if "tie_at_line" in r.flags]
        eligible = sorted((r for r in out.results if r.eligible_youxiu), key=lambda r: -r.score)
        if len(eligible) <= info["quota"]:
            assert len(youxiu) == len(eligible) and not tied
        elif tied:
            line = eligible[info["quota"] - 1].score
            assert all(r.score == line for r in tied)
            assert len(tied) > info["quota"] - len(youxiu)              # more tied than open places
            assert all(r.score > line for r in youxiu)
        else:
            assert len(youxiu) == info["quota"]
            if youxiu:
                    assert min(r.score for r in youxiu) > max(r.score for r in eligible if r.grade != "youxiu")


def test_rate_above_ceiling_needs_approval_and_allocation_replaces():
    p = pol(quota__rate_by_org_grade=QINGHAI)
    assert quota_rate(p, "yiban") == (0.12, "yiban")
    assert quota_rate(p, "yiban", True) == (0.20, "major_contribution:needs_approval")
    assert quota_rate(p, "yiban", True, approved_rate=0.28) == (0.28, "approval")
    assert quota_rate(p, None, True, approved_rate=0.5) == (0.30, "approval:capped")
    people = [person(i, 70 + i) for i in range(1, 21)]
    out = compute_unit(people, p, 2026, allocated=2)
    assert out.quota["all"]["quota"] == 2 and out.quota["all"]["by_rate"] == 4
    assert sum(r.grade == "youxiu" for r in out.results) == 2


def test_quota_rounding_rules_exact():
    assert quota_count(0.2, 15) == 3          # 0.2×15 is exactly 3, not 2.999…
    assert quota_count(0.12, 17, "floor") == 2
    assert quota_count(0.12, 17, "half_up") == 2   # 2.04
    assert quota_count(0.12, 17, "ceil") == 3
    assert quota_count(0.15, 10, "half_up") == 2   # 1.5 → 2
    assert quota_count(0.2, 4) == 0
    assert quota_count(0.2, 0) == 0
    assert quota_count(0.3, 1, "ceil") == 1


def test_ineligible_skipped_next_takes_place():
    p = pol()
    people = [person(1, 99, sanctions=[Sanction("jinggao", 2026)]), person(2, 95), person(3, 90), person(4, 80),
              person(5, 78)] + [person(10 + i, 71) for i in range(5)]
    out = compute_unit(people, p, 2026)
    grades = {r.person_id: r.grade for r in out.results}
    assert out.quota["all"]["quota"] == 2
    assert grades[1] == "chenzhi" and grades[2] == "youxiu" and grades[3] == "youxiu" and grades[4] == "chenzhi"


def test_tie_at_line_flagged_not_broken():
    people = [person(1, 95), person(2, 90), person(3, 90)] + [person(10 + i, 75) for i in range(7)]
    out = compute_unit(people, pol(), 2026)
    by = {r.person_id: r for r in out.results}
    assert out.quota["all"]["quota"] == 2
    assert by[1].grade == "youxiu"
    assert by[2].grade == by[3].grade == "chenzhi"
    assert "tie_at_line" in by[2].flags and "tie_at_line" in by[3].flags
    assert out.quota["all"]["open_places"] == 1 and out.quota["all"]["tied"] == 2


def test_rank_group_pools_do_not_borrow():
    people = [PersonInput(1, "leader", [(99, "hao")] * 4, 99), PersonInput(2, "leader", [(98, "hao")] * 4, 98)]
    people += [PersonInput(10 + i, "staff", [(80 - i, "hao")] * 4, 80 - i) for i in range(10)]
    out = compute_unit(people, pol(quota__rank_group_pools=True), 2026)
    assert out.quota["leader"]["quota"] == 0 and out.quota["staff"]["quota"] == 2
    grades = {r.person_id: r.grade for r in out.results}
    assert grades[1] == grades[2] == "chenzhi"
    assert grades[10] == grades[11] == "youxiu"


def test_denominator_all_counts_people_without_grade():
    people = [person(i, 80 + i) for i in range(1, 10)] + [person(99, 85, leave_days=300)]
    assert compute_unit(people, pol(), 2026).quota["all"]["denominator"] == 9
    assert compute_unit(people, pol(quota__denominator="all"), 2026).quota["all"]["quota"] == 2


# -- eligibility ------------------------------------------------------------------------

Y = 2026


@pytest.mark.parametrize("kw, code, may_excel", [
    ({}, None, True),
    ({"probation_end": dt.date(2027, 3, 1), "hire_date": dt.date(2026, 3, 1)}, "5A", False),
    ({"hire_date": dt.date(2026, 6, 1)}, "5A", False),                       # one year from hire
    ({"probation_end": dt.date(2026, 6, 1), "hire_date": dt.date(2025, 6, 1)}, None, True),  # ended in the year
    ({"leave_days": 184}, "6A", False),
    ({"leave_days": 183}, None, True),                                        # exactly half: still assessed
    ({"investigation_open": True}, "5B", False),
    ({"investigation_closed_retro": True}, None, True),                       # 补定: graded normally
    ({"sanctions": [Sanction("jinggao", Y)]}, None, False),
    ({"sanctions": [Sanction("jinggao", Y - 1)]}, None, True),                # a warning reaches one year
    ({"sanctions": [Sanction("jiguo", Y)]}, "5C", False),
    ({"sanctions": [Sanction("jiguo", Y - 1)]}, None, True),
    ({"sanctions": [Sanction("jidaguo", Y)]}, "5C", False),
    ({"sanctions": [Sanction("jidaguo", Y - 1)]}, "5C", False),               # this and next year
    ({"sanctions": [Sanction("jidaguo", Y - 2)]}, None, True),
    ({"sanctions": [Sanction("jiangji", Y - 1)]}, "5C", False),
    ({"sanctions": [Sanction("chezhi", Y - 1)]}, "5C", False),
    ({"sanctions": [Sanction("chezhi", Y + 1)]}, None, True),                 # not yet
    ({"sanctions": [Sanction("jiechen", Y)]}, None, False),
    ({"sanctions": [Sanction("tiaozheng", Y)]}, None, False),
    ({"sanctions": [Sanction("jinggao", Y), Sanction("jiguo", Y)]}, "5C", False),    # heavier governs
    ({"sanctions": [Sanction("jiechen", Y), Sanction("jidaguo", Y - 1)]}, "5C", False),
    ({"refused": True}, "4", False),
    ({"refused": True, "leave_days": 250}, "6A", False),
])
def test_eligibility_cases(kw, code, may_excel):
    p = PersonInput(person_id=1, **kw)
    got, excel, rules = eligibility(p, Y)
    assert got == code
    assert excel == may_excel


def test_governing_sanction_is_heaviest():
    s = governing_sanction([Sanction("jinggao", Y), Sanction("chezhi", Y), Sanction("jiguo", Y)], Y)
    assert s.kind == "chezhi"


def test_eligibility_codes_flow_into_unit():
    people = [person(1, 90, probation_end=dt.date(2027, 1, 1)), person(2, 90, leave_days=200),
              person(3, 90, investigation_open=True), person(4, 90, sanctions=[Sanction("jiguo", Y)]),
              person(5, 90, refused=True), person(6, 90, investigation_closed_retro=True),
              PersonInput(7)]
    out = compute_unit(people, pol(), Y)
    by = {r.person_id: r for r in out.results}
    assert [by[i].code for i in range(1, 8)] == ["5A", "6A", "5B", "5C", "4", "2", "7"]
    assert by[5].grade == "buchenzhi" and by[1].grade is None
    assert "retroactive" in by[6].flags


# -- routine → annual rules ---------------------------------------------------------------

def test_routine_rules():
    kw = dict(low_score=60, high_score=95, high_streak=3, low_streak=2)
    ok, *_ = routine_rules([(92, "hao"), (91, "hao"), (85, "jiaohao"), (88, "jiaohao")], ["half_hao_none_low"], **kw)
    assert ok
    ok, *_ = routine_rules([(92, "hao"), (85, "jiaohao"), (85, "jiaohao"), (88, "jiaohao")], ["half_hao_none_low"], **kw)
    assert not ok
    ok, *_ = routine_rules([(92, "hao"), (92, "hao"), (92, "hao"), (70, "yiban")], ["half_hao_none_low"], **kw)
    assert not ok
    ok, *_ = routine_rules([(85, "jiaohao")] * 4, ["at_least_one_hao"], **kw)
    assert not ok
    ok, fired, talks, prio = routine_rules([(96, "hao"), (97, "hao"), (95, "hao"), (80, "jiaohao")],
                                           ["consecutive_low"], **kw)
    assert ok and prio and talks == []
    ok, fired, talks, prio = routine_rules([(80, None), (60, None), (80, None), (80, None)], ["consecutive_low"], **kw)
    assert ok and talks == ["criticism"]
    ok, fired, talks, prio = routine_rules([(80, None), (58, None), (59, None), (80, None)], ["consecutive_low"], **kw)
    assert not ok and talks == ["reminder"]


def test_half_hao_none_low_one_rule_for_the_unit_and_the_explanation():
    """Every sequence of up to four routine grades: the rule (half or more 好,
    no 一般/较差) is what half_hao_none_low says, what routine_rules fires and
    what compute_unit applies under the national default."""
    import itertools

    kw = dict(low_score=60, high_score=95, high_streak=3, low_streak=2)
    default = pol(eligibility__routine_rules=["half_hao_none_low"])
    choices = (None, "hao", "jiaohao", "yiban", "jiaocha")
    for n in range(5):
        for grades in itertools.product(choices, repeat=n):
            routine = [(80.0, g) for g in grades]
            graded = [g for g in grades if g]
            holds = bool(graded) and 2 * graded.count("hao") >= len(graded) and not (
                {"yiban", "jiaocha"} & set(graded))
            rule = half_hao_none_low(routine)
            assert (rule is None) == holds, grades
            ok, fired, talks, prio = routine_rules(routine, ["half_hao_none_low"], **kw)
            assert ok == holds and fired == ([] if holds else [rule]) and talks == [] and not prio
            res = compute_unit([PersonInput(1, routine=routine, leader_score=80.0)], default, Y).results[0]
            assert res.rules == fired and res.eligible_youxiu == holds


def test_last_place_loses_eligibility():
    people = [person(1, 95), person(2, 90), person(3, 71)]
    out = compute_unit(people, pol(eligibility__routine_rules=["last_place"], quota__rate_by_org_grade={},
                                   quota__base_rate=0.3, quota__rounding="ceil"), Y)
    by = {r.person_id: r for r in out.results}
    assert not by[3].eligible_youxiu and by[1].grade == "youxiu"


# -- the score ------------------------------------------------------------------------------

def test_weights_and_special_add_subtract():
    p = PersonInput(1, routine=[(90, "hao"), (80, "jiaohao"), (85, "jiaohao"), (85, "jiaohao")], leader_score=80,
                    special_points=[20, -5])
    score, ex = annual_score(p, {"routine": 0.6, "review": 0.4}, "add_subtract", 0.10)
    assert score == r2(0.6 * 85 + 0.4 * 80 + 0.1 * 15)
    assert ex["special_add"] == 1.5


def test_special_weighted_mode_and_missing_component():
    p = PersonInput(1, routine=[(90, "hao")], leader_score=None, special_scores=[80])
    score, ex = annual_score(p, {"routine": 0.5, "review": 0.5}, "weighted", 0.2)
    # review missing: its weight spread over routine and special
    assert score == r2((0.4 * 90 + 0.2 * 80) / 0.6)
    assert ex["renormalised"] == ["review"]


def test_democratic_mix():
    p = PersonInput(1, leader_score=90, democratic={"youxiu": 5, "chenzhi": 5})
    score, _ = annual_score(p, {"routine": 0.5, "review": 0.5})
    assert score == r2(0.7 * 90 + 0.3 * 90)


# -- pay ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(30))
def test_pay_sums_exactly_to_pool(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 120)
    rows = [{"score": round(rng.uniform(55, 99), 2), "grade": rng.choice(GRADES + (None,)),
             "code": rng.choice(["1", "2", "5A", "6A"])} for _ in range(n)]
    for formula in ("score_share", "grade_coefficient"):
        p = pol(pay__formula=formula, pay__amount_per_person=rng.choice([2000, 1333.33, 777.77]))
        cents, ex = allocate_pay(rows, p)
        assert sum(cents) == ex["pool_cents"]
        assert all(c >= 0 for c in cents)


def test_seed_003_formula():
    rows = [{"score": 90, "grade": "chenzhi"}, {"score": 80, "grade": "chenzhi"}, {"score": 70, "grade": "chenzhi"}]
    cents, ex = allocate_pay(rows, pol(pay__amount_per_person=1000))
    assert ex["pool_cents"] == 300000
    assert cents == [112500, 100000, 87500]     # 3000/240 = 12.5 per point
    cents, _ = allocate_pay([{"score": 1, "grade": "chenzhi"}] * 3, pol(pay__amount_per_person=0.01))
    assert sum(cents) == 3 and sorted(cents) == [1, 1, 1]


def test_largest_remainder_rule():
    assert largest_remainder(100, [1, 1, 1]) == [34, 33, 33]
    assert largest_remainder(10, [0, 0]) == [0, 0]
    assert sum(largest_remainder(99999, [0.3, 0.3, 0.4])) == 99999


# -- counters -------------------------------------------------------------------------------------

def test_counters():
    c = counters([(2024, "chenzhi"), (2025, "youxiu")])
    assert c["good_years"] == 2 and "salary_step" in c["alerts"]
    c = counters([(2021, "youxiu"), (2022, "youxiu"), (2023, "youxiu")])
    assert "merit_third_class" in c["alerts"] and c["youxiu_streak"] == 3
    c = counters([(2021, "chenzhi")] * 1 + [(y, "chenzhi") for y in range(2022, 2026)])
    assert c["good_years"] == 5 and "level" in c["alerts"]
    assert counters([(2025, "buchenzhi")])["alerts"] == ["buchenzhi_warning"]
    assert "dismissal" in counters([(2024, "buchenzhi"), (2025, "buchenzhi")])["alerts"]
    c = counters([(2023, "chenzhi"), (2024, "jibenchenzhi"), (2025, "chenzhi")])
    assert c["good_years"] == 2        # 基本称职 not counted
    assert counters([(2024, "chenzhi"), (2025, "buchenzhi")])["good_years"] == 0
    assert counters([(2024, "youxiu"), (2025, None), (2026, "youxiu")])["youxiu_streak"] == 2


def test_seed_003_pool_every_assessed_person_contributes():
    """Finding 7: 「每人提出2000元」— the vetoed person (0 points, 不称职) contributes to
    the pool too; the pool (10,000.00) is divided by the sum of all scores (353)."""
    rows = [{"score": s, "grade": g, "code": c} for s, g, c in
            ((95, "youxiu", "1"), (90, "chenzhi", "2"), (88, "chenzhi", "2"), (80, "chenzhi", "2"),
             (0, "buchenzhi", "4"))]
    cents, ex = allocate_pay(rows, pol(pay__contributors="assessed"))
    assert ex["pool_cents"] == 1_000_000 and ex["contributors"] == 5 and ex["paid"] == 4
    assert ex["weight_total"] == 353
    # exact shares 2691.218…, 2549.575…, 2492.917…, 2266.288…: rounding each half-up gives
    # 10,000.01, so the largest-remainder rule takes the cent from the smallest remainder (2549.575…)
    assert cents == [269122, 254957, 249292, 226629, 0]
    assert sum(cents) == 1_000_000 and ex["undistributed_cents"] == 0
    # the old rule (only those paid put money in) is still available as a setting
    cents, ex = allocate_pay(rows, pol(pay__contributors="paid"))
    assert ex["pool_cents"] == 800_000 and sum(cents) == 800_000
    # people without a grade this year (5B/5C/6A) neither contribute nor get paid; 5A probation does both
    rows2 = rows + [{"score": 85, "grade": None, "code": "5B"}, {"score": None, "grade": None, "code": "6A"},
                    {"score": 70, "grade": None, "code": "5A"}]
    cents, ex = allocate_pay(rows2, pol(pay__contributors="assessed"))
    assert ex["contributors"] == 6 and sum(cents) == 1_200_000 and cents[5] == cents[6] == 0 and cents[7] > 0


# -- seed 000 (issue 12, finding 9) ------------------------------------------------------------------

def _seed000_pol(**kw):
    return pol(eligibility__routine_rules=["consecutive_low"], **kw)


def test_seed_000_priority_takes_the_last_place():
    """Three quarters ≥ 95 give priority: a priority person at 92 beats a 93.5 without it."""
    prio = PersonInput(1, routine=[(95, "hao"), (96, "hao"), (97, "hao"), (80, "jiaohao")], leader_score=92)
    other = PersonInput(2, routine=[(93.5, "hao")] * 4, leader_score=93.5)
    fill = [person(10 + i, 75) for i in range(3)]      # 5 graded people x 20 % = 1 place
    prio_score = annual_score(prio, {"routine": 0.5, "review": 0.5})[0]
    assert prio_score < 93.5
    out = compute_unit([other, prio] + fill, _seed000_pol(), 2026)
    by = {r.person_id: r for r in out.results}
    assert out.quota["all"]["quota"] == 1
    assert "priority" in by[1].flags and by[1].grade == "youxiu" and by[2].grade == "chenzhi"
    # configurable: as a flag only, the higher score wins as before
    out = compute_unit([other, prio] + fill, _seed000_pol(eligibility__priority_in_selection=False), 2026)
    by = {r.person_id: r for r in out.results}
    assert by[2].grade == "youxiu" and by[1].grade == "chenzhi"


def test_seed_000_criticism_talks_and_the_reminder_talk():
    """70/60/58/80 with the low line 60: criticism talks for quarters 2 and 3 AND the reminder talk."""
    p = PersonInput(1, routine=[(70, "yiban"), (60, "yiban"), (58, "jiaocha"), (80, "jiaohao")], leader_score=70)
    r = compute_unit([p], _seed000_pol(), 2026).results[0]
    assert r.talks == ["criticism_p2", "criticism_p3", "reminder"]
    assert not r.eligible_youxiu
    one_low = PersonInput(2, routine=[(70, "yiban"), (59, "jiaocha"), (75, "yiban"), (80, "jiaohao")])
    assert compute_unit([one_low], _seed000_pol(), 2026).results[0].talks == ["criticism_p2"]
    # the former reading (one talk, the reminder replacing the criticism) stays available
    r = compute_unit([p], _seed000_pol(eligibility__talks_both=False), 2026).results[0]
    assert r.talks == ["reminder"]


def test_routine_not_youxiu_flag_bars_youxiu():
    """The routine slice's "not 优秀 this year" flag reaches the annual selection."""
    a = person(1, 96)
    b = person(2, 90)
    b.routine_no_youxiu = True
    fill = [person(10 + i, 75) for i in range(8)]
    out = compute_unit([b, a] + fill, pol(), 2026)      # 10 people: 2 places
    by = {r.person_id: r for r in out.results}
    assert by[1].grade == "youxiu" and by[2].grade == "chenzhi" and not by[2].eligible_youxiu
    assert any(x["rule"] == "routine_no_youxiu" for x in by[2].rules)
