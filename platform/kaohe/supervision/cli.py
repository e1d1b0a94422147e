"""`kaohe supervision refresh`: recompute dashboard snapshots (cron it after
the nightly computations, or run it after a large batch)."""
from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup
from ..core.clock import local_today


def register(app) -> None:
    group = AppGroup("supervision", help="Supervision dashboards.")

    @group.command("refresh")
    @click.option("--org", "code", required=True, help="org code of the subtree (a province code for all of it)")
    @click.option("--year", type=int, default=None, help="assessment year (default: this year)")
    @click.option("--period", default=None, help="routine period key, e.g. quarter-3 (default: the latest started)")
    def refresh(code, year, period):
        """Recompute the dashboard snapshot of every unit below an org node."""
        from ..cli import one_line_errors, run_job_cli
        from ..extensions import db
        from ..tenancy.models import OrgNode
        from ..tenancy.scope import Scope, apply_scope
        from sqlalchemy import select

        @one_line_errors
        def go():
            apply_scope(Scope.system("cli"))
            node = db.session.execute(select(OrgNode).where(OrgNode.code == code)).scalars().first()
            if node is None:
                raise click.ClickException(f"no org node with code {code}")
            y = year or local_today().year
            out = run_job_cli("supervision.refresh_stats", root_id=node.root_id, org_id=node.id,
                              params={"org_id": node.id, "year": y, "period": period}, label="refresh")
            click.echo(f"{out['units']} units, period {out['period'] or '-'}, {out['seconds']} s")
        go()

    app.cli.add_command(group)
