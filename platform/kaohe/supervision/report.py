"""The one-page unit report for the level above (issue 17): for one
assessment unit, a period or a year — completion, the grade distribution
against the quota, the flags raised, talks done and due, appeals by outcome.
The figures are the supervision dashboard's own (``dashboard.build`` on the
unit), plus three counting queries for talks and appeals."""
from __future__ import annotations

from sqlalchemy import func, select

from ..annual.models import AnnualAppeal, AnnualOutcome, AnnualTalk
from ..extensions import db
from ..routine.models import Task
from ..tenancy.models import OrgNode
from . import dashboard


def unit_report(unit: OrgNode, year: int, period_key: str | None = None) -> dict:
    board = dashboard.build(unit, year=year, period_key=period_key, use_cache=False, use_snapshot=False)
    t = board.totals
    talks_held, talks_open = db.session.execute(
        select(func.count().filter(AnnualTalk.held_on.is_not(None)), func.count().filter(AnnualTalk.held_on.is_(None)))
        .where(AnnualTalk.root_id == unit.root_id, AnnualTalk.org_id == unit.id, AnnualTalk.year == year)).one()
    tasks_done, tasks_open = db.session.execute(
        select(func.count().filter(Task.status != "open"), func.count().filter(Task.status == "open"))
        .where(Task.root_id == unit.root_id, Task.org_id == unit.id, Task.kind.like("routine.%talk"),
               func.extract("year", Task.created_at) == year)).one()
    appeals = dict(db.session.execute(
        select(AnnualAppeal.status, func.count())
        .join(AnnualOutcome, (AnnualOutcome.id == AnnualAppeal.outcome_id) & (AnnualOutcome.root_id == AnnualAppeal.root_id))
        .where(AnnualAppeal.root_id == unit.root_id, AnnualOutcome.org_id == unit.id, AnnualOutcome.year == year)
        .group_by(AnnualAppeal.status)).all())
    return {
        "unit": unit, "year": year, "period_key": board.period_key, "period_keys": board.period_keys,
        "today": board.today,
        "completion": {k: t.get(k, 0) for k in ("people", "participants", "work_records", "rated", "computed",
                                                 "publicised", "final", "annual_computed", "annual_confirmed",
                                                 "annual_publicised", "annual_filed")},
        "routine_grades": dict(t.get("routine_grades") or {}),
        "annual_grades": dict(t.get("annual_grades") or {}),
        "youxiu": t.get("youxiu", 0), "youxiu_quota": t.get("youxiu_quota"),
        "annual_people": t.get("annual_people", 0),
        "flags": board.flags, "overdue": t.get("overdue") or [],
        "talks": {"annual_held": talks_held, "annual_open": talks_open,
                  "routine_done": tasks_done, "routine_open": tasks_open},
        "appeals": {"pending": appeals.get("pending", 0), "upheld": appeals.get("upheld", 0),
                    "reversed": appeals.get("reversed", 0)},
    }
