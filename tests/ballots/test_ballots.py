"""Anonymous democratic evaluation: codes are one-time, province-bound and
stored only hashed; results below the anonymity threshold are hidden; the
counts feed the annual review."""
import datetime as dt
import re

import pytest
from sqlalchemy import select

from kaohe.extensions import db

YEAR = 2026


def _open(client_api, headers, org_id, voters=4, closes=None):
    closes = closes or (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)).isoformat()
    r = client_api.post(f"/api/v1/ballots/units/{org_id}/sessions", headers=headers,
                        json={"year": YEAR, "voters": voters, "closes_at": closes})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _vote_path(s):
    return "/vote/" + s["vote_url"].split("/vote/", 1)[1].split("?")[0]


def _ballot_form(client, path, code, grade="chenzhi"):
    page = client.get(path, query_string={"code": code})
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    html = page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    names = sorted(set(re.findall(r'name="(p\d+)"', html)))
    return {"csrf_token": token, "code": code, **{n: grade for n in names}}


def test_vote_path_end_to_end(app, world, api_token, client):
    h = api_token("t1admin")
    s = _open(client, h, world.ids["P1-T1"], voters=4)
    assert len(s["codes"]) == 4 and s["results"] is None and s["threshold"] == 3
    path = _vote_path(s)
    voter = app.test_client()
    assert "f-code" in voter.get(path).get_data(as_text=True)
    for i, code in enumerate(s["codes"][:3]):
        form = _ballot_form(voter, path, code, grade="youxiu" if i == 0 else "chenzhi")
        r = voter.post(path, data=form)
        assert r.status_code == 200 and 'data-state="done"' in r.get_data(as_text=True)
    # reuse refused
    r = voter.post(path, data=_ballot_form(voter, path, s["codes"][3]) | {"code": s["codes"][0]})
    assert r.status_code == 422
    # open: no results; then close by hand → counts visible and in the annual review
    assert client.get(f"/api/v1/ballots/sessions/{s['id']}", headers=h).get_json()["results"] is None
    r = client.post(f"/api/v1/ballots/sessions/{s['id']}/close", headers=h)
    body = r.get_json()
    assert r.status_code == 200 and body["status"] == "closed" and body["applied"] and body["ballots_cast"] == 3
    some = next(iter(body["results"].values()))
    assert some == {"youxiu": 1, "chenzhi": 2, "jibenchenzhi": 0, "buchenzhi": 0}
    with app.app_context():
        from kaohe.annual.models import AnnualReview
        from kaohe.audit.models import AuditEntry
        from kaohe.ballots.models import Ballot, BallotCode
        from kaohe.tenancy.scope import Scope, apply_scope

        apply_scope(Scope.system("t"))
        revs = db.session.execute(select(AnnualReview)).scalars().all()
        assert revs and all(r.votes() == {"youxiu": 1, "chenzhi": 2, "jibenchenzhi": 0, "buchenzhi": 0} for r in revs)
        actions = set(db.session.execute(select(AuditEntry.action)).scalars())
        assert {"ballots.session.open", "ballots.codes.issue", "ballots.session.close", "annual.review"} <= actions
        # nothing stores a code in clear, and a ballot has no reference to one
        hashes = set(db.session.execute(select(BallotCode.code_hash)).scalars())
        assert not any(c.replace("-", "") in h for c in s["codes"] for h in hashes)
        assert set(Ballot.__table__.c.keys()) == {"id", "root_id", "org_id", "session_id", "choices"}
    # closed: the code left cannot vote
    r = voter.get(path, query_string={"code": s["codes"][3]})
    assert 'data-state="closed"' in r.get_data(as_text=True)


def test_below_threshold_hidden_and_not_applied(app, world, api_token, client):
    h = api_token("t1admin")
    s = _open(client, h, world.ids["P1-T1"], voters=3)
    path = _vote_path(s)
    voter = app.test_client()
    for code in s["codes"][:2]:
        assert voter.post(path, data=_ballot_form(voter, path, code)).status_code == 200
    body = client.post(f"/api/v1/ballots/sessions/{s['id']}/close", headers=h).get_json()
    assert body["ballots_cast"] == 2 and body["results"] is None and body["applied"] is False
    with app.app_context():
        from kaohe.annual.models import AnnualReview
        from kaohe.tenancy.scope import Scope, apply_scope

        apply_scope(Scope.system("t"))
        assert all(sum(r.votes().values()) == 0 for r in db.session.execute(select(AnnualReview)).scalars())


def test_code_of_one_province_cannot_vote_in_another(app, world, api_token, client):
    s1 = _open(client, api_token("t1admin"), world.ids["P1-T1"], voters=2)
    s2 = _open(client, api_token("p2-t1admin"), world.ids["P2-T1"], voters=2)
    voter = app.test_client()
    p2 = _vote_path(s2)
    r = voter.get(p2, query_string={"code": s1["codes"][0]})
    assert r.status_code == 422
    # the P2 session addressed with P1's province id does not exist
    wrong = p2.replace(f"/vote/{world.ids['P2-P']}/", f"/vote/{world.ids['P1-P']}/")
    assert voter.get(wrong).status_code == 404
    # API: P1 admin cannot see P2's session (404, not 403)
    assert client.get(f"/api/v1/ballots/sessions/{s2['id']}", headers=api_token("t1admin")).status_code == 404


