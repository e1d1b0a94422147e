"""`kaohe routine ...`: reminders for cron / a systemd timer, and the
period computation from a terminal.

    # deploy: every working day at 10:00 and 17:30 (Asia/Shanghai)
    # 0 10 * * 1-5  kaohe routine remind
    # 30 17 * * 1-5 kaohe routine remind
"""
from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup

from ..core.terminal import one_line_errors

routine_group = AppGroup("routine", help="Routine assessment (平时考核).")


def _roots(province: str | None) -> list[int]:
    from sqlalchemy import select

    from ..extensions import db
    from ..tenancy.models import OrgNode
    from ..tenancy.scope import Scope, apply_scope

    apply_scope(Scope.system("cli"))
    stmt = select(OrgNode.id).where(OrgNode.parent_id.is_(None))
    if province:
        stmt = stmt.where(OrgNode.code == province)
    ids = list(db.session.execute(stmt.order_by(OrgNode.id)).scalars())
    if province and not ids:
        raise click.ClickException(f"no province with code {province}")
    return ids


@routine_group.command("remind")
@click.option("--province", help="Province code (default: every province).")
@click.option("--day", help="ISO date (default: today).")
@one_line_errors
def remind_cmd(province, day):
    """Create today's reminders: missing sign-ins, overdue work records and ratings."""
    from ..audit.service import Actor, reset_actor, set_actor
    from ..extensions import db
    from ..tenancy.scope import Scope, apply_scope
    from ..jobs.queue import dispatch_deferred
    from .reminders import run_reminders

    try:
        d = dt.date.fromisoformat(day) if day else None
    except ValueError:
        raise click.ClickException(f"--day must be an ISO date (YYYY-MM-DD), got {day!r}")
    token = set_actor(Actor(None, "cli:remind"))
    try:
        for root_id in _roots(province):
            apply_scope(Scope.province(root_id, label="cli:remind"))
            counts = run_reminders(d)
            db.session.commit()
            dispatch_deferred()
            click.echo(f"province {root_id}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    finally:
        reset_actor(token)


@routine_group.command("compute")
@click.argument("period_id", type=int)
@one_line_errors
def compute_cmd(period_id):
    """Compute a period's results (with a progress bar)."""
    from sqlalchemy import select

    from ..jobs.inline import run_job_cli
    from ..extensions import db
    from ..tenancy.scope import Scope, apply_scope
    from .models import Period

    apply_scope(Scope.system("cli"))
    row = db.session.execute(select(Period.root_id, Period.org_id).where(Period.id == period_id)).first()
    if row is None:
        raise click.ClickException(f"no period {period_id}")
    result = run_job_cli("routine.compute", root_id=row.root_id, org_id=row.org_id,
                         params={"period_id": period_id}, label="computing")
    click.echo(result.get("message", "done"))


@routine_group.command("check")
@click.argument("period_id", type=int)
@one_line_errors
def check_cmd(period_id):
    """Whether a period's inputs are complete enough for review and 公示 (exit 1 if not)."""
    from ..extensions import db
    from ..tenancy.scope import Scope, apply_scope
    from .inputs import blockers, input_status
    from .models import Period

    apply_scope(Scope.system("cli"))
    period = db.session.get(Period, period_id)
    if period is None:
        raise click.ClickException(f"no period {period_id}")
    exempted = [r for r in input_status(period) if r["exempted"]]
    problems = blockers(period)
    if problems:
        raise click.ClickException(problems[0])
    click.echo(f"period {period_id}: inputs complete" + (f" ({len(exempted)} exempted)" if exempted else ""))


def register(app) -> None:
    app.cli.add_command(routine_group)
