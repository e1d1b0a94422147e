"""Business operations of the annual assessment of a unit, from opening to
filing: the organisational grade, the committee's adjustments, confirmation
(outcomes and pay), 公示, notices and filing; and one person's history.
Each validates, changes, writes its audit entry and flushes; the caller
commits once.  The year's inputs are in ``records`` and ``specials``, cases
in ``appeals``, talks in ``talks``."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Sequence

from sqlalchemy import select, update

from ..web.messages import N_, register_templates
from ..core.clock import local_today
from ..audit.service import current_actor, record
from ..core.db import utcnow
from ..core.errors import Conflict, Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from .calc.codes import GRADE_CODE, GRADES, RULE_LABELS, STATUS_LABELS
from .calc.counters import counters
from .calc.pay import allocate_pay
from .deadlines import WorkCalendar
from .deadlines import appeal_deadlines
from .history import career_grades
from .models import AnnualAdjustment, AnnualAppeal, AnnualAssessment, AnnualOutcome, AnnualResult
from .policy import DEFAULTS, policy_for

# parametrised messages: pages recognise them in their formatted form and translate them
register_templates(
    N_("%(n)s people are tied at the quota line; the committee must decide each of them "
       "(Excellent or Competent) with a reason before confirming."),
    N_("%(n)s people graded Excellent exceed the quota of %(quota)s."),
    N_("The public notice runs until %(end)s (%(n)s working days); notices may go out from the next day."),
)
# a step refused at the wrong stage: the stage shown as its label in the reader's language
M_STAGE = N_("Cannot %(what)s now: the assessment is at the stage %(state)s.")
register_templates(M_STAGE, words={"state": STATUS_LABELS})
M_ACT_DATE = N_("The date of %(what)s is the day it is done, today %(today)s (%(given)s was given); "
                "it cannot be back-dated or set in the future.")
M_OPEN_CASES = N_("%(n)s review/appeal windows or cases are still open (the last until %(until)s); file after "
                  "they have closed or been decided, or record a decision to file with open cases, with its reason.")
register_templates(M_ACT_DATE, M_OPEN_CASES)

ORDER = ("open", "computed", "confirmed", "publicised", "notified", "filed")


_AS_OF: list[dt.date] = []      # set only by ``as_of`` (code, never a request)


def today() -> dt.date:
    """The date of every official act (公示, notice, filing, case decisions):
    the server's today in ``KAOHE_TIMEZONE`` (``kaohe.core.clock``).  No page,
    API or CLI argument can set it; only code can (``as_of``: the demo building
    last year's history, and tests moving the clock)."""
    return _AS_OF[-1] if _AS_OF else local_today()


@contextmanager
def as_of(day: dt.date):
    """Run official acts as if today were ``day`` -- process-wide, for the demo
    data and tests only (a live test server runs in another thread)."""
    _AS_OF.append(day)
    try:
        yield
    finally:
        _AS_OF.pop()


def _act_date(field: str, given, what: str) -> dt.date:
    """Today; a date typed by the user is accepted only when it is today (an
    official act is never back-dated nor dated in the future)."""
    now = today()
    if given not in (None, "") and given != now:
        raise Invalid({field: [M_ACT_DATE % {"what": what, "today": now.isoformat(),
                                             "given": given.isoformat() if hasattr(given, "isoformat") else given}]})
    return now


def actor_name() -> str:
    return current_actor().name


def _check_version(obj, expected_version):
    if expected_version is not None and int(expected_version) != obj.version:
        raise Conflict({"version": [f"Changed by someone else (now version {obj.version}); reload."]})


def get_or_open(unit: OrgNode, year: int) -> AnnualAssessment:
    if not unit.is_assessment_unit:
        raise Invalid({"org": [N_("This node is not an assessment unit.")]})
    if not 2000 <= int(year) <= 2100:
        raise Invalid({"year": [N_("Year out of range.")]})
    a = db.session.execute(select(AnnualAssessment).where(
        AnnualAssessment.root_id == unit.root_id, AnnualAssessment.org_id == unit.id,
        AnnualAssessment.year == year)).scalar_one_or_none()
    if a is None:
        a = AnnualAssessment(root_id=unit.root_id, org_id=unit.id, year=year, status="open")
        db.session.add(a)
        db.session.flush()
        record("annual.open", root_id=unit.root_id, org_id=unit.id, target_type="annual_assessment",
               target_id=a.id, after={"year": year})
    return a


def find(unit: OrgNode, year: int) -> AnnualAssessment | None:
    return db.session.execute(select(AnnualAssessment).where(
        AnnualAssessment.root_id == unit.root_id, AnnualAssessment.org_id == unit.id,
        AnnualAssessment.year == year)).scalar_one_or_none()


def policy(a: AnnualAssessment) -> dict:
    if a.policy:
        return {**DEFAULTS, **a.policy}
    unit = db.session.get(OrgNode, a.org_id)
    return policy_for(unit, a.year)


def calendar(a: AnnualAssessment) -> WorkCalendar:
    return WorkCalendar.from_policy(policy(a))


def _require_status(a: AnnualAssessment, allowed: Sequence[str], what: str):
    """``what`` is a catalog msgid (N_ at the call), so pages show the whole refusal translated."""
    if a.status not in allowed:
        state = STATUS_LABELS.get(a.status, (a.status, a.status))[1]
        raise Invalid({"status": [M_STAGE % {"what": what, "state": state}]})


def set_org_grade(a: AnnualAssessment, grade: str | None, major: bool, expected_version=None) -> None:
    _check_version(a, expected_version)
    _require_status(a, ("open", "computed"), N_("change the organisational grade"))
    if grade not in (None, "", "youxiu", "lianghao", "yiban", "jiaocha"):
        raise Invalid({"org_grade": [N_("Unknown organisational-performance grade.")]})
    before = {"org_grade": a.org_grade, "major_contribution": a.major_contribution}
    a.org_grade, a.major_contribution = (grade or None), bool(major)
    record("annual.org_grade", root_id=a.root_id, org_id=a.org_id, target_type="annual_assessment",
           target_id=a.id, before=before, after={"org_grade": a.org_grade, "major_contribution": a.major_contribution})
    db.session.flush()


# -- results -----------------------------------------------------------------------

def current_results(a: AnnualAssessment) -> list[AnnualResult]:
    if a.current_run_id is None:
        return []
    return list(db.session.execute(select(AnnualResult).where(
        AnnualResult.root_id == a.root_id, AnnualResult.run_id == a.current_run_id)
        .order_by(AnnualResult.rank.is_(None), AnnualResult.rank, AnnualResult.person_id)).scalars())


def adjustments(a: AnnualAssessment) -> dict[int, AnnualAdjustment]:
    return {x.person_id: x for x in db.session.execute(select(AnnualAdjustment).where(
        AnnualAdjustment.root_id == a.root_id, AnnualAdjustment.assessment_id == a.id)).scalars()}


def adjust(a: AnnualAssessment, person_id: int, grade: str, reason: str) -> AnnualAdjustment:
    """The committee's (or head's) decision on one person, with its reason."""
    _require_status(a, ("computed",), N_("adjust grades"))
    reason = (reason or "").strip()
    errors = {}
    if grade not in GRADES:
        errors["grade"] = [N_("Choose Excellent, Competent, Basically competent or Incompetent.")]
    if len(reason) < 4:
        errors["reason"] = ["A reason is required for every adjustment (at least 4 characters)."]
    if errors:
        raise Invalid(errors)
    res = db.session.execute(select(AnnualResult).where(
        AnnualResult.root_id == a.root_id, AnnualResult.run_id == a.current_run_id,
        AnnualResult.person_id == person_id)).scalar_one_or_none()
    if res is None:
        raise Invalid({"person_id": [N_("This person has no result in the current computation.")]})
    if res.grade is None and res.code != "4":
        raise Invalid({"grade": [f"Result code {res.code} carries no grade this year; change the record instead."]})
    if grade == "youxiu" and not res.eligible_youxiu:
        rules = [r["rule"] for r in (res.explain or {}).get("rules", [])
                 if r.get("effect") in ("not_youxiu", "4", "5A", "5B", "5C", "6A")]
        # the rule named, each in words (catalog msgids, so pages show them translated)
        raise Invalid({"grade": [N_("Not eligible for Excellent this year.")]
                       + [RULE_LABELS[r][1] if r in RULE_LABELS else r for r in rules]})
    existing = adjustments(a).get(person_id)
    before = {"grade": existing.grade if existing else res.grade}
    if existing is None:
        existing = AnnualAdjustment(root_id=a.root_id, org_id=a.org_id, assessment_id=a.id, person_id=person_id,
                                    grade=grade, reason=reason, decided_by=actor_name())
        db.session.add(existing)
    else:
        existing.grade, existing.reason, existing.decided_by = grade, reason, actor_name()
    db.session.flush()
    record("annual.grade.adjust", root_id=a.root_id, org_id=a.org_id, target_type="person", target_id=person_id,
           before=before, after={"grade": grade, "computed": res.grade}, reason=reason)
    return existing


def stale_adjustment(r: AnnualResult, x: AnnualAdjustment | None) -> bool:
    """An adjustment decided on an earlier computation that no longer applies:
    the person's current result carries no grade (no complete inputs, or a
    record that gives no grade -- code 5*/6*/7), or it makes 优秀 someone who is
    no longer eligible.  A grade is never given from incomplete inputs."""
    if x is None:
        return False
    if r.grade is None and r.code != "4":
        return True
    return x.grade == "youxiu" and not r.eligible_youxiu


def final_grades(a: AnnualAssessment, results: list[AnnualResult] | None = None) -> list[dict]:
    results = current_results(a) if results is None else results
    adj = adjustments(a)
    out = []
    for r in results:
        x = adj.get(r.person_id)
        if stale_adjustment(r, x):
            x = None
        grade = x.grade if x else r.grade
        code = GRADE_CODE[grade] if grade else r.code
        out.append({"person_id": r.person_id, "score": r.score, "computed_grade": r.grade, "grade": grade,
                    "code": code, "adjusted": x is not None and x.grade != r.grade, "reason": x.reason if x else None,
                    "flags": r.flags or [], "rank_group": r.rank_group})
    return out


def confirm(a: AnnualAssessment, expected_version=None) -> dict:
    """The committee confirms: quota and ties checked, outcomes and pay written."""
    _check_version(a, expected_version)
    _require_status(a, ("computed",), N_("confirm"))
    results = current_results(a)
    finals = final_grades(a, results)
    adj = adjustments(a)
    undecided = [f["person_id"] for f in finals if "tie_at_line" in f["flags"] and f["person_id"] not in adj]
    if undecided:
        raise Invalid({"ties": [N_("%(n)s people are tied at the quota line; the committee must decide each of them "
                                   "(Excellent or Competent) with a reason before confirming.") % {"n": len(undecided)}]})
    stale = sorted(r.person_id for r in results if stale_adjustment(r, adj.get(r.person_id)))
    quota = a.quota or {}
    for pool, info in quota.items():
        members = [f for f in finals if pool == "all" or (f["rank_group"] == "leader") == (pool == "leader")]
        n = sum(1 for f in members if f["grade"] == "youxiu")
        if n > int(info.get("quota", 0)):
            raise Invalid({"quota": [N_("%(n)s people graded Excellent exceed the quota of %(quota)s.")
                                          % {"n": n, "quota": info.get('quota')}]})
    pol = policy(a)
    cents, pay_explain = allocate_pay(finals, pol)
    O = AnnualOutcome.__table__
    rows = [{"root_id": a.root_id, "org_id": a.org_id, "assessment_id": a.id, "person_id": f["person_id"],
             "year": a.year, "score": f["score"], "computed_grade": f["computed_grade"], "grade": f["grade"],
             "code": f["code"], "adjusted": f["adjusted"], "reason": f["reason"], "pay_cents": c,
             "changed_by_appeal": False, "version": 1} for f, c in zip(finals, cents)]
    if a.corrections:
        _confirm_correction(a, rows)
    else:
        db.session.execute(O.delete().where(O.c.root_id == a.root_id, O.c.assessment_id == a.id))
        if rows:
            db.session.execute(O.insert(), rows)
    a.status, a.confirmed_at, a.confirmed_by = "confirmed", utcnow(), actor_name()
    counts = {g: sum(1 for f in finals if f["grade"] == g) for g in GRADES}
    record("annual.confirm", root_id=a.root_id, org_id=a.org_id, target_type="annual_assessment", target_id=a.id,
           after={"counts": counts, "run": a.current_run_id, "pay": pay_explain,
                  "adjusted": sum(1 for f in finals if f["adjusted"]),
                  # adjustments of an earlier computation that no longer apply (not used)
                  "adjustments_not_applied": stale,
                  # every outcome's after-state [score, grade, pay], for `kaohe audit reconcile`
                  "audited": {str(r["person_id"]): [r["score"], r["grade"], r["pay_cents"]] for r in rows}})
    db.session.flush()
    return {"counts": counts, "pay": pay_explain}


def _confirm_correction(a: AnnualAssessment, rows: list[dict]) -> None:
    """A correction (补定) round: the outcomes that were notified stay (with
    their cases); each changed person's grade, code, score and pay is
    updated with an audit entry, and every outcome waits for the new notice
    (its review/appeal windows restart from it)."""
    have = {o.person_id: o for o in outcomes(a)}
    for r in rows:
        o = have.pop(r["person_id"], None)
        if o is None:
            o = AnnualOutcome(**{k: v for k, v in r.items() if k != "version"})
            db.session.add(o)
            record("annual.grade.correct", root_id=a.root_id, org_id=a.org_id, target_type="person",
                   target_id=r["person_id"], before=None,
                   after={"grade": r["grade"], "code": r["code"], "score": r["score"], "pay_cents": r["pay_cents"],
                          "assessment_id": a.id},
                   reason=f"补定 {a.corrections}")
            continue
        before = {"grade": o.grade, "code": o.code, "score": o.score, "pay_cents": o.pay_cents}
        after = {"grade": r["grade"], "code": r["code"], "score": r["score"], "pay_cents": r["pay_cents"]}
        if before != after:
            record("annual.grade.correct", root_id=a.root_id, org_id=a.org_id, target_type="person",
                   target_id=o.person_id, before=before, after={**after, "assessment_id": a.id},
                   reason=f"补定 {a.corrections}")
        for k in ("score", "computed_grade", "grade", "code", "adjusted", "reason", "pay_cents"):
            setattr(o, k, r[k])
        o.notice_on, o.acknowledged_at = None, None
    for o in have.values():         # no longer in the computation: kept, flagged for the new notice
        o.notice_on, o.acknowledged_at = None, None


def correct(a: AnnualAssessment, reason: str, expected_version=None) -> None:
    """补定 after the written notice (or after filing): reopen with a reason;
    then adjust or recompute, confirm, publish, a new notice (the review and
    appeal windows restart from it) and file again.  Audited; the level above
    sees the corrections on its list."""
    _check_version(a, expected_version)
    _require_status(a, ("notified", "filed"), N_("correct the result"))
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise Invalid({"reason": [N_("A reason is required for a correction, at least 4 characters.")]})
    before = {"status": a.status, "notified_on": a.notified_on, "filed": a.filed_at is not None}
    a.corrections = (a.corrections or 0) + 1
    a.status = "computed"
    a.publicity_start = a.publicity_end = a.notified_on = None
    a.filed_at = a.filed_by = a.filed_open_reason = None
    a.filed_open_cases = None
    record("annual.correct", root_id=a.root_id, org_id=a.org_id, target_type="annual_assessment", target_id=a.id,
           before=before, after={"correction": a.corrections, "on": today()}, reason=reason)
    db.session.flush()


def correction_entries(assessment_ids) -> list:
    """The audit entries of the corrections (补定) of these assessments, newest first (one query)."""
    from ..audit.models import AuditEntry

    ids = [str(i) for i in assessment_ids]
    if not ids:
        return []
    return list(db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "annual.correct", AuditEntry.target_type == "annual_assessment",
        AuditEntry.target_id.in_(ids)).order_by(AuditEntry.id.desc())).scalars())


