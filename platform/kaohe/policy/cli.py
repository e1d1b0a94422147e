"""`kaohe policy show CODE [--year Y] [--json]`, `kaohe policy set CODE KEY VALUE [--year Y]`
and the policy.yaml pack hooks."""
from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from ..core.terminal import one_line_errors
from . import packs  # noqa: F401  (registers policy.yaml with tenant packs)


def _fmt(value, setting) -> str:
    from . import calc

    if setting.unit == "rate" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return calc.pct(value)
    if setting.unit == "rate" and isinstance(value, dict):
        return ", ".join(f"{k} {calc.pct(v)}" for k, v in value.items())
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return ", ".join(f"{i['code']}{'*' if i.get('mandatory') else ''}" for i in value) or "-"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def register(app) -> None:
    group = AppGroup("policy", help="The policy cascade.")

    @group.command("show")
    @click.argument("code")
    @click.option("--year", type=click.IntRange(2000, 2100), default=None, help="Assessment year (default: this year).")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @one_line_errors
    def show(code, year, as_json):
        """The effective policy of an org node, with where each value comes from."""
        from sqlalchemy import select

        from ..extensions import db
        from ..tenancy.models import OrgNode
        from ..tenancy.scope import Scope, apply_scope
        from . import registry as reg
        from . import settings

        apply_scope(Scope.system("policy-show"))
        nodes = db.session.execute(select(OrgNode).where(OrgNode.code == code)).scalars().all()
        if len(nodes) != 1:
            raise click.ClickException(f"unknown org code {code}" if not nodes else f"code {code} is ambiguous")
        view = settings.describe(nodes[0], year)
        if as_json:
            click.echo(json.dumps(view, ensure_ascii=False, indent=2, default=str))
            return
        node = view["node"]
        click.echo(f"{node['name']} ({node['code']}) — effective policy for {view['year']}")
        click.echo("path: " + " › ".join(f"{n['name']} ({n['code']})" for n in view["path"]))
        for g in view["groups"]:
            click.echo(f"\n[{g['zh']} / {g['en']}]")
            for s in g["settings"]:
                setting = reg.REGISTRY[s["key"]]
                src = f"{s['source']['code']}" if s["source"] else "national default"
                if s["source"] and s["source_year"]:
                    src += f" ({s['source_year']} only)"
                flags = []
                if s["locked_by"]:
                    flags.append(f"locked by {s['locked_by']['code']}")
                if s["bounds"]:
                    b = s["bounds"]
                    if "allowed" in b:
                        flags.append(f"allowed {'/'.join(b['allowed'])} by {b['allowed_by']['code']}")
                    if "min" in b:
                        flags.append(f"min {_fmt(b['min'], setting)} by {b['min_by']['code']}")
                    if "max" in b:
                        flags.append(f"max {_fmt(b['max'], setting)} by {b['max_by']['code']}")
                if s["adjusted"]:
                    flags.append(s["adjusted"])
                extra = f"  [{'; '.join(flags)}]" if flags else ""
                click.echo(f"  {s['key']:<34} {_fmt(s['value'], setting):<28} from {src}{extra}")

    @group.command("set")
    @click.argument("code")
    @click.argument("key")
    @click.argument("value")
    @click.option("--year", type=click.IntRange(2000, 2100), default=None,
                  help="Only for this assessment year (default: all years).")
    @click.option("--reason", default=None, help="Why (kept in the audit log).")
    @one_line_errors
    def set_cmd(code, key, value, year, reason):
        """Set KEY at the org node CODE (VALUE as JSON: 0.2, "month", {"hao": 90, ...}).
        Checked like the page and the API: locks, bounds and ceilings set above."""
        from sqlalchemy import select

        from ..audit.service import Actor, reset_actor, set_actor
        from ..extensions import db
        from ..tenancy.models import OrgNode
        from ..tenancy.scope import Scope, apply_scope
        from . import registry as reg
        from . import settings

        apply_scope(Scope.system("policy-set"))
        nodes = db.session.execute(select(OrgNode).where(OrgNode.code == code)).scalars().all()
        if len(nodes) != 1:
            raise click.ClickException(f"unknown org code {code}" if not nodes else f"code {code} is ambiguous")
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        token = set_actor(Actor(None, "policy set (CLI)"))
        try:
            settings.set_value(nodes[0], key, parsed, year=year, reason=reason)
            db.session.commit()
        finally:
            reset_actor(token)
        click.echo(f"{nodes[0].code} {key} = {_fmt(parsed, reg.get(key))}" + (f" ({year})" if year else ""))

    app.cli.add_command(group)
