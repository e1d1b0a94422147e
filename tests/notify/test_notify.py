"""Notification channels against a local HTTP server that records what it
receives (127.0.0.1 only: the allow-list is set to it, so nothing can leave
the machine): DingTalk signature, WeCom body, retry on 500, nothing for units
without a channel, isolation between provinces."""
import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from kaohe.extensions import db


class Recorder:
    def __init__(self):
        self.requests = []
        self.fail_next = 0          # answer 500 this many times first
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.requests.append({"path": self.path, "body": json.loads(body or b"{}")})
                if recorder.fail_next > 0:
                    recorder.fail_next -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                out = b'{"errcode":0,"errmsg":"ok"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def hook(app):
    app.config["KAOHE_NOTIFY_HOSTS"] = ["127.0.0.1"]
    app.config["KAOHE_NOTIFY_BACKOFF"] = 0
    rec = Recorder()
    yield rec
    rec.server.shutdown()


def test_dingtalk_signature_is_the_documented_one():
    from kaohe.notify.channels import DingTalkRobot, dingtalk_sign

    secret, ts = "SECabc123", 1700000000000
    expected = urllib.parse.quote_plus(base64.b64encode(hmac.new(
        secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()).decode())
    assert dingtalk_sign(secret, ts) == expected
    url = DingTalkRobot("https://oapi.dingtalk.com/robot/send?access_token=T", secret, clock=lambda: ts / 1000).signed_url()
    assert url == f"https://oapi.dingtalk.com/robot/send?access_token=T&timestamp={ts}&sign={expected}"


def test_url_allow_list():
    from kaohe.notify.channels import check_url

    hosts = ("qyapi.weixin.qq.com", "oapi.dingtalk.com")
    assert check_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", hosts) is None
    assert check_url("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", hosts)     # not https
    assert check_url("https://evil.example/cgi-bin/webhook/send", hosts)
    assert check_url("https://169.254.169.254/latest", hosts)


def test_api_channels_test_message_signed_and_logged(app, world, api_token, client, hook):
    h = api_token("t1admin")
    t1 = world.ids["P1-T1"]
    r = client.post(f"/api/v1/notify/orgs/{t1}/channels", headers=h,
                    json={"kind": "dingtalk", "name": "班子群", "url": hook.url("/robot/send?access_token=TOK123456"),
                          "secret": "SECsecret-value-1"})
    assert r.status_code == 201, r.get_json()
    ch = r.get_json()
    assert "SECsecret-value-1" not in json.dumps(ch) and "TOK123456" not in json.dumps(ch)
    r = client.post(f"/api/v1/notify/channels/{ch['id']}/test", headers=h)
    assert r.status_code == 202
    assert len(hook.requests) == 1
    req = hook.requests[0]
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(req["path"]).query))
    assert q["access_token"] == "TOK123456"
    want = base64.b64encode(hmac.new(b"SECsecret-value-1", f"{q['timestamp']}\nSECsecret-value-1".encode(),
                                     hashlib.sha256).digest()).decode()
    assert q["sign"] == want
    assert req["body"]["msgtype"] == "markdown" and "title" in req["body"]["markdown"]
    log = client.get(f"/api/v1/notify/orgs/{t1}/deliveries", headers=h).get_json()
    assert log[0]["status"] == "sent" and log[0]["attempts"] == 1
    # bad input: 422, nothing written; another province's host list applies to everyone
    r = client.post(f"/api/v1/notify/orgs/{t1}/channels", headers=h,
                    json={"kind": "wecom", "name": "x", "url": "https://example.com/hook"})
    assert r.status_code == 422 and "url" in json.dumps(r.get_json())


def test_retry_on_500(app, world, api_token, client, hook):
    h = api_token("t1admin")
    t1 = world.ids["P1-T1"]
    ch = client.post(f"/api/v1/notify/orgs/{t1}/channels", headers=h,
                     json={"kind": "wecom", "name": "群", "url": hook.url("/cgi-bin/webhook/send?key=KEY")}).get_json()
    hook.fail_next = 2
    client.post(f"/api/v1/notify/channels/{ch['id']}/test", headers=h)
    assert len(hook.requests) == 3
    assert hook.requests[-1]["body"]["msgtype"] == "markdown" and "content" in hook.requests[-1]["body"]["markdown"]
    log = client.get(f"/api/v1/notify/orgs/{t1}/deliveries", headers=h).get_json()
    assert log[0]["status"] == "sent" and log[0]["attempts"] == 3
    hook.fail_next = 5
    app.config["KAOHE_NOTIFY_ATTEMPTS"] = 2
    client.post(f"/api/v1/notify/channels/{ch['id']}/test", headers=h)
    log = client.get(f"/api/v1/notify/orgs/{t1}/deliveries", headers=h).get_json()
    assert log[0]["status"] == "failed" and log[0]["attempts"] == 2 and "500" in log[0]["last_error"]


