"""Close the evaluation sessions whose time has come (run with the daily reminders)."""
from __future__ import annotations

from ..jobs.queue import job
from ..routine.reminders import AFTER_REMINDERS
from . import service


@job("ballots.close_due")
def close_due_job(ctx, **_):
    n = service.close_due()
    return {"closed": n, "message": f"{n} session(s) closed"}


def _after_reminders(rows, day) -> dict:
    """The daily reminder run also closes the sessions whose time has come."""
    return {"ballot_sessions_closed": service.close_due()}


if _after_reminders.__qualname__ + __name__ not in {h.__qualname__ + h.__module__ for h in AFTER_REMINDERS}:
    AFTER_REMINDERS.append(_after_reminders)
