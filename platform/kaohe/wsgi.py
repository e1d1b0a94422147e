"""WSGI entry for gunicorn: `gunicorn kaohe.wsgi:app`.  Refuses to start
when the database role would bypass Row-Level Security (production)."""
from . import create_app
from .core.dbrole import check_database_role

app = create_app()
check_database_role(app)
