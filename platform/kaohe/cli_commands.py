"""Commands registered on the app's CLI (available as `kaohe X` and `flask X`)."""
from __future__ import annotations

import json
import os
import sys
import time

import click
from flask import current_app
from flask.cli import AppGroup

from .core.terminal import one_line_errors


def _upgrade_db() -> None:
    from flask_migrate import upgrade

    upgrade()


def register(app) -> None:
    @app.cli.command("demo")
    @click.option("--no-serve", is_flag=True, help="Build the demo database and exit.")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, type=int)
    @one_line_errors
    def demo(no_serve, host, port):
        """Build the demo province (once) and serve the web app."""
        from .demo import DEMO_PASSWORD, build_demo, demo_exists, demo_logins
        from .extensions import db

        if not no_serve:
            _check_port(host, port)
        click.echo(f"database: {_safe_url(current_app.config['SQLALCHEMY_DATABASE_URI'])}")
        _upgrade_db()
        if demo_exists():
            click.echo("demo province already built; leaving it as it is")
        else:
            click.echo("building the demo province ...")
            t0 = time.perf_counter()
            build_demo(log=click.echo)
            db.session.commit()
            click.echo(f"built in {time.perf_counter() - t0:.1f}s")
        click.echo("\nDemo logins (password for all: %s):" % DEMO_PASSWORD)
        for username, role, where in demo_logins():
            click.echo(f"  {username:<24} {role:<22} {where}")
        db.session.remove()
        if no_serve:
            return
        click.echo("")
        _serve_dev(host, port)

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, type=int)
    @click.option("--workers", default=None, type=int, help="gunicorn workers (default 2×cores+1)")
    @one_line_errors
    def serve(host, port, workers):
        """Serve the web app with gunicorn (a dependency of the package)."""
        workers = workers or (os.cpu_count() or 1) * 2 + 1
        cfg = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "gunicorn.conf.py")
        args = [sys.executable, "-m", "gunicorn", "-b", f"{host}:{port}", "-w", str(workers),
                "kaohe.wsgi:app"]
        if os.path.exists(cfg):
            args[3:3] = ["-c", os.path.abspath(cfg)]
        os.execv(sys.executable, args)

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
    @one_line_errors
    def worker(burst):
        """Run an RQ worker for the kaohe queue (needs KAOHE_REDIS_URL)."""
        url = current_app.config.get("KAOHE_REDIS_URL")
        if not url:
            raise click.ClickException("KAOHE_REDIS_URL is not set; without Redis, jobs run in-process")
        from redis import Redis
        from rq import Queue, Worker

        conn = Redis.from_url(url)
        from .core.dbrole import check_database_role
        from .jobs.queue import queue_name

        check_database_role(current_app)  # refuse a privileged role before taking work
        from .jobs import health
        from .tenancy.scope import Scope, apply_scope

        apply_scope(Scope.system("worker"))
        reaped = health.reap_all()  # jobs a previous worker left "running"/"queued" (issue 14)
        if reaped:
            click.echo(f"{reaped} abandoned job(s) marked failed (retry them from their page)")
        Worker([Queue(queue_name(), connection=conn)], connection=conn).work(burst=burst)

    users = AppGroup("users", help="Accounts.")

    @users.command("create")
    @click.argument("username")
    @click.option("--name", "display_name", default=None, help="Display name")
    @click.option("--org", "org_code", default=None, help="Home node code (omit for a platform operator)")
    @click.option("--province", "province_code", default=None, help="Province code, when org codes repeat")
    @click.option("--role", default=None, help="Role to grant on the home node")
    @click.option("--password", default=None, help="Password (prompted when omitted)")
    @one_line_errors
    def users_create(username, display_name, org_code, province_code, role, password):
        """Create an account (and optionally grant a role on its home node)."""
        from sqlalchemy import select

        from .auth import service
        from .auth.roles import Role
        from .core.errors import Invalid
        from .extensions import db
        from .tenancy.models import OrgNode
        from .tenancy.scope import Scope, apply_scope

        apply_scope(Scope.system("cli"))
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        if len(password) < 10:
            raise Invalid({"password": ["at least 10 characters"]})
        try:
            role_e = Role(role) if role else (Role.platform_operator if org_code is None else None)
        except ValueError:
            raise Invalid({"role": [f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}"]})
        org = None
        if org_code:
            stmt = select(OrgNode).where(OrgNode.code == org_code)
            if province_code:
                prov = db.session.execute(select(OrgNode).where(OrgNode.parent_id.is_(None),
                                                                OrgNode.code == province_code)).scalar_one_or_none()
                if prov is None:
                    raise Invalid({"province": [f"unknown province code {province_code}"]})
                stmt = stmt.where(OrgNode.root_id == prov.id)
            found = db.session.execute(stmt).scalars().all()
            if len(found) != 1:
                raise Invalid({"org": [f"unknown org code {org_code}" if not found else
                                       f"org code {org_code} exists in several provinces; add --province"]})
            org = found[0]
        user = service.create_user(username=username, display_name=display_name or username,
                                   password=password, org=org)
        if role_e is not None:
            service.grant_role(user, role_e, org, check=False)
        db.session.commit()
        click.echo(f"created {user.username} (id {user.id})" + (f" with role {role_e.value}" if role_e else ""))

    def _cli_user(username):
        from sqlalchemy import func, select

        from .auth.models import User
        from .core.errors import Invalid
        from .extensions import db

        user = db.session.execute(select(User).where(func.lower(User.username) == username.lower())).scalar_one_or_none()
        if user is None:
            raise Invalid({"username": [f"unknown account {username}"]})
        return user

    @users.command("link")
    @click.argument("username")
    @click.argument("unit_code")
    @click.argument("staff_no")
    @one_line_errors
    def users_link(username, unit_code, staff_no):
        """Link an account to the person with STAFF_NO on UNIT_CODE's roster."""
        from .extensions import db
        from .people import accounts
        from .tenancy.scope import Scope, apply_scope
        from sqlalchemy import select

        from .core.errors import Invalid
        from .tenancy.models import OrgNode

        apply_scope(Scope.system("cli"))
        user = _cli_user(username)
        unit = db.session.execute(select(OrgNode).where(OrgNode.root_id == user.root_id,
                                                        OrgNode.code == unit_code)).scalar_one_or_none()
        if unit is None:
            raise Invalid({"unit": [f"no unit {unit_code} in the account's province"]})
        data = accounts.PersonLinkSchema().load({"unit_id": unit.id, "staff_no": staff_no})
        person = accounts.find_person(data, lambda model, ident: db.session.get(model, ident))
        accounts.link(user, person)
        db.session.commit()
        click.echo(f"linked {user.username} to {person.staff_no} {person.name}")

    @users.command("unlink")
    @click.argument("username")
    @one_line_errors
    def users_unlink(username):
        """Remove an account's link to its person."""
        from .extensions import db
        from .people import accounts
        from .tenancy.scope import Scope, apply_scope

        apply_scope(Scope.system("cli"))
        user = _cli_user(username)
        accounts.unlink(user)
        db.session.commit()
        click.echo(f"unlinked {user.username}")

    @users.command("provision")
    @click.argument("unit_code")
    @click.option("--province", "province_code", default=None, help="Province code, when unit codes repeat")
    @click.option("--people", "people", default=None, help="Staff numbers, comma-separated (default: everyone)")
    @click.option("--mode", type=click.Choice(["code", "password"]), default="code", show_default=True)
    @click.option("--reissue", is_flag=True, help="New codes for people who already have an account")
    @click.option("--days", type=int, default=14, show_default=True, help="Days an activation code stays valid")
    @click.option("--xlsx", "xlsx_path", default=None, help="Write the activation sheet to this .xlsx file")
    @one_line_errors
    def users_provision(unit_code, province_code, people, mode, reissue, days, xlsx_path):
        """Accounts for everyone on UNIT_CODE's roster (or --people): one per
        person, usernames by the province's rule, activation codes or initial
        passwords.  Idempotent; prints the sheet or writes it with --xlsx."""

        from .audit.service import Actor, reset_actor, set_actor
        from .extensions import db
        from .people.accounts import ProvisionSchema
        from .shell.accounts import run_provision, sheet_xlsx
        from .tenancy.scope import Scope, apply_scope
        from .tenancy.service import node_by_code

        apply_scope(Scope.system("cli"))
        unit = node_by_code(unit_code, province_code, field="unit")
        raw = {"mode": mode, "reissue": reissue, "days": days}
        if people:
            raw["staff_nos"] = [s for s in people.replace(" ", ",").split(",") if s]
        data = ProvisionSchema().load(raw)
        token = set_actor(Actor(None, "cli"))
        try:
            rows = run_provision(unit, data, check_manage=False)
            db.session.commit()
        finally:
            reset_actor(token)
        if xlsx_path:
            with open(xlsx_path, "wb") as fh:
                fh.write(sheet_xlsx(unit, rows))
        else:
            for r in rows:
                click.echo("\t".join([r["department"], r["staff_no"], r["name"], r["username"],
                                      r["code"] or r["password"] or "", r["status"]]))
        created = sum(r["status"] == "created" for r in rows)
        reissued = sum(r["status"] == "reissued" for r in rows)
        click.echo(f"provisioned {unit_code}: created={created} reissued={reissued} unchanged={len(rows) - created - reissued}"
                   + (f" sheet={xlsx_path}" if xlsx_path else ""))

    app.cli.add_command(users)

    audit = AppGroup("audit", help="The audit log.")

    def _province_roots(province_code):
        from sqlalchemy import select

        from .extensions import db
        from .tenancy.models import OrgNode

        if not province_code:
            return None
        prov = db.session.execute(select(OrgNode).where(OrgNode.parent_id.is_(None),
                                                        OrgNode.code == province_code)).scalar_one_or_none()
        if prov is None:
            raise click.ClickException(f"unknown province code {province_code}")
        return [prov.id]

    @audit.command("verify")
    @click.option("--province", "province_code", default=None, help="Only this province (code)")
    @click.option("--checkpoint", "checkpoint_file", default=None, type=click.Path(dir_okay=False),
                  help="Also check the lanes against a file written by `kaohe audit checkpoint`")
    @one_line_errors
    def audit_verify(province_code, checkpoint_file):
        """Recompute every province's hash chain (and MACs); exit 1 on any break."""
        import json

        from .audit.service import verify, verify_checkpoint
        from .tenancy.scope import Scope, apply_scope

        apply_scope(Scope.system("audit-verify"))
        roots = _province_roots(province_code)
        doc = None
        if checkpoint_file:
            try:
                with open(checkpoint_file, encoding="utf-8") as f:
                    doc = json.load(f)
            except (OSError, ValueError) as exc:
                raise click.ClickException(f"cannot read checkpoint {checkpoint_file}: {exc}")
        reports = verify(roots)
        bad = 0
        for r in reports:
            status = "ok" if r.ok else "BROKEN"
            click.echo(f"province {r.root_id}: {r.entries} entries, {status}")
            for p in r.problems[:20]:
                click.echo(f"  - {p}")
            bad += 0 if r.ok else 1
        if doc is not None:
            problems = verify_checkpoint(doc, roots)
            click.echo(f"checkpoint {checkpoint_file}: {'ok' if not problems else 'BROKEN'}")
            for p in problems[:50]:
                click.echo(f"  - {p}")
            bad += 1 if problems else 0
        if bad:
            raise click.ClickException(f"{bad} chain(s) broken")

    @audit.command("checkpoint")
    @click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False),
                  help="File to write the signed lane heads to (keep it outside the database)")
    @one_line_errors
    def audit_checkpoint(out_file):
        """Write every lane's head (province, lane, seq, hash), signed with the audit key."""
        import json

        from .audit.service import checkpoint
        from .tenancy.scope import Scope, apply_scope

        apply_scope(Scope.system("audit-checkpoint"))
        doc = checkpoint()
        try:
            with open(out_file, "w", encoding="utf-8") as f:
                json.dump(doc, f, indent=1, sort_keys=True)
        except OSError as exc:
            raise click.ClickException(f"cannot write {out_file}: {exc}")
        click.echo(f"{len(doc['lanes'])} lane head(s) written to {out_file}")

    @audit.command("reconcile")
    @click.option("--province", "province_code", default=None, help="Only this province (code)")
    @one_line_errors
    def audit_reconcile(province_code):
        """List rows whose live value differs from their last audited after-state; exit 1 if any."""
        from .audit.service import reconcile
        from .tenancy.scope import Scope, apply_scope

        apply_scope(Scope.system("audit-reconcile"))
        rows = reconcile(_province_roots(province_code))
        for line in rows:
            click.echo(line)
        if rows:
            raise click.ClickException(f"{len(rows)} row(s) changed behind the audit log's back")
        click.echo("reconciled: every audited value matches its last audit entry")

    app.cli.add_command(audit)

    _register_distribute()

    from .benchmarks.commands import bench_group

    app.cli.add_command(bench_group)

    from .annual import cli as annual_cli
    from .people import transfer_cli
    from .policy import cli as policy_cli
    from .routine import cli as routine_cli
    from .supervision import cli as supervision_cli
    from .tenancy import cli as tenancy_cli
    from .web import i18n_catalog

    for m in (tenancy_cli, i18n_catalog, policy_cli, routine_cli, annual_cli, supervision_cli, transfer_cli):
        m.register(app)


