"""`kaohe annual compute CODE --year Y`: recompute a unit or a subtree."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from ..core.terminal import cli_progress, one_line_errors


def register(app) -> None:
    annual = AppGroup("annual", help="Annual assessment (年度考核).")

    @annual.command("compute")
    @click.argument("code")
    @click.option("--year", type=int, required=True, help="Assessment year.")
    @click.option("--strict", is_flag=True, help="Fail instead of skipping units already confirmed.")
    @click.option("--chunk-units", type=click.IntRange(1, 5000), default=400, show_default=True,
                  help="Units read and written per batch (memory vs. round trips).")
    @one_line_errors
    def compute(code, year, strict, chunk_units):
        """Compute the annual results of the unit CODE or of every unit under it.

        Runs as a job with a progress bar; re-running gives the same rows; a
        run killed halfway leaves the previous result whole."""
        from sqlalchemy import select

        from ..audit.service import Actor, reset_actor, set_actor
        from ..core.errors import Invalid
        from ..extensions import db
        from ..jobs import queue
        from ..jobs.models import Job
        from ..tenancy.models import OrgNode
        from ..tenancy.scope import Scope, apply_scope

        if not 2000 <= year <= 2100:
            raise Invalid({"year": ["Year out of range."]})
        apply_scope(Scope.system("cli"))
        nodes = db.session.execute(select(OrgNode).where(OrgNode.code == code)).scalars().all()
        if len(nodes) != 1:
            raise click.ClickException(f"unknown org code {code}" if not nodes else f"org code {code} is ambiguous")
        node = nodes[0]
        scope = Scope.for_paths(node.root_id, [node.path], label="cli")
        apply_scope(scope)
        from . import engine
        from .models import AnnualAssessment

        units = engine.units_under(node)
        if not units:
            raise Invalid({"org": [f"No assessment unit at or under {code}."]})
        locked = db.session.execute(select(OrgNode.code).join(
            AnnualAssessment, AnnualAssessment.org_id == OrgNode.id).where(
            AnnualAssessment.org_id.in_([u.id for u in units[:900]]), AnnualAssessment.year == year,
            AnnualAssessment.status.in_(engine.LOCKED_STATUSES))).scalars().all()
        if locked and strict:
            raise Invalid({"status": [f"already confirmed (reopen first): {', '.join(sorted(locked)[:20])}"]})
        bar = cli_progress(f"annual {year} {code}")
        token = set_actor(Actor(None, "cli"))
        try:
            job_row = queue.create_job("annual.compute", root_id=node.root_id, org_id=node.id, scope=scope,
                                       params={"org_id": node.id, "year": year, "strict": strict,
                                               "chunk_units": chunk_units})
            job_id = job_row.id
            db.session.commit()
            fn = queue.JOB_FUNCS["annual.compute"]
            original = fn

            def with_bar(ctx, **params):
                real = ctx.progress

                def progress(done, total=None, message=None):
                    real(done, total, message)
                    bar(done, total or 0, message)
                ctx.progress = progress
                return original(ctx, **params)

            queue.JOB_FUNCS["annual.compute"] = with_bar
            try:
                queue.run_job(job_id, node.root_id, list(scope.paths))
            finally:
                queue.JOB_FUNCS["annual.compute"] = original
                bar.close()
        finally:
            reset_actor(token)
        apply_scope(scope)
        job_row = db.session.get(Job, job_id)
        db.session.refresh(job_row)
        if job_row.status != "done":
            raise click.ClickException(job_row.message or "the computation failed; nothing was changed")
        click.echo(job_row.message or "done")

    @annual.command("history-import")
    @click.argument("unit_code")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--check", "dry_run", is_flag=True, help="Check the file only; write nothing.")
    @click.option("--province", "province_code", default=None, help="Province code, when unit codes repeat")
    @one_line_errors
    def history_import_cmd(unit_code, file, dry_run, province_code):
        """Import earlier years' annual grades of UNIT_CODE's people from FILE
        (the page's template: 工号, 姓名, 年度, 等次).  All rows or none."""
        from flask import current_app

        from ..audit.service import Actor, reset_actor, set_actor
        from ..core import xlsx_guard
        from ..extensions import db
        from ..tenancy.scope import Scope, apply_scope
        from ..tenancy.service import node_by_code
        from .history_import import NOTES, HistoryImportInvalid, run_import

        apply_scope(Scope.system("cli"))
        unit = node_by_code(unit_code, province_code, field="unit")
        with open(file, "rb") as fh:
            data = fh.read()
        xlsx_guard.check(data, ignore_sheets=NOTES, config=current_app.config)
        token = set_actor(Actor(None, "cli"))
        try:
            report = run_import(unit, data, file, dry_run=dry_run)
            db.session.commit()
        except HistoryImportInvalid as exc:
            for p in exc.problems[:200]:
                click.echo(p.text(), err=True)
            raise click.ClickException(f"{len(exc.problems)} problem(s) in {file}; nothing imported")
        finally:
            reset_actor(token)
        click.echo(("checked (nothing written): " if dry_run else "imported: ")
                   + ", ".join(f"{k} {report[k]}" for k in ("rows", "created", "updated", "unchanged")))

    app.cli.add_command(annual)