def reopen(a: AnnualAssessment, reason: str) -> None:
    _require_status(a, ("confirmed",), N_("reopen"))
    if len((reason or "").strip()) < 4:
        raise Invalid({"reason": [N_("A reason is required to reopen a confirmed result.")]})
    if not a.corrections:      # in a correction round the notified outcomes (and their cases) stay
        O = AnnualOutcome.__table__
        db.session.execute(O.delete().where(O.c.root_id == a.root_id, O.c.assessment_id == a.id))
    a.status = "computed"
    record("annual.reopen", root_id=a.root_id, org_id=a.org_id, target_type="annual_assessment", target_id=a.id,
           reason=reason)
    db.session.flush()


def publish(a: AnnualAssessment, start: dt.date | None = None) -> None:
    """公示 of the 优秀 list for at least the policy's working days."""
    _require_status(a, ("confirmed",), N_("publish"))
    start = _act_date("start", start, N_("the public notice"))
    pol = policy(a)
    n = int(pol.get("annual.publicity_working_days", 5))
    cal = WorkCalendar.from_policy(pol)
    a.publicity_start = cal.next_workday(start)
    a.publicity_end = cal.add_working_days(start, n)
    a.status = "publicised"
    record("annual.publicise", root_id=a.root_id, org_id=a.org_id, target_type="annual_assessment", target_id=a.id,
           after={"from": a.publicity_start, "until": a.publicity_end, "working_days": n})
    db.session.flush()


