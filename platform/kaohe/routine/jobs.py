"""Background jobs of routine assessment: the period computation (with
progress) and the reminders (missing sign-ins, overdue work records and
ratings).  Each commits once, through the job runner."""
from __future__ import annotations

from ..jobs.queue import job
from ..tenancy.scope import get_in_scope
from .models import Period


@job("routine.compute")
def compute(ctx, period_id: int) -> dict:
    from .compute import compute_period

    period = get_in_scope(Period, period_id)
    summary = compute_period(period, progress=ctx.progress)
    ties = [t for t in summary["ties"] if not t.get("resolved")]
    msg = f"{summary['people']} scored; {len(ties)} tie(s) to decide; {summary['incomplete']} incomplete"
    return {"message": msg, "people": summary["people"], "ties": len(ties), "grades": summary["grades"],
            "next_url": f"/routine/periods/{period.id}#results"}


@job("routine.remind")
def remind(ctx, day: str | None = None) -> dict:
    import datetime as dt

    from .reminders import run_reminders

    d = dt.date.fromisoformat(day) if day else None
    out = run_reminders(d, progress=ctx.progress)
    out["message"] = ", ".join(f"{k}: {v}" for k, v in out.items())
    return out
