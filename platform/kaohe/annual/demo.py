"""Annual-assessment demo data: last year's assessment finished in every
unit (computed, committee decisions on ties, confirmed, 公示, notices mostly
acknowledged, filed; one 不称职 with a review decided and an appeal pending
at the county) and this year's in progress (reviews and self-summaries
coming in, special assessments, records; the first township computed and
waiting for its committee).  Called once by ``kaohe.demo.build_demo``."""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import insert, select

from ..core.clock import local_today
from ..core.db import utcnow
from ..extensions import db
from ..people.models import Person
from ..routine.feed import counting_periods
from ..tenancy.models import OrgNode
from . import appeals, engine, service
from .models import (AnnualAdjustment, AnnualLeave, AnnualOutcome, AnnualRecord, AnnualResult, AnnualReview, AnnualSummary,
                     RoutineImport, SpecialCampaign, SpecialResult)

SUMMARY = ("本年度认真履行岗位职责，按时完成重点任务：牵头推进辖区项目落地，参与防汛值守和人居环境整治，"
           "坚持学习，遵守纪律。不足之处是统筹协调能力仍需提高，明年将进一步改进工作方法。")


def _routine_rows(rng, root_id, people, year):
    rows = []
    for p in people:
        base = rng.gauss(85, 6)
        for q in range(1, 5):
            s = round(min(99.0, max(45.0, rng.gauss(base, 4))), 1)
            g = "hao" if s >= 90 else "jiaohao" if s >= 80 else "yiban" if s >= 60 else "jiaocha"
            rows.append({"root_id": root_id, "org_id": p.unit_id, "person_id": p.id, "year": year, "period_no": q,
                         "score": s, "grade": g})
    return rows


def _reviews(rng, a_by_unit, people, share=1.0):
    rows = []
    for p in people:
        if rng.random() > share:
            continue
        a = a_by_unit[p.unit_id]
        votes = (rng.randint(8, 20), rng.randint(5, 15), rng.randint(0, 2), 0) if p.position_role == "dept_head" \
            else (0, 0, 0, 0)
        rows.append({"root_id": p.root_id, "org_id": p.unit_id, "assessment_id": a.id, "person_id": p.id,
                     "leader_score": round(min(99.0, max(50.0, rng.gauss(85, 6))), 1), "reviewer": "demo",
                     "votes_youxiu": votes[0], "votes_chenzhi": votes[1], "votes_jibenchenzhi": votes[2],
                     "votes_buchenzhi": votes[3], "version": 1, "updated_at": utcnow()})
    return rows


def _units_with_routine(root_id: int, year: int) -> set[int]:
    """Units whose routine periods of ``year`` already carry results (the routine demo)."""
    return set(counting_periods(db.session.connection(), root_id, year))