def notify(a: AnnualAssessment, on: dt.date | None = None) -> int:
    """Written notice to everyone once the 公示 window is over."""
    _require_status(a, ("publicised",), N_("send notices"))
    on = _act_date("notice_on", on, N_("the written notice"))
    if a.publicity_end is None or on <= a.publicity_end:
        raise Invalid({"notice_on": [N_("The public notice runs until %(end)s (%(n)s working days); notices may go "
                                        "out from the next day.") % {
            "end": a.publicity_end.isoformat() if a.publicity_end else "—",
            "n": policy(a).get("annual.publicity_working_days", 5)}]})
    O = AnnualOutcome.__table__
    n = db.session.execute(update(O).where(O.c.root_id == a.root_id, O.c.assessment_id == a.id)
                           .values(notice_on=on, version=O.c.version + 1)).rowcount
    for obj in list(db.session.identity_map.values()):     # loaded outcomes see the notice
        if isinstance(obj, AnnualOutcome) and obj.assessment_id == a.id:
            db.session.expire(obj)
    a.status, a.notified_on = "notified", on
    record("annual.notify", root_id=a.root_id, org_id=a.org_id, target_type="annual_assessment", target_id=a.id,
           after={"notice_on": on, "people": n})
    db.session.flush()
    return n


def acknowledge(o: AnnualOutcome) -> None:
    if o.notice_on is None:
        raise Invalid({"notice": [N_("No written notice has been issued yet.")]})
    if o.acknowledged_at is None:
        o.acknowledged_at = utcnow()
        record("annual.acknowledge", root_id=o.root_id, org_id=o.org_id, target_type="annual_outcome",
               target_id=o.id, after={"grade": o.grade, "code": o.code})
        db.session.flush()


