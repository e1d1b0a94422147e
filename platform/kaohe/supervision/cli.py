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
    @click.option("--org", "code", default=None,
                  help="org code of the subtree (default: every province, for a timer)")
    @click.option("--year", type=int, default=None, help="assessment year (default: this year)")
    @click.option("--period", default=None, help="routine period key, e.g. quarter-3 (default: the latest started)")
    def refresh(code, year, period):
        """Recompute the dashboard snapshot of every unit below an org node
        (or below every province).  Large dashboards read these snapshots
        while they are fresh (KAOHE_DASHBOARD_SNAPSHOT_SECONDS, 15 minutes):
        deploy/systemd/kaohe-supervision-refresh.timer runs this every 10."""
        from ..core.terminal import one_line_errors
        from ..jobs.inline import run_job_cli
        from ..extensions import db
        from ..tenancy.models import OrgNode
        from ..tenancy.scope import Scope, apply_scope
        from sqlalchemy import select

        @one_line_errors
        def go():
            apply_scope(Scope.system("cli"))
            stmt = select(OrgNode.id, OrgNode.root_id, OrgNode.code)
            if code:
                stmt = stmt.where(OrgNode.code == code)
            else:
                stmt = stmt.where(OrgNode.parent_id.is_(None)).order_by(OrgNode.code)
            nodes = db.session.execute(stmt).all()
            if code and not nodes:
                raise click.ClickException(f"no org node with code {code}")
            if code and len(nodes) > 1:
                raise click.ClickException(f"org code {code} exists in {len(nodes)} provinces; "
                                           "give the province's own code to refresh all of it")
            y = year or local_today().year
            for node_id, root_id, node_code in nodes:
                out = run_job_cli("supervision.refresh_stats", root_id=root_id, org_id=node_id,
                                  params={"org_id": node_id, "year": y, "period": period}, label="refresh")
                click.echo(f"{node_code}: {out['units']} units, period {out['period'] or '-'}, {out['seconds']} s")
        go()

    app.cli.add_command(group)
