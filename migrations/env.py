"""Alembic environment.  Migrations connect with KAOHE_MIGRATE_DATABASE_URL
(the table owner), never as the app role; the app factory never migrates."""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine

config = context.config
if config.config_file_name:
    # keep the app's loggers alive when migrating in-process (kaohe demo, tests)
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_metadata = current_app.extensions["migrate"].db.metadata


def _url() -> str:
    return current_app.config.get("KAOHE_MIGRATE_DATABASE_URL") or current_app.config["SQLALCHEMY_DATABASE_URI"]


def run_migrations_offline():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = create_engine(_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
            _sync_scope_key(connection)
    engine.dispose()


def _sync_scope_key(connection):
    """Every upgrade stores this configuration's scope key (core.scopesig) in
    the owner-only key table, so the database verifies what this app signs."""
    if connection.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    from kaohe.core import scopesig

    if connection.execute(text("SELECT to_regclass(:t)"), {"t": scopesig.KEY_TABLE}).scalar() is not None:
        scopesig.sync_key(connection, scopesig.derive_key(current_app.config))


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