def open_windows(a: AnnualAssessment, on: dt.date | None = None) -> list[dict]:
    """The review/appeal windows and cases of the unit's outcomes still open
    on ``on``: a pending case, or an appealable result whose review or appeal
    period has not run out.  [{"outcome_id", "person_id", "what", "until"}]"""
    on = on or today()
    pol = policy(a)
    appealable = set(pol.get("appeal.appealable_grades") or ["buchenzhi"])
    cal = WorkCalendar.from_policy(pol)
    cases: dict[int, list[AnnualAppeal]] = {}
    for ap in db.session.execute(select(AnnualAppeal).join(
            AnnualOutcome, (AnnualOutcome.id == AnnualAppeal.outcome_id) & (AnnualOutcome.root_id == AnnualAppeal.root_id))
            .where(AnnualAppeal.root_id == a.root_id, AnnualOutcome.assessment_id == a.id)
            .order_by(AnnualAppeal.id)).scalars():
        cases.setdefault(ap.outcome_id, []).append(ap)
    out = []
    for o in outcomes(a):
        mine = cases.get(o.id, [])
        pending = [c for c in mine if c.status == "pending"]
        if pending:
            out.append({"outcome_id": o.id, "person_id": o.person_id, "what": f"{pending[-1].stage} pending",
                        "until": pending[-1].decide_by})
            continue
        if o.notice_on is None or o.grade not in appealable:
            continue
        mine = [c for c in mine if c.filed_on >= o.notice_on]     # a new notice restarts the windows
        last = mine[-1] if mine else None
        if last is None:
            d = appeal_deadlines(cal, pol, notice_on=o.notice_on)
            until, what = max(d["review_apply_by"], d["direct_appeal_by"]), "review/appeal window"
        elif last.stage == "review":
            until = appeal_deadlines(cal, pol, review_decided_on=last.decided_on)["appeal_after_review_by"]
            what = "appeal window after the review"
        else:
            continue        # an appeal to the level above has been decided: nothing is open
        if on <= until:
            out.append({"outcome_id": o.id, "person_id": o.person_id, "what": what, "until": until})
    return out


