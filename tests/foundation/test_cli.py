"""The `kaohe` command: one line and exit 1 for bad input, the demo is safe
to run twice, and a production start without a secret key refuses."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kaohe.auth.models import RoleGrant, User
from kaohe.extensions import db
from kaohe.tenancy.scope import Scope, apply_scope

PW = "a-long-password-1"


def kaohe(env_extra: dict, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the installed console script in a clean environment, no stdin."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAOHE_")}
    env.update(env_extra)
    exe = Path(sys.executable).with_name("kaohe")
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=str(Path(env_extra["KAOHE_INSTANCE_PATH"]).parent))


def _one_error_line(result_output: str) -> str:
    lines = [line for line in result_output.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got: {result_output!r}"
    assert "Traceback" not in result_output
    assert lines[0].startswith("Error: ")
    return lines[0]


def _users(app, username):
    with app.app_context():
        apply_scope(Scope.system("t"))
        user = db.session.execute(select(User).where(func.lower(User.username) == username.lower())).scalar_one_or_none()
        out = None
        if user is not None:
            roles = db.session.execute(select(RoleGrant.role).where(RoleGrant.user_id == user.id)).scalars().all()
            out = {"id": user.id, "org_id": user.org_id, "roles": sorted(roles)}
        db.session.remove()
    return out


@pytest.mark.parametrize("args, message", [
    (["--org", "NOPE", "--role", "staff"], "org: unknown org code NOPE"),
    (["--org", "T1", "--role", "king"], "role: unknown role 'king'"),
    (["--org", "T1", "--role", "staff", "--province", "ZZ"], "province: unknown province code ZZ"),
    (["--org", "T1", "--role", "staff", "--password", "short"], "password: at least 10 characters"),
    (["--org", "T1", "--role", "staff", "--username-taken"], "username: This username is already taken."),
])
def test_users_create_bad_input_is_one_line(app, world, backend, args, message):
    username = "t2admin" if "--username-taken" in args else "cli-user"
    args = [a for a in args if a != "--username-taken"]
    if "--password" not in args:
        args += ["--password", PW]
    result = app.test_cli_runner().invoke(args=["users", "create", username, *args])
    assert result.exit_code == 1
    line = _one_error_line(result.output)
    assert message in line, line
    if username == "cli-user":
        assert _users(app, "cli-user") is None  # nothing half written


def test_users_create_ambiguous_code_needs_province(app, world, backend):
    # "T1" exists only in P1 ("P2-T1" in P2), so make a real clash first.
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "cli-a", "--org", "T1", "--role", "unit_admin", "--password", PW])
    assert result.exit_code == 0, result.output
    assert result.output.strip().startswith("created cli-a (id ")
    info = _users(app, "cli-a")
    assert info["org_id"] == world.ids["P1-T1"] and info["roles"] == ["unit_admin"]
    result = runner.invoke(args=["users", "create", "cli-b", "--org", "T1", "--province", "P2-P", "--role", "staff",
                                 "--password", PW])
    assert result.exit_code == 1 and "unknown org code T1" in _one_error_line(result.output)
    result = runner.invoke(args=["users", "create", "cli-op", "--password", PW])
    assert result.exit_code == 0, result.output
    assert _users(app, "cli-op")["roles"] == ["platform_operator"]
    # The creation is audited in the province's chain.
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_users_create_without_stdin_does_not_hang(app, world, backend):
    result = app.test_cli_runner().invoke(args=["users", "create", "cli-c", "--org", "T1", "--role", "staff"],
                                          input="")
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert _users(app, "cli-c") is None


def _sqlite_fingerprint(path: Path) -> dict:
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        out = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        out["audit_last_hash"] = con.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        out["org_versions"] = con.execute("SELECT sum(version) FROM org_node").fetchone()[0]
        return out
    finally:
        con.close()


def test_demo_no_serve_twice_is_safe(tmp_path):
    inst = tmp_path / "instance"
    env = {"KAOHE_INSTANCE_PATH": str(inst)}
    first = kaohe(env, "demo", "--no-serve")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Demo logins" in first.stdout
    db_path = inst / "kaohe.db"
    assert db_path.exists()
    fp = _sqlite_fingerprint(db_path)
    assert fp["person"] >= 250 and fp["user_account"] >= 6 and fp["org_node"] >= 10
    second = kaohe(env, "demo", "--no-serve")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "already built" in second.stdout
    assert _sqlite_fingerprint(db_path) == fp
    verify = kaohe(env, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "BROKEN" not in verify.stdout


def test_production_start_without_secret_refuses(tmp_path):
    env = {"KAOHE_ENV": "production", "KAOHE_INSTANCE_PATH": str(tmp_path)}
    for args in (["serve", "--port", "5199"], ["worker", "--burst"], ["demo", "--no-serve"]):
        proc = kaohe(env, *args, timeout=60)
        assert proc.returncode != 0, args
        assert proc.stdout == ""
        line = _one_error_line(proc.stderr)
        assert line == "Error: KAOHE_SECRET_KEY is not set; refusing a production start", line
    assert not (tmp_path / "secret_key").exists()  # no key was made up
    proc = kaohe({"KAOHE_PRODUCTION": "1", "KAOHE_INSTANCE_PATH": str(tmp_path)}, "serve", timeout=60)
    assert proc.returncode != 0 and "KAOHE_SECRET_KEY" in _one_error_line(proc.stderr)


def test_cli_database_unreachable_is_one_line(tmp_path):
    env = {"KAOHE_INSTANCE_PATH": str(tmp_path), "KAOHE_SECRET_KEY": "x",
           "KAOHE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    proc = kaohe(env, "audit", "verify", timeout=60)
    assert proc.returncode == 1
    line = _one_error_line(proc.stderr)
    assert line.startswith("Error: database not reachable"), line


def test_cli_on_a_database_without_schema_says_to_migrate(tmp_path):
    """Any command, decorated or not, on an empty database: one line naming
    `kaohe db upgrade`, exit 1, no traceback."""
    env = {"KAOHE_INSTANCE_PATH": str(tmp_path), "KAOHE_SECRET_KEY": "x",
           "KAOHE_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    for args in (["bench", "policy", "--n", "1"], ["audit", "verify"]):
        proc = kaohe(env, *args, timeout=120)
        assert proc.returncode == 1, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
        line = _one_error_line(proc.stderr)
        assert line.startswith("Error: the database has no schema yet") and "kaohe db upgrade" in line, line


def test_demo_on_a_busy_port_is_one_line_before_any_work(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = kaohe({"KAOHE_INSTANCE_PATH": str(tmp_path)}, "demo", "--port", str(port), timeout=60)
    assert proc.returncode == 1
    assert _one_error_line(proc.stderr) == f"Error: cannot listen on 127.0.0.1:{port} (Address already in use); " \
                                           "choose another port with --port"
    assert not (tmp_path / "kaohe.db").exists()  # nothing was built


def test_tunables_come_from_the_environment_and_bad_ones_refuse_to_start(tmp_path, monkeypatch):
    from kaohe import create_app
    from kaohe.config import ConfigError

    monkeypatch.setenv("KAOHE_ROSTER_MAX_ROWS", "500")
    monkeypatch.setenv("KAOHE_DASHBOARD_SNAPSHOT_SECONDS", "60")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["KAOHE_ROSTER_MAX_ROWS"] == 500 and app.config["KAOHE_DASHBOARD_SNAPSHOT_SECONDS"] == 60.0
    assert app.config["KAOHE_PERIOD_GRACE_DAYS"] == 15
    monkeypatch.setenv("KAOHE_ROSTER_MAX_ROWS", "lots")
    with pytest.raises(ConfigError, match="KAOHE_ROSTER_MAX_ROWS must be an integer"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                    "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    proc = kaohe({"KAOHE_INSTANCE_PATH": str(tmp_path), "KAOHE_ROSTER_MAX_ROWS": "lots"}, "audit", "verify",
                 timeout=60)
    assert proc.returncode == 1
    assert _one_error_line(proc.stderr) == "Error: KAOHE_ROSTER_MAX_ROWS must be an integer, got 'lots'"
