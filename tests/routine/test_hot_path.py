"""The API's hot writes: how many statements they send, and that the
one-statement paths keep every rule (scope, final period, already signed)."""
import datetime as dt

import pytest
from sqlalchemy import event

from kaohe.extensions import db

API = "/api/v1/routine"


@pytest.fixture
def statements(app):
    seen = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def _work(seen):
    return [s for s in seen if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "SET LOCAL"))]


def test_sign_in_is_one_statement_after_the_credential(rt, statements):
    """Credential look-up, then the sign-in itself in one statement (was: the
    person, the final-period check, the attendance row, the insert)."""
    headers = rt.h("d1staff")      # (gets the token first)
    statements.clear()
    resp = rt.client.post(f"{API}/me/attendance", json={"what": "in"}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["sign_in_at"] and resp.get_json()["person_id"] == \
        rt.ids["d1staff"]
    assert len(_work(statements)) == 2, statements
    statements.clear()
    resp = rt.client.post(f"{API}/me/attendance", json={"what": "out"}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["sign_out_at"] and resp.get_json()["sign_in_at"]
    assert len(_work(statements)) == 2, statements
    resp = rt.client.post(f"{API}/me/attendance", json={"what": "in"}, headers=rt.h("d1staff"))
    assert resp.status_code == 409 and "Already signed in today at" in resp.get_json()["errors"]["sign_in"][0]
    resp = rt.client.post(f"{API}/me/attendance", json={"what": "out"}, headers=rt.h("d1staff"))
    assert resp.status_code == 409 and "sign_out" in resp.get_json()["errors"]


def test_sign_in_refused_in_a_final_period(rt):
    from sqlalchemy import update

    from kaohe.routine.models import Attendance, Period
    from kaohe.tenancy.scope import Scope, apply_scope

    with rt.app.app_context():
        apply_scope(Scope.system("test"))
        db.session.execute(update(Period).where(Period.id == rt.period_id).values(state="final"))
        db.session.commit()
        db.session.remove()
    resp = rt.client.post(f"{API}/me/attendance", json={"what": "in"}, headers=rt.h("d1staff"))
    assert resp.status_code == 422 and "final period" in resp.get_json()["errors"]["day"][0]
    with rt.app.app_context():
        apply_scope(Scope.system("test"))
        assert db.session.query(Attendance).count() == 0
        db.session.remove()
