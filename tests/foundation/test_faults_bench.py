"""`kaohe bench faults` as a test: the kill / restart / outage drills on a
private PostgreSQL instance and a private Redis queue (issue 14).  Every
drill keeps the old result, retries to the same result, leaves no stuck job
and never answers a raw 5xx."""
from __future__ import annotations

import time

from kaohe.benchmarks import faults


def test_fault_drills(capsys):
    t0 = time.time()
    lines: list[str] = []
    results = faults.run_drills(people=150, echo=lines.append)
    elapsed = time.time() - t0
    print("\n".join(lines))
    assert [r["drill"] for r in results] == ["annual_kill", "roster_kill", "pg_restart", "redis_outage"]
    for r in results:
        assert r["old_intact"] and r["retry_identical"], lines
        assert r["stuck_jobs"] == 0 and r["server_errors"] == 0, lines
    assert results[0]["killed"] and results[1]["killed"], lines   # the SIGKILLs really happened
    assert lines[-1] == "faults: drills=4 old_intact=4 retry_identical=4 stuck_jobs=0 server_errors=0"
    assert elapsed < 480, elapsed
