"""The `kaohe` command.  Bad input exits non-zero with one line; no
traceback reaches the user."""
from __future__ import annotations

import functools
import os
import sys
import time

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext


def _create_app():
    from . import create_app
    from .config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc))


def one_line_errors(fn):
    """Turn expected failures into `Error: ...` and exit status 1."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .config import ConfigError
        from .core.errors import KaoheError

        try:
            return fn(*args, **kwargs)
        except KaoheError as exc:
            detail = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                               for k, v in (exc.errors or {}).items())
            raise click.ClickException(f"{exc.message} {detail}".strip())
        except (ConfigError, FileNotFoundError) as exc:
            raise click.ClickException(str(exc))
        except Exception as exc:  # noqa: BLE001
            from sqlalchemy.exc import OperationalError

            if isinstance(exc, OperationalError):
                raise click.ClickException(f"database not reachable: {str(exc.orig).splitlines()[0]}")
            from werkzeug.exceptions import NotFound

            if isinstance(exc, NotFound):
                raise click.ClickException("not found (or outside the scope)")
            raise
    return wrapper


def cli_progress(label: str):
    """A progress callback that draws a bar on the terminal."""
    state = {"bar": None, "last": 0}

    def update(done: int, total: int, message: str | None = None):
        if state["bar"] is None and total:
            state["bar"] = click.progressbar(length=total, label=label, show_pos=True, file=sys.stderr)
            state["bar"].__enter__()
        if state["bar"] is not None:
            state["bar"].update(done - state["last"])
            state["last"] = done

    def close():
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)

    update.close = close
    return update


def run_job_cli(kind: str, *, root_id: int, org_id: int, params: dict, label: str) -> dict:
    """Run a registered job inline with a terminal progress bar."""
    from .extensions import db
    from .jobs import queue
    from .jobs.models import Job
    from .tenancy.scope import Scope, apply_scope

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


def register_commands(app) -> None:
    from .cli_commands import register

    register(app)


main = FlaskGroup(create_app=_create_app, add_version_option=False, load_dotenv=False,
                  help="Kaohe (考核): civil-servant assessment platform.")


def entry():  # pragma: no cover
    main()