def _check_port(host: str, port: int) -> None:
    """Fail in one line, before any work, when the port is taken (Werkzeug
    would print two lines of its own and exit)."""
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise click.ClickException(f"cannot listen on {host}:{port} ({reason}); choose another port with --port")


def _serve_dev(host: str, port: int) -> None:
    """The threaded Werkzeug server (demo, or when gunicorn is missing): fine
    for one office trying the app; production runs `kaohe serve` (gunicorn)."""
    from werkzeug.serving import make_server

    _check_port(host, port)
    server = make_server(host, port, current_app._get_current_object(), threaded=True)
    click.echo(f"Serving on http://{host}:{port}/  (Ctrl+C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable)"


def policy_kinds() -> dict[str, str]:
    """Table → the kind of its RLS policy (``__tenant__`` of its model, core.rls.policy_expr)."""
    from . import models  # noqa: F401  (every model mapped)
    from .extensions import db

    return {m.local_table.name: m.class_.__tenant__ for m in db.Model.registry.mappers
            if getattr(m.class_, "__tenant__", None)}


def _register_distribute() -> None:
    """`kaohe db distribute`: place the tables on a Citus cluster (kaohe.core.citus)."""
    from flask_migrate.cli import db as db_group

    @db_group.command("distribute")
    @click.option("--database-url", default=None,
                  help="Owner URL of the Citus coordinator (default KAOHE_MIGRATE_DATABASE_URL)")
    @click.option("--shard-count", type=int, default=None,
                  help="Shards per distributed table (default: citus.shard_count, 32)")
    @one_line_errors
    def distribute(database_url, shard_count):
        """Distribute the tenant tables by root_id (co-located) and make the reference
        tables, on a database with the citus extension; idempotent.  Run it after
        `kaohe db upgrade`, as the owner."""
        from sqlalchemy import create_engine, text

        from .core import citus
        from .core.rls import app_role_name

        url = database_url or current_app.config.get("KAOHE_MIGRATE_DATABASE_URL") \
            or current_app.config["SQLALCHEMY_DATABASE_URI"]
        eng = create_engine(url)
        try:
            with eng.begin() as conn:
                if conn.dialect.name != "postgresql" or not citus.citus_present(conn):
                    raise click.ClickException("the database has no citus extension (CREATE EXTENSION citus "
                                               "on the coordinator and every worker first)")
                if not conn.execute(text("SELECT 1 FROM alembic_version")).first():
                    raise click.ClickException("the database has no schema yet; run `kaohe db upgrade` first")
                if shard_count:
                    conn.execute(text("SELECT set_config('citus.shard_count', :n, true)"), {"n": str(shard_count)})
                try:
                    p = citus.distribute(conn, policy_kinds(), log=click.echo)
                except ValueError as exc:
                    raise click.ClickException(str(exc))
                # The scope travels to the workers only as SET LOCAL with this setting.
                conn.execute(text(f"ALTER ROLE {app_role_name()} SET citus.propagate_set_commands = 'local'"))
        finally:
            eng.dispose()
        click.echo(f"placed: {len(p.done_reference)} reference tables, {len(p.done_distributed)} distributed "
                   "by root_id (co-located)")
