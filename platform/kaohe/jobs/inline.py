"""Run a registered job inline from a command (`kaohe ... compute`)."""
from __future__ import annotations

import click


def run_job_cli(kind: str, *, root_id: int, org_id: int, params: dict, label: str) -> dict:
    """Run a registered job inline with a terminal progress bar."""
    from ..extensions import db
    from . import queue
    from .models import Job
    from ..tenancy.scope import Scope, apply_scope

    scope = Scope.province(root_id, label="cli")
    apply_scope(scope)
    job_id = queue.submit(kind, root_id=root_id, org_id=org_id, scope=scope, params=params, mode="none")
    # submit ran it inline ("none" mode): read the outcome.
    apply_scope(scope)
    job_row = db.session.get(Job, job_id)
    db.session.refresh(job_row)
    if job_row.status != "done":
        raise click.ClickException(job_row.message or "job failed")
    return job_row.result or {}
