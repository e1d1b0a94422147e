"""Scoring a whole period in one pass (a fixed number of queries whatever
the headcount), the tasks it raises, and deciding a tie at the 好 cap line."""
from __future__ import annotations

from sqlalchemy import and_, delete, insert, or_, select, update

from ..web.messages import N_, register_templates
from ..audit.service import current_actor, record
from ..core.calendar import WorkCalendar
from ..core.db import utcnow
from ..extensions import db
from ..people.models import LeaderCharge, Person
from . import calc, calc_grades, calc_pay
from .common import invalid, period_policy, today
from .inputs import exemptions, score_inputs
from .models import CapDecision, Period, Result, Task
from .periods import COMPUTE_STATES, CYCLES, participants, require_state

# parametrised messages: pages recognise them in their formatted form and translate them
register_templates(
    N_("Choose exactly %(n)s of the tied people for Good."),
)


def compute_period(period: Period, progress=lambda done, total, msg=None: None, *, amendment: bool = False) -> dict:
    """Score everyone in the period: a fixed number of queries whatever the
    headcount (participants, ratings, events, metrics, charges, history,
    decisions; then bulk writes)."""
    if not amendment:
        require_state(period, COMPUTE_STATES[:2], "period", N_("Computing"))
    pol = period_policy(period)
    parts = participants(period)
    total = len(parts)
    progress(0, total, "loading")
    charges: dict[int, set[int]] = {}
    for leader, dept in db.session.execute(select(LeaderCharge.leader_id, LeaderCharge.department_id).where(
            LeaderCharge.root_id == period.root_id, LeaderCharge.org_id == period.org_id)):
        charges.setdefault(leader, set()).add(dept)
    history = _history(period)
    decisions = {d.group_key: d.chosen for d in db.session.execute(
        select(CapDecision).where(CapDecision.period_id == period.id)).scalars()}
    exempt = exemptions(period)
    progress(0, total, "scoring")
    unit_id = period.org_id
    out = score_inputs(period, parts)
    # Who gets a score: complete inputs, or an exemption and every indicator
    # valued (the rater kinds that answered, renormalised).  Unrated inputs
    # are never scored as zero.
    for pid, r in out.items():
        r["exempted"] = pid in exempt
        r["scored"] = not r["derived"] and (r["complete"] or (r["exempted"] and not r["unrated"]))
    # Leaders' scores derived from those they lead (seed 003), from scored staff only.
    derived_ids = [pid for pid, r in out.items() if r["derived"]]
    if derived_ids:
        dept_of = {p.person_id: p.org_id for p in parts if p.org_id != unit_id and out[p.person_id]["scored"]}
        staff_scores = {pid: out[pid]["score"] for pid in dept_of}
        roles = {p.person_id: p.position_role for p in parts}
        d = calc.derived_leader_scores(staff_scores, dept_of,
                                       {pid: charges.get(pid, set()) for pid in derived_ids if roles[pid] == "deputy"},
                                       [pid for pid in derived_ids if roles[pid] == "head"])
        for pid in derived_ids:
            r = out[pid]
            r["derived_from"] = "departments in charge" if roles[pid] == "deputy" else "deputies"
            if r["veto"] and r["veto"]["mode"] == "zero":
                r["scored"] = True
                continue
            r["score"] = d.get(pid)
            r["scored"] = r["complete"] = d.get(pid) is not None
    for r in out.values():
        if not r["scored"]:
            r["partial_score"], r["score"] = r["score"], None
    scored = {pid: r for pid, r in out.items() if r["scored"]}
    # The unit's grade scale (names and bands, policy routine.grade_scale); results hold its national ranks.
    bands = calc_grades.thresholds(pol.get("routine.grade_scale"), pol["routine.grade_bands"])
    grades = {pid: calc_grades.grade(r["score"], bands, (r["veto"] or {}).get("cap_grade")) for pid, r in scored.items()}
    # The 好 cap per department or per unit.
    scope = pol["routine.good_cap_scope"]
    groups: dict[str, dict[int, tuple[float, str]]] = {}
    for p in parts:
        if p.person_id in scored:
            key = "unit" if scope == "unit" else f"org:{p.org_id}"
            groups.setdefault(key, {})[p.person_id] = (out[p.person_id]["score"], grades[p.person_id])
    ties = []
    quotas = {}
    for key, members in groups.items():
        outcome = calc.apply_good_cap(members, float(pol["routine.good_cap_rate"]), decisions.get(key),
                                      demote_to=calc_grades.demotion_rank(bands))
        grades.update(outcome.grades)
        quotas[key] = {"n": len(members), "quota": outcome.quota,
                       "hao": sum(1 for pid in members if outcome.grades[pid] == "hao")}
        if outcome.tie:
            ties.append({"group": key, **outcome.tie})
    tie_ids = {pid for t in ties if not t.get("resolved") for pid in t["candidates"]}
    ranks = calc.competition_ranks({pid: r["score"] for pid, r in scored.items()})
    # Performance pay paid with the period (policy routine.period_pay_share; seed 001 「当月兑现」).
    pay, cents = None, {}
    share = float(pol.get("routine.period_pay_share") or 0)
    if share > 0:
        cents, pay = calc_pay.split(float(pol.get("pay.amount_per_person") or 0), share, CYCLES[period.cycle],
                                    total, {pid: r["score"] for pid, r in scored.items()})
    now = utcnow()
    rows, task_rows = [], []
    flag_counts: dict[str, int] = {}
    supervisors = dict(db.session.execute(select(Person.id, Person.supervisor_id).where(
        Person.root_id == period.root_id, Person.unit_id == unit_id)).all())
    due = WorkCalendar.from_policy(pol).add_workdays(today(), 10)
    for p in parts:
        r = out[p.person_id]
        if not r["scored"]:
            # 未完成: no score, grade, rank, talk task or streak; what is missing is in the breakdown
            flags = ["incomplete"] + (["exempted"] if r["exempted"] else []) + (["derived"] if r["derived"] else [])
            for f in flags:
                flag_counts[f] = flag_counts.get(f, 0) + 1
            rows.append({"root_id": period.root_id, "org_id": p.org_id, "period_id": period.id,
                         "person_id": p.person_id, "score": None, "grade": None, "rank": None,
                         "rank_of": len(scored), "breakdown": r, "flags": flags, "pay_cents": None,
                         "computed_at": now})
            continue
        flags = calc.streak_flags(history.get(p.person_id, []) + [r["score"]], low=float(pol["routine.low_score"]),
                                  high=float(pol["routine.high_score"]), low_streak=int(pol["routine.low_streak"]),
                                  high_streak=int(pol["routine.high_streak"]))
        if p.person_id in tie_ids:
            flags.append("cap_tie")
        if r["veto"]:
            flags.append("veto")
        if r["derived"]:
            flags.append("derived")
        if r["exempted"] and not r["complete"]:
            flags.append("exempted")
        for f in flags:
            flag_counts[f] = flag_counts.get(f, 0) + 1
        rows.append({"root_id": period.root_id, "org_id": p.org_id, "period_id": period.id,
                     "person_id": p.person_id, "score": r["score"], "grade": grades[p.person_id],
                     "rank": ranks[p.person_id], "rank_of": len(scored), "breakdown": r, "flags": flags,
                     "pay_cents": cents.get(p.person_id) if pay is not None else None, "computed_at": now})
        if "criticism_talk" in flags:
            task_rows.append(_task_row(period, p, "routine.criticism_talk",
                                       f"批评谈话 Criticism talk: {period.label}", supervisors.get(p.person_id), due))
        if "reminder_talk" in flags:
            task_rows.append(_task_row(period, p, "routine.reminder_talk",
                                       f"提醒/诫勉谈话 Reminder talk: {period.label}", None, due, role="unit_admin"))
    # Keep the feedback already given across recomputation.
    feedback = {pid: (fb, by) for pid, fb, by in db.session.execute(
        select(Result.person_id, Result.feedback, Result.feedback_by).where(Result.period_id == period.id))}
    for row in rows:
        fb = feedback.get(row["person_id"])
        row["feedback"], row["feedback_by"] = fb if fb else (None, None)
    db.session.execute(delete(Result).where(Result.period_id == period.id))
    if rows:
        db.session.execute(insert(Result), rows)
    # Tasks raised by this period are re-derived: existing ones that still
    # apply keep their id, open ones that no longer apply are cancelled,
    # closed ones stay as they are.
    existing = {(k, pid): (tid, st) for tid, k, pid, st in db.session.execute(
        select(Task.id, Task.kind, Task.person_id, Task.status).where(
            Task.source_type == "routine_period", Task.source_id == period.id, Task.status != "cancelled"))}
    wanted = {(t["kind"], t["person_id"]) for t in task_rows}
    stale = [tid for key, (tid, st) in existing.items() if st == "open" and key not in wanted]
    if stale:
        db.session.execute(update(Task).where(Task.id.in_(stale)).values(
            status="cancelled", note="no longer applies after recomputation", closed_at=now))
    task_rows = [t for t in task_rows if (t["kind"], t["person_id"]) not in existing]
    if task_rows:
        db.session.execute(insert(Task), task_rows)
    summary = {"people": total, "ties": ties, "quotas": quotas, "flags": flag_counts,
               "grades": {g: sum(1 for x in grades.values() if x == g) for g in calc.GRADES},
               "incomplete": flag_counts.get("incomplete", 0), "exempted": flag_counts.get("exempted", 0),
               "tasks": len(task_rows)}
    if pay is not None:
        summary["pay"] = pay
    period.computed_at = now
    period.compute_summary = summary
    db.session.flush()
    # The after-state of every result (score, grade), so `kaohe audit reconcile`
    # can find a result changed behind the log's back.
    audited = {str(row["person_id"]): [row["score"], row["grade"]] for row in rows}
    record("routine.period.compute", root_id=period.root_id, org_id=period.org_id, target_type="routine_period",
           target_id=period.id, after={**{k: v for k, v in summary.items() if k != "quotas"}, "audited": audited})
    progress(total, total, "done")
    return summary


