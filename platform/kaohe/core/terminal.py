"""What every `kaohe` command shares, below the slices: an expected failure
becomes one line and a non-zero exit (`one_line_errors`), and a progress bar
on the terminal (`cli_progress`)."""
from __future__ import annotations

import functools
import sys

import click


def one_line(exc: BaseException) -> click.ClickException | None:
    """The one line a user sees for an expected failure (None: unexpected)."""
    from sqlalchemy.exc import DBAPIError, OperationalError
    from werkzeug.exceptions import NotFound

    from ..config import ConfigError
    from .errors import KaoheError

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
            mapped = one_line(exc)
            if mapped is None:
                raise
            raise mapped from None
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
