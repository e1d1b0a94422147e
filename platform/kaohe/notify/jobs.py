"""Deliver the queued messages of a province (retries inside the job)."""
from __future__ import annotations

from ..jobs.queue import job
from . import digest, service  # noqa: F401  (digest hooks into the routine reminders)


@job("notify.deliver")
def deliver(ctx, **_):
    out = service.deliver_pending(progress=ctx.progress)
    out["message"] = f"sent {out['sent']}, failed {out['failed']}"
    return out
