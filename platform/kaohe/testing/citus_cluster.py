"""A database on the local three-node Citus cluster (../shared/citus/cluster.sh:
coordinator 127.0.0.1:5601, workers 5602 and 5603) for the Citus tests and
benchmarks: created on every node with the extension, the workers registered
on the coordinator, the app role present everywhere."""
from __future__ import annotations

import os

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from .databases import APP_ROLE

HOST = os.environ.get("KAOHE_CITUS_HOST", "127.0.0.1")
COORDINATOR_PORT = int(os.environ.get("KAOHE_CITUS_COORDINATOR_PORT", "5601"))
WORKER_PORTS = [int(p) for p in os.environ.get("KAOHE_CITUS_WORKER_PORTS", "5602,5603").split(",")]


class CitusUnavailable(RuntimeError):
    pass


def _url(port: int, dbname: str, user: str = "postgres") -> str:
    return f"postgresql+psycopg://{user}@{HOST}:{port}/{dbname}"


def _run(port: int, dbname: str, *stmts: str) -> list:
    eng = create_engine(_url(port, dbname), isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            return [c.execute(text(s)).all() if s.lstrip().upper().startswith("SELECT") else c.execute(text(s))
                    for s in stmts]
    finally:
        eng.dispose()


def create_citus_database(name: str) -> tuple[str, str]:
    """Create ``name`` on every node (workers first) with the citus extension and
    register the workers.  Returns (owner_url, app_url) of the coordinator."""
    role = (f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN "
            f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; END $$")
    try:
        for port in [*WORKER_PORTS, COORDINATOR_PORT]:
            _run(port, "postgres", role, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
            _run(port, name, "CREATE EXTENSION IF NOT EXISTS citus")
        _run(COORDINATOR_PORT, name, f"SELECT citus_set_coordinator_host('{HOST}', {COORDINATOR_PORT})",
             *[f"SELECT citus_add_node('{HOST}', {p})" for p in WORKER_PORTS])
    except Exception as exc:  # noqa: BLE001
        raise CitusUnavailable(f"the Citus cluster is not usable at {HOST}:{COORDINATOR_PORT} "
                               f"(bash ../shared/citus/cluster.sh starts it): {exc}") from exc
    owner = make_url(_url(COORDINATOR_PORT, name))
    return owner.render_as_string(hide_password=False), owner.set(username=APP_ROLE).render_as_string(
        hide_password=False)


def drop_citus_database(name: str) -> None:
    for port in [COORDINATOR_PORT, *WORKER_PORTS]:
        _run(port, "postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def placements(owner_url: str) -> dict[str, int]:
    """Rows of pg_dist_partition by method: {'distributed': n, 'reference': m}."""
    eng = create_engine(owner_url)
    try:
        with eng.connect() as c:
            rows = c.execute(text("SELECT partmethod, count(*) FROM pg_dist_partition GROUP BY 1")).all()
    finally:
        eng.dispose()
    names = {"h": "distributed", "n": "reference"}
    return {names.get(m, m): n for m, n in rows}


if __name__ == "__main__":   # python -m kaohe.testing.citus_cluster create|drop NAME
    import sys

    usage = "usage: python -m kaohe.testing.citus_cluster create|drop NAME"
    if len(sys.argv) != 3 or sys.argv[1] not in ("create", "drop"):
        raise SystemExit(usage)
    cmd, name = sys.argv[1], sys.argv[2]
    try:
        if cmd == "create":
            print(create_citus_database(name)[0])
        else:
            drop_citus_database(name)
    except Exception as exc:  # noqa: BLE001  (one line, no traceback)
        raise SystemExit(f"citus_cluster {cmd} {name}: {exc}")