def build(root_id: int, log=print, today: dt.date | None = None) -> dict:
    today = today or local_today()
    year, prev = today.year, today.year - 1
    rng = random.Random(5)
    units = list(db.session.execute(select(OrgNode).where(
        OrgNode.root_id == root_id, OrgNode.is_assessment_unit.is_(True)).order_by(OrgNode.path)).scalars())
    if not units:
        return {}
    people = list(db.session.execute(select(Person).where(Person.root_id == root_id, Person.active.is_(True))
                                     .order_by(Person.unit_id, Person.staff_no)).scalars())
    # -- last year: inputs --------------------------------------------------------
    db.session.execute(insert(RoutineImport), _routine_rows(rng, root_id, people, prev))
    covered = _units_with_routine(root_id, year)
    rest = [p for p in people if p.unit_id not in covered]
    if rest:   # this year's quarters so far, for the units the routine demo does not cover
        db.session.execute(insert(RoutineImport), [r for r in _routine_rows(rng, root_id, rest, year)
                                                   if r["period_no"] <= 3])
    prev_a = engine.ensure_assessments(units, prev)
    cur_a = engine.ensure_assessments(units, year)
    db.session.execute(insert(AnnualReview), _reviews(rng, prev_a, people))
    by_unit: dict[int, list[Person]] = {}
    for p in people:
        by_unit.setdefault(p.unit_id, []).append(p)
    staff = [p for p in people if p.position_role == "staff"]
    records = []
    picks = rng.sample(staff, min(len(staff), 6))
    if len(picks) >= 6:
        records += [
            {"person_id": picks[0].id, "unit": picks[0].unit_id, "kind": "sanction", "year": prev, "sanction_kind": "jinggao",
             "start_date": dt.date(prev, 4, 10), "note": "违反工作纪律"},
            {"person_id": picks[2].id, "unit": picks[2].unit_id, "kind": "sanction", "year": prev, "sanction_kind": "jidaguo",
             "start_date": dt.date(prev, 9, 1), "note": "记大过，影响本年及次年"},
            {"person_id": picks[3].id, "unit": picks[3].unit_id, "kind": "investigation", "year": year,
             "start_date": dt.date(year, 6, 15), "note": "立案审查中"},
            {"person_id": picks[4].id, "unit": picks[4].unit_id, "kind": "sanction", "year": year, "sanction_kind": "jiechen",
             "start_date": dt.date(year, 5, 20), "note": "诫勉"},
        ]
    if len(picks) >= 6:     # leave as date ranges: long sick leave last year (6A), a month's personal leave this year
        db.session.execute(insert(AnnualLeave), [
            {"root_id": root_id, "org_id": p.unit_id, "person_id": p.id, "year": y, "start_date": s, "end_date": e,
             "kind": k, "note": n, "created_by": "demo", "version": 1, "created_at": utcnow()}
            for p, y, s, e, k, n in ((picks[1], prev, dt.date(prev, 3, 1), dt.date(prev, 9, 26), "sick", "病假"),
                                     (picks[5], year, dt.date(year, 7, 1), dt.date(year, 8, 9), "personal", "事假"))])
    if records:
        db.session.execute(insert(AnnualRecord), [
            {"root_id": root_id, "org_id": r.pop("unit"), "created_by": "demo", "version": 1, "created_at": utcnow(),
             "sanction_kind": r.pop("sanction_kind", None), "days": r.pop("days", None), **r} for r in records])
    # Special assessments run by a county: flood duty last year, village work team this year.
    counties = list(db.session.execute(select(OrgNode).where(OrgNode.root_id == root_id, OrgNode.kind == "county")
                                       .order_by(OrgNode.path)).scalars())
    for k in counties[:2]:
        under = [p for p in people if p.unit_id in {u.id for u in units if u.path.startswith(k.path)}]
        if not under:
            continue
        for y, name, kind, rtype in ((prev, "防汛抢险专项考核", "flood", "points"),
                                     (year, "驻村工作队专项考核", "village_team", "grade")):
            c = SpecialCampaign(root_id=root_id, org_id=k.id, year=y, name=name, kind=kind, result_type=rtype,
                                starts_on=dt.date(y, 6, 1), ends_on=dt.date(y, 10, 31),
                                status="closed" if y == prev else "open", created_by="demo")
            db.session.add(c)
            db.session.flush()
            rows = []
            for p in rng.sample(under, min(len(under), 12)):
                if rtype == "points":
                    rows.append({"root_id": root_id, "org_id": k.id, "campaign_id": c.id, "person_id": p.id, "year": y,
                                 "points": rng.choice([-5, 5, 10, 15, 20]), "comment": None, "version": 1})
                else:
                    rows.append({"root_id": root_id, "org_id": k.id, "campaign_id": c.id, "person_id": p.id, "year": y,
                                 "grade": rng.choice(["hao", "hao", "jiaohao", "yiban"]), "version": 1})
            db.session.execute(insert(SpecialResult), rows)
    # -- last year: the whole procedure ------------------------------------------------
    engine.compute(units, prev, actor="demo")
    finished = 0
    for u in units:
        a = prev_a[u.id]
        db.session.refresh(a)
        results = service.current_results(a)
        for r in results:
            if "tie_at_line" in (r.flags or []):
                q = (a.quota or {}).get((r.explain or {}).get("components", {}).get("quota_pool", "all"), {})
                open_places = q.get("open_places", 0)
                grade = "youxiu" if open_places > 0 and sum(
                    1 for x in service.adjustments(a).values() if x.grade == "youxiu") < open_places else "chenzhi"
                service.adjust(a, r.person_id, grade, "考核委员会表决决定（名额线并列）")
        # make the demo's first unit show a 不称职 case
        service.confirm(a)
        with service.as_of(dt.date(prev + 1, 1, 5)):        # last year's history: acts on their own days
            service.publish(a)
        with service.as_of(a.publicity_end + dt.timedelta(days=1)):
            service.notify(a)
        finished += 1
    outs = list(db.session.execute(select(AnnualOutcome).where(AnnualOutcome.root_id == root_id,
                                                               AnnualOutcome.year == prev)).scalars())
    for o in outs:
        if rng.random() < 0.85:
            o.acknowledged_at = utcnow()
    first = next((u for u in units if u.code == "630122100"), units[0])   # the demo's township (多巴镇)
    target = next((o for o in outs if o.org_id == first.id and o.grade == "chenzhi"), None)
    if target is not None:
        # The committee graded one person 不称职 after the integrity check; they asked for a review
        # (upheld) and then appealed to the county, where the case is pending.
        target.grade, target.code, target.adjusted = "buchenzhi", "4", True
        target.reason = "年度内多次无故缺勤，经考核委员会研究确定为不称职"
        service.reallocate_pay(prev_a[first.id])
        notice = target.notice_on
        ap = appeals.file_review(target, "缺勤系照顾住院家属，已补办请假手续，请求复核", filed_on=notice + dt.timedelta(days=10))
        appeals.decide_appeal(ap, decision="upheld", note="经复核，补办手续不能改变缺勤事实，维持原决定",
                              decided_on=notice + dt.timedelta(days=25))
        appeals.file_appeal(target, "对复核决定不服，向上一级申诉：请假已获分管领导口头同意",
                            filed_on=notice + dt.timedelta(days=30))
    for u in units:
        if u.id != first.id:
            with service.as_of(prev_a[u.id].notified_on + dt.timedelta(days=60)):   # windows closed
                service.file_with_above(prev_a[u.id])
    # -- this year: in progress ------------------------------------------------------------
    db.session.execute(insert(AnnualReview), _reviews(rng, cur_a, people, share=0.6))
    sums = [{"root_id": p.root_id, "org_id": p.unit_id, "assessment_id": cur_a[p.unit_id].id, "person_id": p.id,
             "text": SUMMARY, "submitted_at": utcnow() if rng.random() < 0.7 else None, "version": 1}
            for p in people if rng.random() < 0.5]
    if sums:
        db.session.execute(insert(AnnualSummary), sums)
    engine.compute([first], year, actor="demo")
    db.session.flush()
    log(f"  annual: {prev} finished in {finished} units ({len(outs)} people), {year} in progress")
    return {"finished": finished, "outcomes": len(outs)}
