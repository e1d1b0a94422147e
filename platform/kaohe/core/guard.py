"""Request and response hardening shared by pages and API (issue 11):

* ids in URLs are 64-bit: ``<int:...>`` matches only 0..2**63-1, so a larger
  id is a plain 404 (never a database overflow);
* NUL characters in the path, query string or form are refused (422 on the
  API, 400 on pages): PostgreSQL text cannot hold them;
* the API body limit (KAOHE_MAX_JSON_BYTES) holds for a chunked body (no
  Content-Length) too: it is read up to the limit and refused beyond it;
* a value the database cannot take (out of range) is a 422, not a 500;
* security headers on every response: a CSP without inline scripts,
  frame-ancestors 'none', nosniff, a Referrer-Policy, and HSTS in production.
"""
from __future__ import annotations

from flask import Flask, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2 ** 63 - 1

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")


class IdConverter(IntegerConverter):
    """``<int:x>`` limited to what a BIGINT column holds."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def install_converters(app: Flask) -> None:
    """Before any blueprint registers its routes."""
    app.url_map.converters["int"] = IdConverter


def _has_nul() -> bool:
    if "\x00" in request.path:
        return True
    if any("\x00" in k or "\x00" in v for k, vs in request.args.lists() for v in [k, *vs]):
        return True
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        return any("\x00" in v for vs in request.form.listvalues() for v in vs)
    return False


def _json_has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_json_has_nul(k) or _json_has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_json_has_nul(v) for v in value)
    return False


def _buffer_chunked_body(limit: int) -> None:
    """A chunked body (no Content-Length): read at most ``limit`` + 1 bytes
    from the server's stream; more is a 413, less becomes an ordinary body
    with a known length (werkzeug would silently cut it at the limit)."""
    import io

    from werkzeug.exceptions import RequestEntityTooLarge

    env = request.environ
    raw = env["wsgi.input"]
    chunks, size = [], 0
    while size <= limit:
        piece = raw.read(min(65536, limit + 1 - size))
        if not piece:
            break
        chunks.append(piece)
        size += len(piece)
    if size > limit:
        raise RequestEntityTooLarge(f"The request body is larger than {limit} bytes.")
    body = b"".join(chunks)
    env["wsgi.input"] = io.BytesIO(body)
    env["CONTENT_LENGTH"] = str(len(body))
    env.pop("wsgi.input_terminated", None)
    request.__dict__.pop("stream", None)
    request.__dict__.pop("content_length", None)


def init_guard(app: Flask) -> None:
    from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

    from .errors import Invalid

    @app.before_request
    def _guard_request():
        if request.path.startswith("/api/") and request.mimetype != "multipart/form-data":
            limit = app.config["KAOHE_MAX_JSON_BYTES"]
            if request.content_length and request.content_length > limit:
                raise RequestEntityTooLarge(f"The request body is larger than {limit} bytes.")
            if request.content_length is None and request.environ.get("wsgi.input_terminated"):
                _buffer_chunked_body(limit)
        if _has_nul():
            if request.path.startswith("/api/"):
                raise Invalid({"_request": ["NUL characters are not allowed."]})
            raise BadRequest("NUL characters are not allowed.")
        if request.path.startswith("/api/") and request.is_json and request.content_length != 0:
            data = request.get_json(silent=True)
            if _json_has_nul(data):
                raise Invalid({"json": ["NUL characters are not allowed."]})

    @app.after_request
    def _security_headers(resp):
        h = resp.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("KAOHE_PRODUCTION"):
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return resp
