"""`kaohe audit reconcile` over annual outcomes (issue 11, finding 5): the
grade that counts, its score and the performance pay are compared with their
last audited after-state (the confirmation's per-person state, then the
appeal, correction and pay entries); a direct UPDATE as the table owner is
listed and the command exits non-zero."""
import datetime as dt

import pytest
from sqlalchemy import create_engine, text

from kaohe.extensions import db

from .test_procedure import MON, confirmed_unit


def _reconcile(app):
    return app.test_cli_runner().invoke(args=["audit", "reconcile"])


@pytest.mark.pg
def test_direct_update_of_annual_grade_and_pay_is_listed(app, world, db_urls, backend):
    from kaohe.annual import appeals, service

    with app.app_context():
        a, ids = confirmed_unit(world)
        db.session.commit()
        # after the notice, d2staff's review is reversed: the grade changes and the pay is reallocated,
        # each with its own audited after-state
        with service.as_of(MON):
            service.publish(a)
        with service.as_of(MON + dt.timedelta(days=7)):
            service.notify(a)
        o2 = next(o for o in service.outcomes(a) if o.person_id == ids["d2staff"])
        assert o2.grade == "buchenzhi"
        with service.as_of(MON + dt.timedelta(days=10)):
            ap = appeals.file_review(o2, "请假就医期间的工作量没有计入考核")
            appeals.decide_appeal(ap, decision="reversed", new_grade="jibenchenzhi", note="经复核改为基本称职")
        db.session.commit()
        pay = {o.person_id: o.pay_cents for o in service.outcomes(a)}
        db.session.remove()
    clean = _reconcile(app)
    assert clean.exit_code == 0, clean.output
    assert "reconciled" in clean.output

    eng = create_engine(db_urls["owner_url"])
    try:
        with eng.begin() as c:
            out = dict(c.execute(text("SELECT person_id, id FROM annual_outcome")).all())
            c.execute(text("UPDATE annual_outcome SET grade = 'youxiu', code = '1' WHERE id = :i"),
                      {"i": out[ids["d1staff"]]})
            c.execute(text("UPDATE annual_outcome SET pay_cents = pay_cents + 50000 WHERE id = :i"),
                      {"i": out[ids["head"]]})
    finally:
        eng.dispose()
    bad = _reconcile(app)
    assert bad.exit_code == 1, bad.output
    assert f"annual_outcome {out[ids['d1staff']]}: grade youxiu (audited chenzhi)" in bad.output
    want = pay[ids["head"]]
    assert f"annual_outcome {out[ids['head']]}: pay_cents {want + 50000} (audited {want})" in bad.output
    assert "2 row(s) changed behind the audit log's back" in bad.output
