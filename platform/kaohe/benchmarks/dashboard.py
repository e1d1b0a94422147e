"""`kaohe bench dashboard`: the province dashboard's server time on a
synthetic province (``synthetic``, the annual generator, on PostgreSQL; else
``supervision_data``).  Reports numbers; asserts nothing."""
from __future__ import annotations

import statistics
import time

from flask import current_app
from sqlalchemy import create_engine, select, text

from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import Scope, apply_scope


def _province(code: str):
    apply_scope(Scope.system("bench"))
    return db.session.execute(select(OrgNode).where(OrgNode.code == code, OrgNode.parent_id.is_(None))).scalar_one_or_none()


def ensure_province(people: int, echo, generator: str = "annual") -> OrgNode:
    code = f"BENCHD{people}" if generator == "annual" else f"BENCHS{people}"
    node = _province(code)
    if node is not None:
        echo(f"reusing synthetic province {code}")
        return node
    db.session.remove()
    owner_url = (current_app.config.get("KAOHE_MIGRATE_DATABASE_URL")
                 or current_app.config["SQLALCHEMY_DATABASE_URI"])
    build = None
    if generator == "annual" and owner_url.startswith("postgresql"):
        # the annual generator (`kaohe bench annual`), reused; it needs PostgreSQL (COPY)
        from .synthetic import build_synthetic_province as build
    t0 = time.perf_counter()
    if build is not None:
        echo(f"building {code} with the annual slice's generator ({people} people) ...")
        build(people, owner_url, code=code, log=echo)
    else:
        from . import supervision_data as bench_data

        echo(f"building {code} ({people} people, supervision generator) ...")
        engine = create_engine(owner_url)
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT set_config('kaohe.all_roots', 'on', true)"))
            bench_data.build(conn, people, code=code, log=echo)
        engine.dispose()
    echo(f"built in {time.perf_counter() - t0:.1f}s")
    return _province(code)


def _bench_user(root: OrgNode):
    from ..audit.service import Actor, reset_actor, set_actor
    from ..auth import service as auth_service
    from ..auth.models import User
    from ..auth.roles import Role

    name = f"bench-{root.code.lower()}"
    apply_scope(Scope.system("bench"))
    user = db.session.execute(select(User).where(User.username == name)).scalar_one_or_none()
    if user is None:
        token = set_actor(Actor(None, "bench"))
        try:
            user = auth_service.create_user(username=name, display_name=name, password="bench-password-123", org=root)
            auth_service.grant_role(user, Role.policy_admin, root, check=False)
            db.session.commit()
        finally:
            reset_actor(token)
    return name


def run(people: int, runs: int, echo, generator: str = "annual") -> dict:
    from ..supervision import dashboard as dash
    from ..supervision.board import clear_cache

    root = ensure_province(people, echo, generator)
    root_id, root_path = root.id, root.path
    db.session.remove()
    scope = Scope.for_paths(root_id, [root_path], label="bench")
    apply_scope(scope)
    node = db.session.get(OrgNode, root_id)
    # Live: every figure straight from the fact tables (what a small subtree does).
    live = []
    board = None
    for _ in range(max(1, min(runs, 2))):
        clear_cache()
        t0 = time.perf_counter()
        board = dash.build(node, use_cache=False, use_snapshot=False)
        live.append((time.perf_counter() - t0) * 1000)
        db.session.rollback()
        apply_scope(scope)
    live_queries = board.queries
    # The snapshot job (what `kaohe supervision refresh` / the refresh button run).
    from ..supervision import snapshot

    t0 = time.perf_counter()
    snapshot.refresh(node, board.year, board.period_key)
    db.session.commit()
    refresh_s = time.perf_counter() - t0
    apply_scope(scope)
    node = db.session.get(OrgNode, root_id)
    cold = []
    for _ in range(runs):
        clear_cache()
        t0 = time.perf_counter()
        board = dash.build(node, use_cache=False, use_snapshot=True)
        cold.append((time.perf_counter() - t0) * 1000)
        db.session.rollback()
        apply_scope(scope)
    assert board.extra.get("source") == "snapshot"
    dash.build(node)
    warm = []
    for _ in range(runs):
        t0 = time.perf_counter()
        dash.build(node)
        warm.append((time.perf_counter() - t0) * 1000)
    db.session.remove()
    # The whole page through the app (login, then GET), warm cache.
    apply_scope(Scope.system("bench"))
    username = _bench_user(db.session.get(OrgNode, root_id))
    db.session.remove()
    app = current_app._get_current_object()
    result: dict = {}

    def page_timing():   # in a thread: the test client gets its own app context and session
        import re

        client = app.test_client()
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
        client.post("/login", data={"username": username, "password": "bench-password-123",
                                    "csrf_token": token.group(1) if token else ""})
        result["status"] = client.get(url).status_code
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        result["times"] = times

    import threading

    url = f"/supervision/orgs/{root_id}"
    th = threading.Thread(target=page_timing)
    th.start()
    th.join()
    status, pages = result.get("status"), result.get("times") or [float("nan")]
    out = {"people": people, "units": board.units_total, "children": len(board.children), "queries": board.queries,
           "live_ms": statistics.median(live), "live_queries": live_queries, "refresh_s": refresh_s,
           "cold_ms": statistics.median(cold), "cold_min_ms": min(cold), "warm_ms": statistics.median(warm),
           "page_ms": statistics.median(pages), "page_status": status, "backend": db.engine.dialect.name}
    echo(f"{out['backend']}: province dashboard over {people} people in {out['units']} units "
         f"({out['children']} rows)")
    echo(f"  live from the fact tables ({live_queries} queries): median {out['live_ms']:.0f} ms")
    echo(f"  snapshot refresh (the job): {refresh_s:.1f} s")
    echo(f"  from the snapshot, no in-process cache ({out['queries']} queries): median {out['cold_ms']:.0f} ms "
         f"(min {out['cold_min_ms']:.0f}) over {runs}")
    echo(f"  in-process cache hit: median {out['warm_ms']:.2f} ms")
    echo(f"  whole page (GET {url}, warm, HTTP {status}): median {out['page_ms']:.0f} ms")
    return out