def _task_row(period, p, kind, title, assignee_person, due, role=None) -> dict:
    return {"root_id": period.root_id, "org_id": period.org_id, "kind": kind, "title": title,
            "person_id": p.person_id, "assignee_person_id": assignee_person, "assignee_role": role,
            "assignee_org_id": period.org_id if role else None, "due_on": due, "status": "open",
            "source_type": "routine_period", "source_id": period.id, "created_at": utcnow()}


def _history(period: Period) -> dict[int, list[float]]:
    """Scores of the consecutive earlier periods of the same cycle (oldest
    first), in one query."""
    prev = db.session.execute(select(Period.id, Period.year, Period.seq).where(
        Period.org_id == period.org_id, Period.cycle == period.cycle, Period.state.in_(("publicised", "final")),
        or_(Period.year < period.year, and_(Period.year == period.year, Period.seq < period.seq)))
        .order_by(Period.year.desc(), Period.seq.desc()).limit(5)).all()
    # only an unbroken chain of periods counts as "consecutive"
    chain, y, s = [], period.year, period.seq
    n = CYCLES[period.cycle]
    for pid, py, ps in prev:
        y, s = (y, s - 1) if s > 1 else (y - 1, n)
        if (py, ps) != (y, s):
            break
        chain.append(pid)
    if not chain:
        return {}
    order = {pid: i for i, pid in enumerate(reversed(chain))}
    hist: dict[int, list[tuple[int, float]]] = {}
    for per, person, score in db.session.execute(select(Result.period_id, Result.person_id, Result.score)
                                                 .where(Result.period_id.in_(chain))):
        if score is not None:
            hist.setdefault(person, []).append((order[per], score))
    out = {}
    for person, items in hist.items():
        items.sort()
        # a gap (absent in an intermediate period) breaks the chain
        seq = [s for _, s in items]
        if [o for o, _ in items] == list(range(len(chain) - len(items), len(chain))):
            out[person] = seq
    return out


