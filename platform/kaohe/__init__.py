"""Kaohe (考核): the app factory.  Creating an app has no side effects: it
does not touch the database, migrate, or start anything."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask

__version__ = "0.1.0"

PACKAGE_DIR = Path(__file__).resolve().parent


def default_instance_path() -> str:
    return os.environ.get("KAOHE_INSTANCE_PATH") or str(Path.cwd() / "instance")


def migrations_dir() -> str:
    env = os.environ.get("KAOHE_MIGRATIONS_DIR")
    if env:
        return env
    for candidate in (PACKAGE_DIR.parent.parent / "migrations", Path.cwd() / "migrations"):
        if (candidate / "env.py").exists():
            return str(candidate)
    return str(PACKAGE_DIR.parent.parent / "migrations")


def create_app(config: dict | None = None) -> Flask:
    from .config import load_config
    from .extensions import babel, csrf, db, login_manager, migrate

    instance_path = (config or {}).get("INSTANCE_PATH") or default_instance_path()
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.config.update(load_config(app.instance_path, config))
    logging.basicConfig(level=logging.INFO if not app.testing else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from .core.guard import init_guard, install_converters

    install_converters(app)  # before any route is added
    init_guard(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=migrations_dir())
    from .core.dbrole import install as install_db_role_check

    install_db_role_check(app)  # checked lazily, on the first connection
    _install_pool_liveness(app)
    csrf.init_app(app)
    login_manager.init_app(app)

    from .web.i18n import select_locale, select_timezone

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories=str(PACKAGE_DIR / "translations"))

    from . import models  # noqa: F401  (register every model with the metadata)
    from .auth.wiring import init_auth
    from .core.errors import register_error_handlers
    from .jobs.queue import init_jobs
    from .shell import init_api, init_web, load_jobs

    init_auth(app)
    load_jobs()
    init_jobs(app)
    init_api(app)
    init_web(app)
    register_error_handlers(app)

    from .cli import register_commands

    register_commands(app)
    return app


def _install_pool_liveness(app: Flask) -> None:
    """PostgreSQL engines without per-checkout pings get pings after idling
    (kaohe.core.pool); an engine configured with ``pool_pre_ping`` keeps it."""
    from .core.pool import install
    from .extensions import db

    if app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}).get("pool_pre_ping"):
        return
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        install(engine, float(app.config["KAOHE_DB_PING_IDLE_SECONDS"]))