def test_guessing_is_rate_limited(app, world, api_token, client):
    from kaohe.ballots import service

    s = _open(client, api_token("t1admin"), world.ids["P1-T1"], voters=1)
    path = _vote_path(s)
    voter = app.test_client()
    for _ in range(service.MAX_FAILURES):
        assert voter.get(path, query_string={"code": "AAAAA-AAAAA"}).status_code == 422
    # locked now: even the right code is refused for a while
    r = voter.get(path, query_string={"code": s["codes"][0]})
    assert r.status_code == 422 and "15" in r.get_data(as_text=True)


def test_bad_input_is_422(app, world, api_token, client):
    h = api_token("t1admin")
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
    r = client.post(f"/api/v1/ballots/units/{world.ids['P1-T1']}/sessions", headers=h,
                    json={"year": YEAR, "voters": 3, "closes_at": past})
    assert r.status_code == 422 and "closes_at" in str(r.get_json())
    r = client.post(f"/api/v1/ballots/units/{world.ids['P1-T1']}/sessions", headers=h,
                    json={"year": YEAR, "voters": 0, "closes_at": past})
    assert r.status_code == 422
    # staff cannot open sessions
    r = client.post(f"/api/v1/ballots/units/{world.ids['P1-T1']}/sessions", headers=api_token("t1staff"),
                    json={"year": YEAR, "voters": 3, "closes_at": past})
    assert r.status_code in (403, 404)


def test_closes_at_time(app, world, api_token, client):
    from kaohe.ballots import service
    from kaohe.ballots.models import BallotSession
    from kaohe.tenancy.scope import Scope, apply_scope

    h = api_token("t1admin")
    s = _open(client, h, world.ids["P1-T1"], voters=3)
    with app.app_context():
        apply_scope(Scope.system("t"))
        row = db.session.get(BallotSession, s["id"])
        row.closes_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
        db.session.commit()
    voter = app.test_client()
    assert 'data-state="closed"' in voter.get(_vote_path(s), query_string={"code": s["codes"][0]}).get_data(as_text=True)
    body = client.get(f"/api/v1/ballots/sessions/{s['id']}", headers=h).get_json()
    assert body["status"] == "closed"


def test_admin_pages_and_slips(app, world, login):
    b = login("t1admin")
    page = b.get(f"/ballots/unit/{world.ids['P1-T1']}")
    assert page.status_code == 200
    closes = (dt.datetime.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    r = b.post(f"/ballots/unit/{world.ids['P1-T1']}", {"year": YEAR, "voters": 2, "closes_at": closes, "title": "t"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.count("<svg") >= 2 and html.count('class="slip"') == 2
    r = b.post(f"/ballots/unit/{world.ids['P1-T1']}", {"year": YEAR, "voters": "x", "closes_at": "", "title": "t"})
    assert r.status_code == 422


def test_openapi_lists_the_new_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = set(spec["paths"])
    for p in ("/api/v1/ballots/units/{org_id}/sessions", "/api/v1/ballots/sessions/{session_id}",
              "/api/v1/ballots/sessions/{session_id}/close", "/api/v1/ballots/sessions/{session_id}/codes",
              "/api/v1/notify/orgs/{org_id}/channels", "/api/v1/notify/channels/{channel_id}/test",
              "/api/v1/notify/orgs/{org_id}/deliveries"):
        assert p in paths, p
    assert "BallotSessionIssued" in spec["components"]["schemas"]


@pytest.mark.pg
def test_one_code_two_phones_at_once_counts_once(app, world, api_token, client):
    import threading

    s = _open(client, api_token("t1admin"), world.ids["P1-T1"], voters=1)
    path = _vote_path(s)
    phones = [app.test_client(), app.test_client()]
    forms = [_ballot_form(ph, path, s["codes"][0]) for ph in phones]
    statuses = []
    barrier = threading.Barrier(2)

    def go(ph, form):
        barrier.wait()
        statuses.append(ph.post(path, data=form).status_code)

    threads = [threading.Thread(target=go, args=(ph, f)) for ph, f in zip(phones, forms)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [200, 422]
    body = client.get(f"/api/v1/ballots/sessions/{s['id']}", headers=api_token("t1admin")).get_json()
    assert body["ballots_cast"] == 1


def test_daily_reminder_run_closes_due_sessions_and_feeds_the_annual(app, world, api_token, client):
    from kaohe.annual.models import AnnualReview
    from kaohe.audit.service import Actor, reset_actor, set_actor
    from kaohe.ballots.models import BallotSession
    from kaohe.routine.reminders import run_reminders
    from kaohe.tenancy.scope import Scope, apply_scope

    h = api_token("t1admin")
    s = _open(client, h, world.ids["P1-T1"], voters=3)
    path = _vote_path(s)
    voter = app.test_client()
    for code in s["codes"]:
        assert voter.post(path, data=_ballot_form(voter, path, code, grade="jibenchenzhi")).status_code == 200
    with app.app_context():
        apply_scope(Scope.system("t"))
        row = db.session.get(BallotSession, s["id"])
        row.closes_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
        db.session.commit()
        token = set_actor(Actor(None, "test"))
        try:
            apply_scope(Scope.province(world.ids["P1-P"], label="t"))
            counts = run_reminders(dt.date(2026, 3, 10))
            db.session.commit()
        finally:
            reset_actor(token)
        assert counts["ballot_sessions_closed"] == 1
        apply_scope(Scope.system("t"))
        revs = db.session.execute(select(AnnualReview)).scalars().all()
        assert revs and all(r.votes_jibenchenzhi == 3 for r in revs)