def file_with_above(a: AnnualAssessment, open_cases_reason: str | None = None) -> None:
    """备案 with the level above, on today's date, once every review/appeal
    window has closed or its case is decided -- or by a recorded decision to
    file with open cases (the reason is audited; the filing is updated as
    those cases close)."""
    _require_status(a, ("notified",), N_("file the result"))
    now = today()
    windows = open_windows(a, now)
    reason = (open_cases_reason or "").strip()
    if windows and len(reason) < 4:
        last = max(w["until"] for w in windows)
        raise Invalid({"filing": [M_OPEN_CASES % {"n": len(windows), "until": last.isoformat()}]})
    a.status, a.filed_at, a.filed_by = "filed", utcnow(), actor_name()
    a.filed_open_reason = reason if windows else None
    a.filed_open_cases = [w["outcome_id"] for w in windows] or None
    record("annual.file", root_id=a.root_id, org_id=a.org_id, target_type="annual_assessment", target_id=a.id,
           after={"filed_on": now, "open_cases": [{**w, "until": w["until"].isoformat()} for w in windows]},
           reason=reason if windows else None)
    db.session.flush()


def update_filing(a: AnnualAssessment, outcome: AnnualOutcome, what: str) -> None:
    """A case that was open when the unit filed has moved: the filing is
    updated (audited, the level above sees the date) and the case leaves the
    open list once nothing is open for it any more."""
    if a.status != "filed" or outcome.id not in (a.filed_open_cases or []):
        return
    still = {w["outcome_id"] for w in open_windows(a)}
    remaining = [i for i in a.filed_open_cases if i != outcome.id or i in still]
    a.filed_open_cases = remaining or None
    a.filing_updated_at = utcnow()
    record("annual.file.update", root_id=a.root_id, org_id=a.org_id, target_type="annual_assessment",
           target_id=a.id, after={"person": outcome.person_id, "grade": outcome.grade, "code": outcome.code,
                                  "what": what, "open_left": len(remaining), "on": today()})
    db.session.flush()


