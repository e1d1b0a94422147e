"""Routine-assessment demo data for the demo township 630122100 (多巴镇):
an indicator library in the seeds' style, schemes for general staff,
service-window staff and police, peer groups, two finalised quarters with
results (so the warning rules and the result pages have history) and the
current quarter open with some records and ratings.  Everything goes
through the services, so the demo obeys the same rules as real use."""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from . import common, completeness, compute, events, indicators, inputs, periods, ratings, schemes
from .models import Period, Scheme

DEMO_UNIT = "630122100"

LIBRARY = [
    # common items of every scheme (seed 000: four standards 优/良/中/差)
    {"code": "political", "name": "政治素质", "name_en": "Political quality", "dimension": "zhengzhi",
     "kind": "graded", "levels": {"you": 10, "liang": 8, "zhong": 6, "cha": 3}},
    {"code": "teamwork", "name": "团结合作", "name_en": "Teamwork", "dimension": "de", "kind": "graded",
     "levels": {"you": 5, "liang": 4, "zhong": 3, "cha": 1}},
    {"code": "execution", "name": "执行能力", "name_en": "Execution", "dimension": "neng", "kind": "graded",
     "levels": {"you": 5, "liang": 4, "zhong": 3, "cha": 1}},
    # seed 003: discipline deductions with a cap, integrity veto
    {"code": "discipline", "name": "工作纪律", "name_en": "Work discipline", "dimension": "qin",
     "kind": "deduction", "max": 5, "per": 1, "cap": 5},
    {"code": "integrity", "name": "廉洁自律（违纪受处分）", "name_en": "Integrity (sanctioned)", "dimension": "lian",
     "kind": "veto", "veto": "zero"},
    {"code": "warning", "name": "受诫勉（等次不高于一般）", "name_en": "Admonished (grade capped)", "dimension": "lian",
     "kind": "veto", "veto": "grade_cap", "cap_grade": "yiban"},
    # business work
    {"code": "key_work", "name": "重点工作", "name_en": "Key tasks", "dimension": "ji", "kind": "scored", "max": 25},
    {"code": "village", "name": "包村工作", "name_en": "Village liaison", "dimension": "ji", "kind": "scored", "max": 15},
    {"code": "window_service", "name": "窗口服务质量", "name_en": "Window service quality", "dimension": "ji",
     "kind": "scored", "max": 15},
    {"code": "satisfaction", "name": "服务对象满意率", "name_en": "Service-recipient satisfaction (%)",
     "dimension": "ji", "kind": "data", "max": 25, "formula": {"type": "ratio", "target": 100}},
    {"code": "cases", "name": "一网考：办案数量", "name_en": "One-net: cases handled", "dimension": "ji",
     "kind": "data", "max": 20, "formula": {"type": "ratio", "target": 25}},
    {"code": "case_quality", "name": "一网考：案件质量", "name_en": "One-net: case quality", "dimension": "ji",
     "kind": "data", "max": 20, "formula": {"type": "threshold", "steps": [[0, 7], [80, 14], [95, 20]]}},
    # comprehensive evaluation and bonuses
    {"code": "evaluation", "name": "综合评议", "name_en": "Comprehensive evaluation", "dimension": "de",
     "kind": "scored", "max": 15},
    {"code": "commendation", "name": "区级以上表彰", "name_en": "Commendation (district or above)",
     "dimension": "ji", "kind": "bonus", "per": 2, "cap": 4},
    {"code": "innovation", "name": "创新工作加分", "name_en": "Innovation bonus", "dimension": "ji", "kind": "bonus",
     "per": 1, "cap": 2},
]

# The province's mandatory common indicators (ZZ 政治素质, ZF 作风建设, LZ 廉洁自律,
# 10 points each, from the qinghai-demo pack) come first: a scheme without
# them cannot be active.
MANDATORY = ["ZZ", "ZF", "LZ"]
COMMON = MANDATORY + ["teamwork", "execution", "discipline", "integrity", "warning"]
EVAL = {"code": "eval", "name": "综合评议", "points": 15, "indicators": ["evaluation"],
        "raters": {"peer": 0.5, "democratic": 0.5}}
