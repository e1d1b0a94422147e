"""`kaohe tenants load|export`."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from ..core.terminal import one_line_errors


def register(app) -> None:
    tenants = AppGroup("tenants", help="Tenant packs (org tree and policy as files).")

    @tenants.command("load")
    @click.argument("path", type=click.Path(exists=True, file_okay=False))
    @one_line_errors
    def load(path):
        """Load a pack idempotently (validated whole before anything is written)."""
        from ..audit.service import Actor, reset_actor, set_actor
        from ..extensions import db
        from .packs import load_pack
        from .scope import Scope, apply_scope

        apply_scope(Scope.system("tenants-load"))
        token = set_actor(Actor(None, "tenants load"))
        try:
            report = load_pack(path)
            db.session.commit()
        finally:
            reset_actor(token)
        click.echo("loaded: " + ", ".join(f"{k} {v}" for k, v in report.as_dict().items() if k != "root_id"))

    @tenants.command("export")
    @click.argument("code")
    @click.argument("path", type=click.Path(file_okay=False))
    @one_line_errors
    def export(code, path):
        """Write a province's tree (and policy) as a pack."""
        from sqlalchemy import select

        from ..extensions import db
        from .models import OrgNode
        from .packs import export_pack
        from .scope import Scope, apply_scope

        apply_scope(Scope.system("tenants-export"))
        nodes = db.session.execute(select(OrgNode).where(OrgNode.code == code)).scalars().all()
        if len(nodes) != 1:
            raise click.ClickException(f"unknown org code {code}" if not nodes else f"code {code} is ambiguous")
        count = export_pack(nodes[0], path)
        click.echo(f"wrote {count} nodes to {path}")

    app.cli.add_command(tenants)
