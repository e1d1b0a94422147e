"""Errors a business operation raises, and how they reach people: JSON with
field messages under /api, a page otherwise.  No traceback ever reaches a
user; unexpected errors are logged with an id the user can quote."""
from __future__ import annotations

import logging
import uuid

from flask import Flask, current_app, flash, jsonify, redirect, render_template, request
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from .exceptions import Conflict, Forbidden, Invalid, KaoheError  # noqa: F401  (raised by every slice)

log = logging.getLogger("kaohe")


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _api_error(status: int, message: str, errors: dict | None = None, **extra):
    # The messages in the request's language: the app registers a localizer
    # (``app.extensions["kaohe.api_localizer"]``, set by the shell, which knows the catalog).
    localize = current_app.extensions.get("kaohe.api_localizer")
    if localize is not None:
        message, errors = localize(message, errors)
    body = {"code": status, "status": _STATUS_NAMES.get(status, "Error"), "message": message}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return jsonify(body), status


_STATUS_NAMES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                 405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large",
                 422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error"}


def _keep_headers(exc: HTTPException, body, status: int):
    """The response for ``exc`` with the headers it carries (``Allow`` on a
    405, ``Retry-After`` on a 429, ``WWW-Authenticate``)."""
    from flask import make_response

    resp = make_response(body, status)
    for key, value in exc.get_headers():
        if key.lower() != "content-type":
            resp.headers[key] = value
    if getattr(exc, "response", None) is not None:
        for key, value in exc.response.headers.items():
            if key.lower() in ("retry-after", "allow", "www-authenticate"):
                resp.headers[key] = value
    return resp


def register_error_handlers(app: Flask) -> None:
    from .. import extensions

    def rollback():
        try:
            extensions.db.session.rollback()
        except Exception:  # pragma: no cover - connection already gone
            pass

    @app.teardown_appcontext
    def _remove_session_safely(exc):
        """Registered after Flask-SQLAlchemy's, so it runs first: ending the
        session rolls back, and a connection that died meanwhile (a database
        restart) must not turn a finished request into a raw 500.  The dead
        connection is invalidated and the pool (pre-ping) replaces it."""
        session = extensions.db.session
        try:
            session.remove()
        except Exception as err:  # noqa: BLE001
            log.warning("session teardown: connection lost (%s); discarded", type(err).__name__)
            try:
                session.registry().invalidate()
            except Exception:  # noqa: BLE001
                pass
            session.registry.clear()

    @app.errorhandler(KaoheError)
    def _kaohe_error(exc: KaoheError):
        rollback()
        if is_api_request():
            return _api_error(exc.status, exc.message, exc.errors)
        return render_template("error.html", status=exc.status, message=exc.message, errors=exc.errors), exc.status

    @app.errorhandler(StaleDataError)
    def _stale(exc):
        rollback()
        msg = "Someone else changed this record first; reload to see the newer version."
        if is_api_request():
            return _api_error(409, msg)
        return render_template("error.html", status=409, message=msg, errors={}), 409

    @app.errorhandler(IntegrityError)
    def _integrity(exc):
        rollback()
        log.warning("integrity error: %s", exc.orig)
        msg = "The change conflicts with existing data (a duplicate or a missing reference)."
        if is_api_request():
            return _api_error(409, msg)
        return render_template("error.html", status=409, message=msg, errors={}), 409

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if exc.code and exc.code >= 400:
            rollback()
        if not is_api_request():
            if exc.code in (400, 403, 404, 405, 409, 413, 422, 429):
                return _keep_headers(exc, render_template("error.html", status=exc.code, message=exc.description,
                                                          errors={}), exc.code)
            return exc
        data = getattr(exc, "data", None) or {}
        errors = data.get("messages") or data.get("errors")
        # webargs nests messages by location; flatten the JSON body's.
        if isinstance(errors, dict) and set(errors) <= {"json", "query", "form", "files", "headers", "view_args"}:
            flat: dict = {}
            for loc in errors.values():
                if isinstance(loc, dict):
                    flat.update(loc)
                else:
                    flat.setdefault("_schema", []).extend(loc if isinstance(loc, list) else [loc])
            errors = flat
        body, status = _api_error(exc.code or 500, data.get("message") or exc.description or exc.name, errors)
        return _keep_headers(exc, body, status)

    @app.errorhandler(DataError)
    def _bad_value(exc):
        # A value the database cannot hold (a number out of range, bad text):
        # the request's fault, not the server's.
        rollback()
        log.warning("data error: %s", getattr(exc, "orig", exc))
        msg = "A value in the request is out of range or not valid."
        if is_api_request():
            return _api_error(422, msg)
        return render_template("error.html", status=422, message=msg, errors={}), 422

    @app.errorhandler(OperationalError)
    def _db_down(exc):
        rollback()
        ref = uuid.uuid4().hex[:8]
        log.error("database error %s: %s", ref, exc)
        msg = f"The database is not available right now (ref {ref})."
        if is_api_request():
            return _api_error(503, msg)
        return render_template("error.html", status=503, message=msg, errors={}), 503

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http(exc)
        if _connection_lost(exc):  # a dead connection seen as another DBAPI error class
            return _db_down(exc)
        if isinstance(exc, OverflowError):  # SQLite: an integer beyond 64 bits
            return _bad_value(exc)
        rollback()
        ref = uuid.uuid4().hex[:8]
        log.exception("unhandled error %s", ref)
        msg = f"An unexpected error occurred (ref {ref}); nothing was saved."
        if is_api_request():
            return _api_error(500, msg)
        return render_template("error.html", status=500, message=msg, errors={}), 500


def _connection_lost(exc: Exception) -> bool:
    from sqlalchemy.exc import DBAPIError, InterfaceError, PendingRollbackError

    if isinstance(exc, (InterfaceError, PendingRollbackError)):
        return True
    return isinstance(exc, DBAPIError) and bool(getattr(exc, "connection_invalidated", False))
