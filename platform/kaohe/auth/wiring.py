"""Connect Flask-Login to our accounts: cookie sessions for pages, bearer
tokens for the API (and only tokens there, so the API needs no CSRF)."""
from __future__ import annotations

from flask import Flask, g, jsonify, request
from flask_login import current_user

from ..extensions import csrf, login_manager
from ..tenancy.scope import Scope, apply_scope
from .service import user_for_session, user_for_token

API_PREFIX = "/api/v1"
PUBLIC_API = {f"{API_PREFIX}/auth/token", f"{API_PREFIX}/openapi.json", f"{API_PREFIX}/health"}


def init_auth(app: Flask) -> None:
    from .ratelimit import init_limits

    init_limits(app)
    login_manager.login_view = "web.login"
    login_manager.session_protection = "strong"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(user_key: str):
        if request.path.startswith("/api/"):
            return None  # the API authenticates by token only
        try:
            uid_s, token = user_key.split(":", 1)
            uid = int(uid_s)
        except (ValueError, AttributeError):
            return None
        return user_for_session(uid, token)

    @login_manager.request_loader
    def load_from_token(req):
        if not req.path.startswith("/api/"):
            return None
        header = req.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        return user_for_token(header[7:].strip())

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import redirect, url_for

        if request.path.startswith("/api/"):
            return jsonify(code=401, status="Unauthorized", message="Authentication required."), 401
        return redirect(url_for("web.login", next=request.full_path if request.query_string else request.path))

    @app.before_request
    def _start_request():
        apply_scope(Scope())
        if request.path.startswith("/api/"):
            # (the body size limit: kaohe.core.guard)
            public = request.path in PUBLIC_API or request.path.startswith(f"{API_PREFIX}/docs")
            # Only getting a token is public; revoking one (DELETE) needs it.
            if request.path == f"{API_PREFIX}/auth/token" and request.method != "POST":
                public = False
            if not public:
                if not current_user.is_authenticated:
                    return login_manager.unauthorized()

    @app.teardown_request
    def _end_request(exc):
        g.pop("kaohe_grants", None)
        g.pop("kaohe_token_id", None)


def exempt_api_from_csrf(blueprint) -> None:
    csrf.exempt(blueprint)
