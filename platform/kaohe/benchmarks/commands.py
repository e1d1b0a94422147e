"""`kaohe bench ...`: measurements reported in notes, never asserted."""
from __future__ import annotations

import statistics
import time

import click
from flask.cli import AppGroup

bench_group = AppGroup("bench", help="Performance measurements.")


@bench_group.command("hash")
@click.option("--n", default=10, show_default=True)
def bench_hash(n):
    """Time the password hash at the configured cost."""
    from ..auth.passwords import hash_password, hasher, verify_password

    h = hasher()
    times = []
    stored = hash_password("benchmark-password")
    for _ in range(n):
        t0 = time.perf_counter()
        verify_password(stored, "benchmark-password")
        times.append((time.perf_counter() - t0) * 1000)
    click.echo(f"argon2id t={h.time_cost} m={h.memory_cost}KiB p={h.parallelism}: "
               f"verify median {statistics.median(times):.1f} ms, max {max(times):.1f} ms over {n}")


@bench_group.command("policy")
@click.option("--n", default=200, show_default=True, help="Resolutions per measurement.")
@click.option("--year", default=2026, show_default=True)
def bench_policy(n, year):
    """Effective policy of a node five levels deep (province → city → county →
    township → department), cold and warm.  Builds a throw-away province in
    one transaction and rolls it back: nothing is kept."""
    from ..audit.service import Actor, reset_actor, set_actor
    from ..extensions import db
    from ..policy import resolve
    from ..policy import settings
    from ..tenancy import service as org_service
    from ..tenancy.scope import Scope, apply_scope

    apply_scope(Scope.system("bench-policy"))
    token = set_actor(Actor(None, "bench"))
    session = db.session()
    try:
        tag = str(int(time.time() * 1000))[-8:]
        prov = org_service.create_province(code=f"BENCH{tag}", name="基准测试省")
        chain = [prov]
        for kind in ("city", "county", "township", "department"):
            chain.append(org_service.create_child(chain[-1], kind=kind, code=f"B{tag}{kind[:2]}",
                                                  name=f"bench {kind}"))
        # Settings at every level: values, a lock, bounds, a year-specific row.
        settings.set_value(prov, "quota.rate_by_org_grade", {"youxiu": 0.2, "lianghao": 0.15, "yiban": 0.12,
                                                                   "jiaocha": 0.1, "major_contribution": 0.3})
        settings.set_value(prov, "annual.weights", {"routine": 0.6, "review": 0.3})
        settings.lock(prov, "annual.weights")
        settings.set_value(prov, "quota.base_rate", 0.15)
        settings.set_bounds(prov, "quota.base_rate", min_value=0.1, max_value=0.3)
        for i, node in enumerate(chain[1:], start=1):
            settings.set_value(node, "routine.low_score", 55 + i)
            settings.set_value(node, "quota.base_rate", 0.15 + i / 100)
            settings.set_value(node, "routine.publicity_working_days", 3 + i, year=year)
            settings.set_value(node, "calendar.extra_holidays", [f"{year}-0{i}-1{i}"])
        session.flush()
        target = chain[-1]
        target_path = target.path

        def measure(prepare):
            times = []
            for _ in range(n):
                prepare()
                t0 = time.perf_counter()
                pol = resolve.effective_policy(target, year)
                times.append((time.perf_counter() - t0) * 1000)
            assert pol["quota.base_rate"] == 0.19
            times.sort()
            return statistics.median(times), times[int(len(times) * 0.95) - 1], max(times)

        def cold():
            resolve.cache_clear()
            session.info.pop(resolve.TOKEN_INFO, None)
            session.info.pop("kaohe_policy_local", None)
            session.info.pop(resolve.DIRTY_INFO, None)

        def new_request():
            session.info.pop(resolve.TOKEN_INFO, None)

        cold_stats = measure(cold)
        resolve.effective_policy(target, year)
        warm_req = measure(new_request)
        warm_tx = measure(lambda: None)
        backend = db.engine.dialect.name
        click.echo(f"policy resolution on {backend}, node at depth {target.depth + 1} ({target_path}), "
                   f"{len(resolve.reg.REGISTRY)} keys, n={n}")
        for label, (med, p95, mx) in (("cold (cache empty: token + settings queries + resolve)", cold_stats),
                                      ("warm, new request (token query + cache hit)", warm_req),
                                      ("warm, same transaction (cache hit)", warm_tx)):
            click.echo(f"  {label:<56} median {med:.3f} ms  p95 {p95:.3f} ms  max {mx:.3f} ms")
    finally:
        session.rollback()
        resolve.cache_clear()
        reset_actor(token)


@bench_group.command("dashboard")
@click.option("--people", default=100_000, show_default=True, help="size of the synthetic province")
@click.option("--runs", default=5, show_default=True)
@click.option("--generator", type=click.Choice(["annual", "supervision"]), default="annual", show_default=True,
              help="synthetic province: the annual slice's (kaohe bench annual) or this slice's own")
def bench_dashboard(people, runs, generator):
    """Server time of the province supervision dashboard (cold and warm cache)."""
    from .dashboard import run

    run(people, runs, click.echo, generator)


from .annual import bench_annual  # noqa: E402  (the annual slice's measurement)

bench_group.add_command(bench_annual)

from .http import bench_http, bench_routine  # noqa: E402  (the routine slice)

bench_group.add_command(bench_http)
bench_group.add_command(bench_routine)

from .roster import bench_roster  # noqa: E402  (the people slice)

bench_group.add_command(bench_roster)

from .faults import bench_faults  # noqa: E402  (issue 14: kill/restart/outage drills)

bench_group.add_command(bench_faults)
