"""Close the evaluation sessions whose time has come (run with the daily reminders)."""
from __future__ import annotations

from ..jobs.queue import job
from . import service


@job("ballots.close_due")
def close_due_job(ctx, **_):
    n = service.close_due()
    return {"closed": n, "message": f"{n} session(s) closed"}