def _remind(app, root_id, day):
    from kaohe.audit.service import Actor, reset_actor, set_actor
    from kaohe.jobs.queue import dispatch_deferred
    from kaohe.routine.reminders import run_reminders
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        token = set_actor(Actor(None, "test"))
        try:
            apply_scope(Scope.province(root_id, label="test"))
            counts = run_reminders(day)
            db.session.commit()
            dispatch_deferred()
        finally:
            reset_actor(token)
        db.session.remove()
    return counts


def _annual_events(app, world, day):
    """T1 (P1 and P2): written notices not acknowledged; 公示 starting today in P1 T1."""
    from kaohe.annual import service
    from kaohe.annual.models import AnnualOutcome
    from kaohe.people.models import Person
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system("t"))
        for key in ("P1-T1", "P2-T1"):
            t1 = db.session.get(OrgNode, world.ids[key])
            a = service.get_or_open(t1, day.year)
            if key == "P1-T1":
                a.publicity_start, a.publicity_end = day, day + dt.timedelta(days=7)
            p = db.session.execute(select(Person).where(Person.unit_id == t1.id)).scalars().first()
            db.session.add(AnnualOutcome(root_id=t1.root_id, org_id=t1.id, assessment_id=a.id, person_id=p.id,
                                         year=day.year, grade="chenzhi", code="2", notice_on=day))
        db.session.commit()
        db.session.remove()


def test_reminder_digest_reaches_only_units_with_a_channel_in_their_province(app, world, api_token, client, hook):
    day = dt.date(2026, 3, 10)
    _annual_events(app, world, day)
    h1 = api_token("t1admin")
    client.post(f"/api/v1/notify/orgs/{world.ids['P1-T1']}/channels", headers=h1,
                json={"kind": "wecom", "name": "T1群", "url": hook.url("/p1t1?key=A")})
    h2 = api_token("p2-t1admin")
    client.post(f"/api/v1/notify/orgs/{world.ids['P2-T1']}/channels", headers=h2,
                json={"kind": "wecom", "name": "P2群", "url": hook.url("/p2t1?key=B")})
    counts = _remind(app, world.ids["P1-P"], day)
    assert counts["chat_digests"] == 1
    paths = [r["path"] for r in hook.requests]
    assert paths == ["/p1t1?key=A"]          # not P2 (other province), nothing for T2/T3 (no channel)
    text = hook.requests[0]["body"]["markdown"]["content"]
    assert "公示" in text and "签收" in text
    # idempotent within the slot: a second run sends nothing new
    _remind(app, world.ids["P1-P"], day)
    assert len(hook.requests) == 1
    # the other province's run reaches only its own channel
    _remind(app, world.ids["P2-P"], day)
    assert [r["path"] for r in hook.requests] == ["/p1t1?key=A", "/p2t1?key=B"]
    assert "公示" not in hook.requests[1]["body"]["markdown"]["content"]
    # P1 admin cannot see or use P2's channel
    ch2 = client.get(f"/api/v1/notify/orgs/{world.ids['P2-T1']}/channels", headers=h1)
    assert ch2.status_code == 404


def test_page_add_and_remove(app, world, login, hook):
    b = login("t1admin")
    url = f"/notify/org/{world.ids['P1-T1']}"
    assert b.get(url).status_code == 200
    r = b.post(url, {"action": "add", "kind": "dingtalk", "name": "群", "url": hook.url("/r?access_token=ZZZZZZZZ"),
                     "secret": "SEC-very-secret"})
    assert r.status_code in (302, 303)
    html = b.get(url).get_data(as_text=True)
    assert "群" in html and "SEC-very-secret" not in html and "ZZZZZZZZ" not in html
    r = b.post(url, {"action": "add", "kind": "wecom", "name": "", "url": "ftp://x"})
    assert r.status_code == 422


def test_pages_of_another_province_or_sibling_are_404(app, world, login):
    b = login("t1admin")
    assert b.get(f"/notify/org/{world.ids['P2-T1']}").status_code == 404
    assert b.get(f"/notify/org/{world.ids['P1-T2']}").status_code == 404
    assert b.get(f"/ballots/unit/{world.ids['P2-T1']}").status_code == 404
    assert b.get(f"/ballots/unit/{world.ids['P1-T2']}").status_code == 404