def outcomes(a: AnnualAssessment) -> list[AnnualOutcome]:
    return list(db.session.execute(select(AnnualOutcome).where(
        AnnualOutcome.root_id == a.root_id, AnnualOutcome.assessment_id == a.id)
        .order_by(AnnualOutcome.score.is_(None), AnnualOutcome.score.desc(), AnnualOutcome.person_id)).scalars())


def reallocate_pay(a: AnnualAssessment) -> dict:
    """Recompute the unit's pay from the outcomes (after an appeal)."""
    outs = outcomes(a)
    rows = [{"score": o.score, "grade": o.grade, "code": o.code} for o in outs]
    cents, explain = allocate_pay(rows, policy(a))
    for o, c in zip(outs, cents):
        if o.pay_cents != c:
            record("annual.pay.change", root_id=o.root_id, org_id=o.org_id, target_type="person",
                   target_id=o.person_id, before={"pay_cents": o.pay_cents},
                   after={"pay_cents": c, "assessment_id": o.assessment_id})
            o.pay_cents = c
    db.session.flush()
    return explain


# -- one person's view --------------------------------------------------------------------

def history(person_id: int, root_id: int) -> list[tuple[int, str | None]]:
    """The person's grades by year over the whole career: earlier units'
    (transfers) and imported years included (``annual.history``)."""
    return [(y, g) for y, g, _src in career_grades(root_id, [person_id])[person_id]]


def imported_years(person_id: int, root_id: int) -> set[int]:
    """Years of the career whose grade was imported, not computed here."""
    return {y for y, _g, src in career_grades(root_id, [person_id])[person_id] if src == "imported"}


def person_counters(person_id: int, root_id: int) -> dict:
    return counters(history(person_id, root_id))