EXTRA = {"code": "extra", "name": "加减分", "extra": True, "indicators": ["commendation", "innovation"]}
SCHEMES = [
    {"code": "general", "name": "一般干部平时考核方案", "job_category": "general", "basis": "points", "total": 100,
     "rater_weights": {"supervisor": 0.8, "self": 0.2},
     "sections": [{"code": "common", "name": "公共项目", "points": 45, "indicators": COMMON},
                  {"code": "business", "name": "业务工作", "points": 40, "indicators": ["key_work", "village"]},
                  EVAL, EXTRA]},
    {"code": "window", "name": "窗口服务人员方案", "job_category": "service_window", "basis": "points", "total": 100,
     "rater_weights": {"supervisor": 0.8, "self": 0.2},
     "sections": [{"code": "common", "name": "公共项目", "points": 45, "indicators": COMMON},
                  {"code": "business", "name": "窗口服务", "points": 40, "indicators": ["window_service", "satisfaction"]},
                  EVAL, EXTRA]},
    {"code": "police", "name": "派出所民警方案（一网考）", "job_category": "police", "basis": "points", "total": 100,
     "rater_weights": {"supervisor": 0.8, "self": 0.2},
     "sections": [{"code": "common", "name": "公共项目", "points": 45, "indicators": COMMON},
                  {"code": "business", "name": "执法办案", "points": 40, "indicators": ["cases", "case_quality"]},
                  EVAL, EXTRA]},
]

LEVEL_BY_BAND = [("you", 0.35), ("liang", 0.45), ("zhong", 0.15), ("cha", 0.05)]


def _level(rng) -> str:
    x, acc = rng.random(), 0.0
    for lv, p in LEVEL_BY_BAND:
        acc += p
        if x <= acc:
            return lv
    return "liang"


def build(root_id: int, log=print, today: dt.date | None = None) -> dict:
    """Flush only; the caller commits.  Skips when the unit already has schemes."""
    unit = db.session.execute(select(OrgNode).where(OrgNode.root_id == root_id,
                                                    OrgNode.code == DEMO_UNIT)).scalar_one_or_none()
    if unit is None or db.session.execute(select(Scheme.id).where(Scheme.org_id == unit.id)).first():
        return {}
    rng = random.Random(630122100)
    today = today or common.today()
    for ind in LIBRARY:
        indicators.save_indicator(unit, dict(ind))
    for s in SCHEMES:
        schemes.save_scheme(unit, dict(s))
    people = list(db.session.execute(select(Person).where(Person.unit_id == unit.id, Person.active.is_(True))
                                     .order_by(Person.staff_no)).scalars())
    # A few people work at the service window or the police station.
    staff = [p for p in people if p.position_role == "staff"]
    for p in staff[1::7]:
        p.job_category = "service_window"
    for p in staff[3::11]:
        p.job_category = "police"
    db.session.flush()
    # Peer groups across related departments (seed 000).
    depts = sorted({p.org_id for p in people if p.org_id != unit.id})
    groups = [depts[i:i + 2] for i in range(0, len(depts), 2)]
    names = ["党群互评组", "民生互评组", "经济互评组", "综合互评组", "平安互评组"]
    for i, ds in enumerate(groups):
        members = [p.id for p in people if p.org_id in ds and p.position_role == "staff"]
        if len(members) >= 2:
            schemes.save_peer_group(unit, names[i % len(names)] + ("" if i < len(names) else str(i)), members)
    # Two finished quarters and the current one.
    q_now = (today.month - 1) // 3 + 1
    quarters = []
    y, q = today.year, q_now
    for _ in range(2):
        y, q = (y, q - 1) if q > 1 else (y - 1, 4)
        quarters.append((y, q))
    quarters.reverse()
    for y, q in quarters:
        _finished_quarter(unit, y, q, rng)
    current = periods.create_period(unit, today.year, q_now, "quarter")
    periods.transition(current, "open")
    _activity(unit, current, rng, today, share=0.5)
    log(f"  routine: {len(people)} people in {DEMO_UNIT}, quarters {quarters} final, {current.label} open")
    return {"unit": unit.id, "current_period": current.id}


