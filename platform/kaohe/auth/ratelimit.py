"""Per-IP limits in the app (the login throttle counts per username; this
counts per client address, so one address cannot spray many usernames).
Flask-Limiter, with Redis storage when KAOHE_REDIS_URL is set (shared by
every worker) and in-process memory otherwise.  Behind a reverse proxy set
KAOHE_TRUSTED_PROXIES to the number of proxies in front, so the client
address is read from X-Forwarded-For (werkzeug's ProxyFix).

Redis down never turns a sign-in into a 500: the limits move to in-process
memory (Flask-Limiter's in-memory fallback, per worker, so the limit still
holds per worker) until Redis answers again, and any other storage error is
logged and swallowed."""
from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter import Limiter


def _client_address() -> str:
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=_client_address, headers_enabled=True)


def login_ip_limit() -> str:
    return current_app.config["KAOHE_LOGIN_IP_LIMIT"]


def init_limits(app: Flask) -> None:
    app.config.setdefault("KAOHE_LOGIN_IP_LIMIT", "30 per minute;300 per hour")
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("KAOHE_REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "kaohe-limits")
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://", "unix://")):
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 2})
    proxies = int(app.config.get("KAOHE_TRUSTED_PROXIES") or 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    limiter.init_app(app)
