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


def _audit_statements(rt) -> int:
    """Appending to an open audit lane: lock the head, then the entry and the
    moved head -- one statement on PostgreSQL, two through the ORM elsewhere."""
    return 2 if rt.app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else 3


def test_sign_in_is_one_statement_after_the_credential(rt, statements):
    """Credential look-up, then the sign-in itself in one statement (was: the
    person, the final-period check, the attendance row, the insert), then its
    audit entry."""
    headers = rt.h("d1staff")      # (gets the token first)
    statements.clear()
    resp = rt.client.post(f"{API}/me/attendance", json={"what": "in"}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["sign_in_at"] and resp.get_json()["person_id"] == \
        rt.ids["d1staff"]
    statements.clear()
    resp = rt.client.post(f"{API}/me/attendance", json={"what": "out"}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["sign_out_at"] and resp.get_json()["sign_in_at"]
    assert len(_work(statements)) == 2 + _audit_statements(rt), statements
    resp = rt.client.post(f"{API}/me/attendance", json={"what": "in"}, headers=rt.h("d1staff"))
    assert resp.status_code == 409 and "Already signed in today at" in resp.get_json()["errors"]["sign_in"][0]
    resp = rt.client.post(f"{API}/me/attendance", json={"what": "out"}, headers=rt.h("d1staff"))
    assert resp.status_code == 409 and "sign_out" in resp.get_json()["errors"]


def test_rating_statements(rt, statements):
    """A supervisor's first rating: the period with its unit (one statement),
    the pair's participation, their charges and peer groups (one statement),
    the insert (ON CONFLICT DO NOTHING: no look-up of an existing rating),
    its audit entry -- was 11 statements after the credential (the unit, the
    rater's person row, charges and peer groups each on their own, the
    existing rating, three for the audit entry).  A second submission without
    the version is still refused, and with it the change is saved."""
    from .conftest import rate, transition

    assert transition(rt, "rating").status_code == 200
    rt.h("d1head")     # (gets the token first)
    rate(rt, "d1head", "d2staff", "self")    # refused (not their own): opens nothing
    assert rate(rt, "d1head", "d1head", "self").status_code == 200   # opens the audit lane
    statements.clear()
    assert rate(rt, "d1head", "d1staff", "supervisor").status_code == 200
    assert len(_work(statements)) == 5 + _audit_statements(rt), "\n".join(_work(statements))
    again = rate(rt, "d1head", "d1staff", "supervisor")
    assert again.status_code == 409 and again.get_json()["errors"]["current"]["version"] == 1
    changed = rate(rt, "d1head", "d1staff", "supervisor", version=1, comment="改")
    assert changed.status_code == 200 and changed.get_json()["version"] == 2 and changed.get_json()["comment"] == "改"


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


def test_bench_table_names_its_columns_and_matches_floors():
    from kaohe.benchmarks.http import render_table

    row = {"n": 10, "errors": 0, "p50": 1.0, "p99": 2.0}
    res = {"floor-write": {**row, "rps": 100.0}, "floor-read": {**row, "rps": 400.0},
           "health": {**row, "rps": 800.0}, "auth-read": {**row, "rps": 200.0},
           "sign-in": {**row, "rps": 60.0}, "rating": {**row, "rps": 40.0}}
    lines = render_table(res).splitlines()
    assert lines[0].split() == ["endpoint", "requests", "errors", "req/s", "p50", "ms", "p99", "ms", "vs_floor",
                                "vs_health"]
    cols = {ln.split()[0]: ln.split() for ln in lines[1:]}
    assert list(cols) == ["floor-write", "floor-read", "health", "auth-read", "sign-in", "rating"]
    assert cols["sign-in"][6:] == ["0.60", "0.07"] and cols["rating"][6] == "0.40"
    assert cols["auth-read"][6] == "0.50" and cols["floor-read"][6] == "1.00"


@pytest.mark.pg
def test_floor_signs_in_under_rls_with_a_verifiable_audit_entry(rt, db_urls):
    """The bench's floor runs as the app role with the app's signed scope:
    it writes the attendance row and an audit entry that verifies, and
    refuses an unknown token."""
    import io
    import json

    from kaohe.audit.service import verify_province
    from kaohe.benchmarks.floor import Floor
    from kaohe.benchmarks.http import _libpq
    from kaohe.routine.models import Attendance
    from kaohe.tenancy.scope import Scope, apply_scope

    floor = Floor(_libpq(db_urls["app_url"]), rt.app.config["SECRET_KEY"], pool_size=1)
    try:
        def call(path, method, token, body=None):
            data = json.dumps(body).encode() if body is not None else b""
            env = {"PATH_INFO": path, "REQUEST_METHOD": method, "HTTP_AUTHORIZATION": f"Bearer {token}",
                   "CONTENT_LENGTH": str(len(data)), "wsgi.input": io.BytesIO(data)}
            status = []
            out = b"".join(floor(env, lambda s, h: status.append(s)))
            return int(status[0].split()[0]), json.loads(out)

        token = rt.h("d1staff")["Authorization"][7:]
        assert call("/floor/sign", "POST", token, {"what": "in"})[0] == 200
        assert call("/floor/sign", "POST", token, {"what": "in"})[0] == 409
        assert call("/floor/sign", "POST", "kh_nope", {"what": "in"})[0] == 401
        assert call("/floor/read", "GET", token)[0] == 200
    finally:
        floor.pool.close()
    with rt.app.app_context():
        apply_scope(Scope.system("test"))
        rows = db.session.query(Attendance).all()
        assert [(a.person_id, a.sign_in_at is not None) for a in rows] == [(rt.ids["d1staff"], True)]
        assert verify_province(rows[0].root_id).ok
        db.session.remove()
