"""Work records are never overwritten silently (issue 14.5): an update names
the version it replaces, a write without a version that meets a stored record
(same person, kind and day) is a 409 with the stored version, and N devices
writing the same new record at once on PostgreSQL give exactly one 200 and
409s for the rest."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from kaohe.core.clock import local_today
from kaohe.extensions import db

API = "/api/v1/routine"


def test_write_without_version_meets_stored_record_is_409(rt):
    url = f"{API}/periods/{rt.period_id}/records/mine"
    day = local_today().isoformat()
    h = rt.h("d1staff")
    assert rt.client.put(url, json={"on_date": day, "done": "first"}, headers=h).status_code == 200
    # a second device that never saw the first write: refused, told the stored version
    resp = rt.client.put(url, json={"on_date": day, "done": "second"}, headers=h)
    assert resp.status_code == 409, resp.get_json()
    current = resp.get_json()["errors"]["current"]
    assert current["version"] == 1 and current["done"] == "first"
    # naming that version replaces it
    resp = rt.client.put(url, json={"on_date": day, "done": "second", "version": 1}, headers=h)
    assert resp.status_code == 200 and resp.get_json()["version"] == 2
    # a version for a record that does not exist is not a create
    other = local_today().replace(day=1)
    resp = rt.client.put(url, json={"on_date": other.isoformat(), "kind": "daily", "done": "x", "version": 3},
                         headers=h)
    assert resp.status_code == 409


def test_page_form_carries_the_version(rt, login):
    b = login("t1staff")
    url = f"/routine/periods/{rt.period_id}/records"
    first = local_today().replace(day=1).isoformat()
    assert b.post(url, {"on_date": first, "kind": "monthly", "done": "one"}).status_code == 302
    html = b.get(url).get_data(as_text=True)
    assert 'name="version" value="1"' in html
    # the form of a second open tab, without a version, does not overwrite
    r = b.post(url, {"on_date": first, "kind": "monthly", "done": "two"})
    assert r.status_code == 409 or r.status_code == 422
    assert b.post(url, {"on_date": first, "kind": "monthly", "done": "two", "version": "1"}).status_code == 302


@pytest.mark.pg
def test_concurrent_writers_of_one_new_record(rt, backend):
    """N threads (each its own app context, connection and client) write the
    same new record, then each retries once naming the version it was told.
    Exactly one create wins; every accepted write is the stored value or was
    replaced only by a write that named its version."""
    from kaohe.routine.models import WorkRecord

    n = 8
    url = f"{API}/periods/{rt.period_id}/records/mine"
    day = local_today().isoformat()
    h = rt.h("d1staff")
    barrier = threading.Barrier(n)
    out: dict[int, list] = {}

    def device(i):
        client = rt.app.test_client()
        barrier.wait()
        r = client.put(url, json={"on_date": day, "done": f"device {i}"}, headers=h)
        body = r.get_json() or {}
        log = [(r.status_code, body.get("version"), None)]
        if r.status_code == 409:
            seen = body["errors"]["current"]["version"]
            r2 = client.put(url, json={"on_date": day, "done": f"device {i} again", "version": seen}, headers=h)
            log.append((r2.status_code, (r2.get_json() or {}).get("version"), seen))
        out[i] = log

    threads = [threading.Thread(target=device, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(out) == n
    creates = [log[0][0] for log in out.values()]
    assert creates.count(200) == 1 and creates.count(409) == n - 1, creates
    assert all(code in (200, 409) for log in out.values() for code, _v, _s in log)
    accepted = [(code, v, named) for log in out.values() for code, v, named in log if code == 200]
    versions = sorted(v for _c, v, _n in accepted)
    # each accepted write produced a distinct version, and each update replaced
    # exactly the version it named: a chain 1 → 2 → … with no gap
    assert versions == list(range(1, len(accepted) + 1)), accepted
    assert sorted(n_ for _c, _v, n_ in accepted if n_ is not None) == list(range(1, len(accepted))), accepted
    with rt.app.app_context():
        from kaohe.tenancy.scope import Scope, apply_scope
        apply_scope(Scope.system("t"))
        rows = db.session.execute(select(WorkRecord).where(WorkRecord.person_id == rt.ids["d1staff"])).scalars().all()
        assert len(rows) == 1 and rows[0].version == len(accepted)
        db.session.remove()
