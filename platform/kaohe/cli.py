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


def _one_line(exc: BaseException) -> click.ClickException | None:
    """The one line a user sees for an expected failure (None: unexpected)."""
    from sqlalchemy.exc import DBAPIError, OperationalError
    from werkzeug.exceptions import NotFound

    from .config import ConfigError
    from .core.errors import KaoheError

    if isinstance(exc, KaoheError):
        detail = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                           for k, v in (exc.errors or {}).items())
        return click.ClickException(f"{exc.message} {detail}".strip())
    if isinstance(exc, (ConfigError, FileNotFoundError)):
        return click.ClickException(str(exc))
    if isinstance(exc, DBAPIError):
        first = (str(exc.orig).splitlines() or [""])[0]
        if "no such table" in first or ("relation" in first and "does not exist" in first):
            return click.ClickException(f"the database has no schema yet ({first}); run `kaohe db upgrade`")
        if isinstance(exc, OperationalError):
            return click.ClickException(f"database not reachable: {first}")
        return click.ClickException(f"database error: {first}")
    if isinstance(exc, NotFound):
        return click.ClickException("not found (or outside the scope)")
    return None


def _unexpected(exc: BaseException) -> click.ClickException:
    """An unexpected failure: the traceback goes to a log file, the user gets one line."""
    import traceback

    try:
        folder = os.environ.get("KAOHE_INSTANCE_PATH") or os.path.join(os.getcwd(), "instance")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "cli-errors.log")
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(sys.argv)}\n")
            fh.write("".join(traceback.format_exception(exc)))
        where = f"; details in {path}"
    except OSError:
        where = ""
    first = (str(exc).splitlines() or [""])[0][:200]
    return click.ClickException(f"internal error ({type(exc).__name__}: {first}){where}")


def one_line_errors(fn):
    """Turn expected failures into `Error: ...` and exit status 1."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except Exception as exc:  # noqa: BLE001
            mapped = _one_line(exc)
            if mapped is None:
                raise
            raise mapped from None
    return wrapper


class KaoheGroup(FlaskGroup):
    """The top-level group: whatever a command raises reaches the user as one
    line and a non-zero exit, never as a traceback (KAOHE_CLI_TRACEBACK=1
    shows it, for developers)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, KeyboardInterrupt,
                SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001
            if os.environ.get("KAOHE_CLI_TRACEBACK") == "1":
                raise
            mapped = _one_line(exc)
            raise (mapped or _unexpected(exc)) from None


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


main = KaoheGroup(create_app=_create_app, add_version_option=False, load_dotenv=False,
                  help="Kaohe (考核): civil-servant assessment platform.")


def entry():  # pragma: no cover
    main()