def _finished_quarter(unit: OrgNode, year: int, q: int, rng) -> Period:
    period = periods.create_period(unit, year, q, "quarter")
    periods.transition(period, "open", on=period.starts_on)
    _activity(unit, period, rng, period.ends_on, share=1.0)
    periods.transition(period, "rating", on=period.ends_on)
    for row in inputs.input_status(period):   # nobody may rate them (e.g. no peer and no democratic raters)
        inputs.exempt(period, row["person_id"], "演示数据：无可评价人员 (demo: nobody can rate this item)")
    periods.transition(period, "review", on=period.ends_on)
    compute.compute_period(period)
    for tie in (period.compute_summary or {}).get("ties", []):
        if not tie.get("resolved"):
            chosen = sorted(tie["candidates"])[:tie["slots"]]
            compute.resolve_tie(period, tie["group"], chosen, "演示数据：按平时表现排序（demo: decided by the office)")
    published_on = period.ends_on + dt.timedelta(days=7)
    periods.transition(period, "publicised", on=published_on)
    periods.transition(period, "final", on=period.publicity_until + dt.timedelta(days=1))
    return period


def _activity(unit: OrgNode, period: Period, rng, until: dt.date, share: float) -> None:
    """Work records, ratings, events and data for a share of the roster."""
    from .models import Metric, WorkRecord  # noqa: F401

    parts = periods.participants(period)
    idx = periods.relation_index(period, parts)
    by_id = {p.id: p for p in db.session.execute(select(Person).where(Person.unit_id == unit.id)).scalars()}
    months = sorted(m for m in completeness.months_so_far(period) if m <= until)
    record_rows = []
    for p in parts:
        if rng.random() > share:
            continue
        for m in months:
            record_rows.append(WorkRecord(
                root_id=unit.root_id, org_id=p.org_id, period_id=period.id, person_id=p.person_id, kind="monthly",
                on_date=m, plan=rng.choice(["推进重点项目", "完成包村走访", "整理档案资料", "筹备季度会议"]),
                done=rng.choice(["按计划完成，并形成工作台账。", "完成走访12户，收集问题5条已反馈。",
                                 "完成资料归档和信息报送。", "会议筹备完成，纪要已印发。"])))
    db.session.add_all(record_rows)
    db.session.flush()
    # ratings: supervisors and self for `share` of people; peers sometimes
    for rater_id in idx.people:
        rater = by_id[rater_id]
        for ratee_id, kind in idx.ratees_of(rater_id):
            if kind == "democratic" and share < 1 and rng.random() > 0.6 * share:
                continue
            if kind == "peer" and share < 1 and rng.random() > 0.5 * share:
                continue
            if kind in ("supervisor", "self") and rng.random() > share:
                continue
            part = next(x for x in parts if x.person_id == ratee_id)
            scores = {}
            for ind in periods.rated_indicators(period, part, kind):
                if ind["kind"] == "graded":
                    scores[ind["code"]] = _level(rng) if kind != "self" else rng.choice(["you", "you", "liang"])
                else:
                    hi = float(ind["max"])
                    scores[ind["code"]] = round(hi * rng.uniform(0.72 if kind != "self" else 0.85, 1.0) * 2) / 2
            ratings.submit_rating(period, rater.id, ratee_id, kind, scores,
                                  comment="工作认真负责，继续保持。" if kind == "supervisor" and rng.random() < 0.4 else None,
                                  idx=idx)
    # some deductions and bonuses with evidence
    staff_parts = [p for p in parts if p.position_role == "staff"]
    for p in rng.sample(staff_parts, min(4, len(staff_parts))):
        day = period.starts_on + dt.timedelta(days=rng.randint(3, 50))
        if day <= until:
            events.record_event(period, p.person_id, "discipline", day, "考勤抽查：上班时间脱岗一次（抽查记录表）")
    for p in rng.sample(staff_parts, min(2, len(staff_parts))):
        day = period.starts_on + dt.timedelta(days=rng.randint(10, 60))
        if day <= until:
            events.record_event(period, p.person_id, "commendation", day, "获区级表彰（表彰文件）")
    # data-fed values (satisfaction from the window system, one-net case data)
    rows = []
    for p in parts:
        if p.scheme_code == "window":
            rows.append({"person_id": p.person_id, "indicator_code": "satisfaction", "value": rng.randint(82, 100)})
        elif p.scheme_code == "police":
            rows.append({"person_id": p.person_id, "indicator_code": "cases", "value": rng.randint(12, 30)})
            rows.append({"person_id": p.person_id, "indicator_code": "case_quality", "value": rng.randint(75, 99)})
    if rows:
        events.import_metrics(period, rows, "演示数据 demo import", amendment=period.state not in periods.EVENT_STATES)
