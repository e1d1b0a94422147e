"""`kaohe audit reconcile` (security finding 5): a rating changed with SQL
behind the audit log's back shows up, named, with a non-zero exit."""
from __future__ import annotations

from sqlalchemy import create_engine, text

from .conftest import rate


def _reconcile(app):
    return app.test_cli_runner().invoke(args=["audit", "reconcile"])


def test_direct_update_of_scores_is_listed(rt, db_urls):
    assert rate(rt, "d1head", "d1staff", "supervisor").status_code in (200, 201)
    assert rate(rt, "d2staff", "d1staff", "peer", {"work": 50.0, "ethics": "you"}).status_code in (200, 201)
    clean = _reconcile(rt.app)
    assert clean.exit_code == 0, clean.output
    eng = create_engine(db_urls["owner_url"])
    try:
        with eng.begin() as c:
            ids = dict(c.execute(text("SELECT rater_kind, id FROM routine_rating")).all())
            c.execute(text("UPDATE routine_rating SET scores = :s WHERE id IN (:a, :b)"),
                      {"s": '{"ethics": "you", "work": 99.0}', "a": ids["supervisor"], "b": ids["peer"]})
    finally:
        eng.dispose()
    bad = _reconcile(rt.app)
    assert bad.exit_code == 1, bad.output
    for kind in ("supervisor", "peer"):
        assert f"routine_rating {ids[kind]}: scores differ from the audited after-state" in bad.output
    assert "2 row(s) changed behind the audit log's back" in bad.output


def test_direct_update_of_a_period_result_is_listed(rt, db_urls):
    """Routine results: the period's computation audits every result's
    score and grade; a result changed with SQL as the owner is listed."""
    from .conftest import rate_everything, transition

    assert transition(rt, "rating").status_code == 200
    rate_everything(rt)
    resp = rt.client.post(f"/api/v1/routine/periods/{rt.period_id}/compute", headers=rt.h("admin"))
    assert resp.status_code == 202, resp.get_json()
    clean = _reconcile(rt.app)
    assert clean.exit_code == 0, clean.output
    # an amendment-free recomputation is audited again and still reconciles
    assert rt.client.post(f"/api/v1/routine/periods/{rt.period_id}/compute", headers=rt.h("admin")).status_code == 202
    assert _reconcile(rt.app).exit_code == 0
    eng = create_engine(db_urls["owner_url"])
    try:
        with eng.begin() as c:
            rid, grade = c.execute(text("SELECT id, grade FROM routine_result WHERE score IS NOT NULL "
                                        "ORDER BY id LIMIT 1")).one()
            c.execute(text("UPDATE routine_result SET score = 100.0, grade = 'hao' WHERE id = :i"), {"i": rid})
    finally:
        eng.dispose()
    bad = _reconcile(rt.app)
    assert bad.exit_code == 1, bad.output
    assert f"routine_result {rid}: score/grade 100.0/hao differ from the audited after-state" in bad.output
    assert "1 row(s) changed behind the audit log's back" in bad.output
