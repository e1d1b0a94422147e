"""Settings come from the environment, read when the app is created (never at
import time), so tests and the CLI can build apps with other settings."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from orjson import loads as _orjson_loads


class ConfigError(RuntimeError):
    """A setting that makes a safe start impossible."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# Operational knobs read from the environment: name -> (type, default).  Every
# app has them in its config (load_config), typed and checked here, so the code
# reads app.config[name] without a default of its own.
TUNABLES: dict[str, tuple[type, object]] = {
    "KAOHE_ROSTER_MAX_ROWS": (int, 20000),            # largest roster upload, rows
    "KAOHE_DASHBOARD_CACHE_SECONDS": (float, 30),     # in-process cache of a built dashboard
    "KAOHE_DASHBOARD_LIVE_MAX_UNITS": (int, 300),     # above this many units: read the snapshot
    "KAOHE_DASHBOARD_SNAPSHOT_SECONDS": (float, 900), # a snapshot older than this is not used
    "KAOHE_DB_PING_IDLE_SECONDS": (float, 1.0),       # ping a pooled connection idle longer than this (core.pool)
    "KAOHE_PERIOD_GRACE_DAYS": (int, 15),             # days after a period's end before it is overdue
    "KAOHE_PUBLICISE_WITHIN_DAYS": (int, 7),          # computed but not publicised after this: a flag
    "KAOHE_EXPORT_DIR": (str, None),                  # where large exports are written (instance/exports)
    "KAOHE_TENANTS_DIR": (str, None),                 # the tenant packs the operator's page offers (repo tenants/)
}


def _tunables(env) -> dict:
    out = {}
    for name, (kind, default) in TUNABLES.items():
        raw = env.get(name)
        if raw is None or raw == "":
            out[name] = default
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{name} must be {'an integer' if kind is int else 'a number'}, got {raw!r}")
        if kind in (int, float) and value < 0:
            raise ConfigError(f"{name} must not be negative, got {raw!r}")
        out[name] = value
    return out


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    env = os.environ
    overrides = dict(overrides or {})
    production = _bool(env.get("KAOHE_PRODUCTION")) or env.get("KAOHE_ENV") == "production"
    secret = overrides.get("SECRET_KEY") or env.get("KAOHE_SECRET_KEY")
    if not secret:
        if production:
            raise ConfigError("KAOHE_SECRET_KEY is not set; refusing a production start")
        secret = _dev_secret(instance_path)
    db_url = env.get("KAOHE_DATABASE_URL") or "sqlite:///" + str(Path(instance_path) / "kaohe.db")
    cfg = {
        "SECRET_KEY": secret,
        "KAOHE_PRODUCTION": production,
        "SQLALCHEMY_DATABASE_URI": db_url,
        # Migrations may run as a more privileged role (the table owner).
        "KAOHE_MIGRATE_DATABASE_URL": env.get("KAOHE_MIGRATE_DATABASE_URL") or db_url,
        "KAOHE_APP_ROLE": env.get("KAOHE_APP_ROLE", "kaohe_app"),
        # Signs the database scope (core.scopesig) and the audit log (audit.mac);
        # unset: derived from SECRET_KEY.  Never stored where the app role can read it.
        "KAOHE_SCOPE_KEY": env.get("KAOHE_SCOPE_KEY") or None,
        "KAOHE_AUDIT_KEY": env.get("KAOHE_AUDIT_KEY") or None,
        "KAOHE_REDIS_URL": env.get("KAOHE_REDIS_URL") or None,
        "KAOHE_RQ_QUEUE": env.get("KAOHE_RQ_QUEUE") or "kaohe",
        # "thread" (web default), "sync" (CLI/tests) or "rq" when Redis is set.
        "KAOHE_JOBS_MODE": env.get("KAOHE_JOBS_MODE") or None,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "MAX_CONTENT_LENGTH": int(env.get("KAOHE_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)),
        "KAOHE_MAX_JSON_BYTES": int(env.get("KAOHE_MAX_JSON_BYTES", 1024 * 1024)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "KAOHE_LOGIN_MAX_FAILURES": int(env.get("KAOHE_LOGIN_MAX_FAILURES", 5)),
        "KAOHE_LOGIN_LOCK_SECONDS": int(env.get("KAOHE_LOGIN_LOCK_SECONDS", 900)),
        "KAOHE_TOKEN_DAYS": int(env.get("KAOHE_TOKEN_DAYS", 30)),
        # Log-in attempts per client address (Flask-Limiter syntax), and how
        # many reverse proxies in front set X-Forwarded-For.
        "KAOHE_LOGIN_IP_LIMIT": env.get("KAOHE_LOGIN_IP_LIMIT", "30 per minute;300 per hour"),
        "KAOHE_TRUSTED_PROXIES": int(env.get("KAOHE_TRUSTED_PROXIES", 0)),
        "KAOHE_REFUSE_PRIVILEGED_DB_ROLE": _bool(env.get("KAOHE_REFUSE_PRIVILEGED_DB_ROLE"), production),
        "KAOHE_MAIL_SERVER": env.get("KAOHE_MAIL_SERVER") or None,
        # Notification robots (kaohe.notify): the only hosts ever contacted, tries per message, seconds between
        "KAOHE_NOTIFY_HOSTS": [h.strip() for h in env.get("KAOHE_NOTIFY_HOSTS", "qyapi.weixin.qq.com,oapi.dingtalk.com")
                               .split(",") if h.strip()],
        "KAOHE_NOTIFY_ATTEMPTS": int(env.get("KAOHE_NOTIFY_ATTEMPTS", 3)),
        "KAOHE_NOTIFY_BACKOFF": float(env.get("KAOHE_NOTIFY_BACKOFF", 2.0)),
        # flask-smorest / OpenAPI
        "API_TITLE": "Kaohe API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_RAPIDOC_PATH": "/docs",
        "OPENAPI_RAPIDOC_URL": "/static/vendor/rapidoc/rapidoc-min.js",
        # Offline-safe: RapiDoc must not fetch its web fonts from Google.
        "OPENAPI_RAPIDOC_CONFIG": {
            "load-fonts": "false", "theme": "light", "render-style": "read", "show-header": "false",
            "primary-color": "#a61b1b", "allow-spec-url-load": "false", "allow-spec-file-load": "false",
            "regular-font": "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif",
            "mono-font": "ui-monospace, Menlo, Consolas, monospace",
        },
    }
    cfg.update(_tunables(env))
    cfg.update(overrides)
    if "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
        if str(cfg["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
            cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}, "json_deserializer": json_loads}
        else:
            # liveness: kaohe.core.pool pings connections that idled (not every checkout)
            cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 10, "max_overflow": 10,
                                                "json_deserializer": json_loads}
    return cfg


def json_loads(value):
    """JSON columns decode with orjson, several times faster than the standard
    library (explanations, snapshots, frozen policies; the values are ours).
    SQLite hands a JSON number over as a number, which orjson refuses."""
    if isinstance(value, (int, float)):
        return value
    return _orjson_loads(value)


def _dev_secret(instance_path: str) -> str:
    """A per-instance random key for development and the demo, kept in the
    instance folder so sessions survive restarts."""
    path = Path(instance_path) / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        path.write_text(key)
        path.chmod(0o600)
        return key