def resolve_tie(period: Period, group_key: str, chosen: list[int], reason: str) -> CapDecision:
    require_state(period, ("rating", "review"), "period", N_("Resolving a tie"))
    tie = next((t for t in (period.compute_summary or {}).get("ties", []) if t["group"] == group_key), None)
    if tie is None:
        raise invalid("group", N_("There is no tie in this group at the last computation."))
    chosen = sorted({int(c) for c in chosen})
    if not set(chosen) <= set(tie["candidates"]) or len(chosen) != tie["slots"]:
        raise invalid("chosen", N_("Choose exactly %(n)s of the tied people for Good.") % {"n": tie['slots']})
    if not (reason or "").strip():
        raise invalid("reason", N_("Record the reason for the decision."))
    d = db.session.execute(select(CapDecision).where(CapDecision.period_id == period.id,
                                                     CapDecision.group_key == group_key)).scalar_one_or_none()
    if d is None:
        d = CapDecision(root_id=period.root_id, org_id=period.org_id, period_id=period.id, group_key=group_key)
        db.session.add(d)
    d.candidates, d.chosen, d.reason = tie["candidates"], chosen, reason.strip()
    d.decided_by = current_actor().name
    db.session.flush()
    record("routine.cap_tie.resolve", root_id=period.root_id, org_id=period.org_id, target_type="routine_period",
           target_id=period.id, after={"group": group_key, "chosen": chosen, "candidates": tie["candidates"]},
           reason=reason)
    compute_period(period)
    return d
