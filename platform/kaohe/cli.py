"""The `kaohe` command.  Bad input exits non-zero with one line; no
traceback reaches the user."""
from __future__ import annotations

import os
import sys
import time

import click
from flask.cli import FlaskGroup

from .core.terminal import one_line


def _create_app():
    from . import create_app
    from .config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc))


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
            mapped = one_line(exc)
            raise (mapped or _unexpected(exc)) from None


def register_commands(app) -> None:
    from .cli_commands import register

    register(app)


main = KaoheGroup(create_app=_create_app, add_version_option=False, load_dotenv=False,
                  help="Kaohe (考核): civil-servant assessment platform.")


def entry():  # pragma: no cover
    main()
