"""The layering of DESIGN.md section 2 is a test: `lint-imports` checks the
[importlinter] contracts in setup.cfg (each package imports only the layers
below it; the arithmetic is pure; production code never imports the
benchmarks, the demo or the test fixtures) and this fails naming every broken
import.  Fix the import (move the code to the layer it belongs to), not the
contract."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PLATFORM = REPO / "platform"


def _lint_imports() -> str:
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = [str(exe)] if exe.exists() else [shutil.which("lint-imports") or "lint-imports"]
    return cmd[0]


def run_contracts(platform_dir: Path, config: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(platform_dir))
    return subprocess.run([_lint_imports(), "--config", str(config), "--no-cache"], cwd=platform_dir,
                          env=env, capture_output=True, text=True, timeout=240)


def test_import_contracts_hold():
    out = run_contracts(PLATFORM, REPO / "setup.cfg")
    assert "Contracts: 3 kept, 0 broken" in out.stdout, out.stdout[-6000:] + out.stderr[-2000:]
    assert out.returncode == 0


def test_a_domain_package_importing_upwards_is_caught(tmp_path):
    """The contract is not vacuous: a copy of the package in which the policy
    slice imports the supervision dashboard breaks it, naming the import."""
    copy = tmp_path / "platform"
    shutil.copytree(PLATFORM / "kaohe", copy / "kaohe",
                    ignore=shutil.ignore_patterns("static", "templates", "translations", "__pycache__"))
    calc = copy / "kaohe" / "policy" / "calc.py"
    calc.write_text(calc.read_text(encoding="utf-8") + "\nfrom ..supervision import dashboard  # noqa\n",
                    encoding="utf-8")
    out = run_contracts(copy, REPO / "setup.cfg")
    assert out.returncode != 0
    assert "kaohe.policy.calc -> kaohe.supervision.dashboard" in out.stdout, out.stdout[-4000:]


@pytest.mark.parametrize("importer, imported", [
    ("kaohe.cli_commands", "kaohe.cli"),
    ("kaohe.benchmarks.roster", "kaohe.cli"),
    ("kaohe.benchmarks.commands", "kaohe.cli_commands"),
    ("kaohe.supervision.snapshot", "kaohe.supervision.dashboard"),
])
def test_the_old_cycles_are_gone(importer, imported):
    """cli -> cli_commands -> bench -> people/bench -> cli and
    supervision.dashboard <-> supervision.snapshot were cycles: the lower
    side no longer imports the upper one (the shared pieces moved to
    core.terminal, jobs.inline, supervision.facts and supervision.board)."""
    import grimp

    graph = grimp.build_graph("kaohe", cache_dir=None)
    assert {importer, imported} <= graph.modules
    assert not graph.direct_import_exists(importer=importer, imported=imported)
