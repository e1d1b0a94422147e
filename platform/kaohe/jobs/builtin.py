"""Small built-in jobs."""
from __future__ import annotations

import time

from .queue import job


@job("demo.sleep")
def sleep_job(ctx, steps: int = 5, delay: float = 0.05) -> dict:
    """A job that only reports progress (used to show and test the machinery)."""
    for i in range(steps):
        time.sleep(delay)
        ctx.progress(i + 1, steps, f"step {i + 1} of {steps}")
    return {"steps": steps}
