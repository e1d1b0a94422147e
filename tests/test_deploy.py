"""The deployment files and the README say what they promise: the two set-up
commands, a gunicorn config that loads, a compose file that migrates before
serving and runs the app as the non-owner role, systemd units for web,
migrations and workers, and an nginx example whose upload limit matches the
app's."""
from __future__ import annotations

import configparser
import re
import runpy
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"

DEMO_CMD = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/kaohe demo"
TEST_CMD = "bash .ci/test.sh"  # services, roles, venv with the test extra, pytest (see .ci/test.sh)


def test_readme_has_exactly_the_two_setup_commands():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", text, re.S)
    assert blocks[:2] == [DEMO_CMD, TEST_CMD], blocks[:2]
    assert "kaohe-demo-2026" in text and "/api/v1/openapi.json" in text and "/api/v1/docs" in text
    for var in ("KAOHE_DATABASE_URL", "KAOHE_MIGRATE_DATABASE_URL", "KAOHE_REDIS_URL", "KAOHE_SECRET_KEY",
                "KAOHE_PRODUCTION"):
        assert var in text, var


def test_ci_runs_the_readme_test_command():
    run = (ROOT / ".ci" / "run").read_text()
    assert "bash .ci/test.sh" in run
    ci = (ROOT / ".ci" / "test.sh").read_text()
    assert "pip install -q -e '.[test]'" in ci or "pip install -e '.[test]'" in ci
    assert ".venv/bin/pytest" in ci


def test_gunicorn_config_loads_and_scales_with_cores(monkeypatch):
    monkeypatch.setenv("KAOHE_WEB_WORKERS", "3")
    cfg = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert cfg["workers"] == 3 and cfg["worker_class"] == "gthread"
    assert cfg["timeout"] >= 30 and cfg["preload_app"] is False
    assert "%(M)s" in cfg["access_log_format"]  # request time is logged
    monkeypatch.delenv("KAOHE_WEB_WORKERS")
    cfg = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert 3 <= cfg["workers"] <= 17


def test_compose_migrates_first_and_runs_as_the_app_role():
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = doc["services"]
    assert {"db", "redis", "migrate", "web", "worker"} <= set(services)
    for name in ("web", "worker"):
        svc = services[name]
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "kaohe_app:" in svc["environment"]["KAOHE_DATABASE_URL"]
        assert svc["environment"]["KAOHE_PRODUCTION"] == "1"
    assert services["migrate"]["command"] == ["kaohe", "db", "upgrade"]
    assert "kaohe_owner:" in services["migrate"]["environment"]["KAOHE_MIGRATE_DATABASE_URL"]
    init = (DEPLOY / "postgres-init" / "01-roles.sh").read_text()
    assert re.search(r"CREATE ROLE kaohe_app\s+LOGIN .*NOSUPERUSER NOBYPASSRLS", init)
    assert "OWNER kaohe_owner" in init


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


def test_systemd_units():
    web = _unit("kaohe-web.service")
    assert "gunicorn -c /opt/kaohe/deploy/gunicorn.conf.py kaohe.wsgi:app" in web["Service"]["ExecStart"]
    assert "kaohe-migrate.service" in web["Unit"]["Requires"]
    worker = _unit("kaohe-worker@.service")
    assert worker["Service"]["ExecStart"].endswith("kaohe worker")
    assert _unit("kaohe-migrate.service")["Service"]["ExecStart"].endswith("kaohe db upgrade")
    for unit in (web, worker):
        assert unit["Service"]["User"] == "kaohe" and unit["Service"]["NoNewPrivileges"] == "true"
    # Timers: each runs an existing command of the app.
    for timer, command in (("kaohe-routine-remind", "kaohe routine remind"),
                           ("kaohe-supervision-refresh", "kaohe supervision refresh")):
        assert "Timer" in _unit(f"{timer}.timer")
        service = _unit(f"{timer}.service")["Service"]
        assert service["ExecStart"].endswith(command) and service["User"] == "kaohe"


def test_supervision_refresh_of_every_province(app, world, runner, backend):
    result = runner.invoke(args=["supervision", "refresh"])
    assert result.exit_code == 0, result.output
    assert "P:" in result.output and "P2-P:" in result.output
    bad = runner.invoke(args=["supervision", "refresh", "--org", "no-such-code"])
    assert bad.exit_code == 1 and "no org node with code no-such-code" in bad.output


def test_nginx_upload_limit_matches_the_app(tmp_path):
    from kaohe.config import load_config

    nginx = (DEPLOY / "nginx.conf.example").read_text()
    m = re.search(r"client_max_body_size (\d+)m;", nginx)
    assert m, "no client_max_body_size"
    app_limit = load_config(str(tmp_path), {"SECRET_KEY": "x"})["MAX_CONTENT_LENGTH"]
    assert int(m.group(1)) * 1024 * 1024 == app_limit
    for header in ("Strict-Transport-Security", "X-Content-Type-Options", "Content-Security-Policy",
                   "X-Frame-Options"):
        assert header in nginx
    assert "location /static/" in nginx


def test_ci_and_test_harness_migrate_as_the_owner_deploy_creates():
    """Security finding 6: the test harness and CI migrate as a non-superuser
    owner with exactly the attributes deploy/postgres-init/01-roles.sh gives it,
    and set the schema up the same way."""
    from kaohe.testing import databases

    init = (DEPLOY / "postgres-init" / "01-roles.sh").read_text()

    def attrs(role: str, text: str) -> set[str]:
        m = re.search(rf"CREATE ROLE \$?{{?{role}}}?\s+(.*?);", text)
        assert m, role
        return {w for w in m.group(1).split() if re.fullmatch(r"[A-Z]+", w) and w != "PASSWORD"}

    assert attrs("kaohe_owner", init) == set(databases.OWNER_ATTRS.split())
    assert attrs("kaohe_app", init) == set(databases.APP_ATTRS.split())
    assert "NOSUPERUSER" in databases.OWNER_ATTRS
    for stmt in ("ALTER SCHEMA public OWNER TO", "REVOKE ALL ON SCHEMA public FROM PUBLIC",
                 "GRANT USAGE ON SCHEMA public TO"):
        assert stmt in init
        assert stmt in (ROOT / "platform" / "kaohe" / "testing" / "databases.py").read_text()
    ci = (ROOT / ".ci" / "test.sh").read_text()
    assert attrs("OWNER_ROLE", ci) == set(databases.OWNER_ATTRS.split())
