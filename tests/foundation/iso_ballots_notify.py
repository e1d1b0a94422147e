"""Isolation cases of the ballots (民主测评) and notify (reminder channels)
slices for tests/foundation/test_isolation.py.

At every unit of the matrix: an open evaluation session and a channel whose
address is on loopback and outside the allowed robot hosts, so a test
message is logged as failed without any network traffic."""
from __future__ import annotations

import datetime as dt

NODES = ("T1", "T2", "T3", "T4", "P2-T1")


def _objects(app, iso, world):
    cache = app.extensions.setdefault("iso_ballots_notify", {})
    if cache:
        return cache
    from kaohe.ballots.models import BallotSession
    from kaohe.extensions import db
    from kaohe.notify.models import NotifyChannel
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system("iso-ballots-notify"))
        for key in NODES:
            unit = db.session.get(OrgNode, iso.node[key])
            s = BallotSession(root_id=unit.root_id, org_id=unit.id, year=2026, title=f"isomark-{key}-ballot",
                              key=f"isokey{key}".replace("-", ""), salt="00" * 16, status="open",
                              closes_at=dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc),
                              candidate_ids=[iso.person[key]], codes_issued=0, ballots_cast=0, applied=False)
            ch = NotifyChannel(root_id=unit.root_id, org_id=unit.id, kind="wecom", name=f"isomark-{key}-channel",
                               url="http://127.0.0.1:9/isomark?key=k", active=True)
            db.session.add_all([s, ch])
            db.session.flush()
            cache[key] = {"bsession": s.id, "channel": ch.id}
        db.session.commit()
        db.session.remove()
    return cache


def _target(name):
    return lambda app, iso, world, key: _objects(app, iso, world)[key][name]


BN = {n: _target(n) for n in ("bsession", "channel")}
CLOSES = "2099-01-01T10:00:00+08:00"
HOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=isomark"
ADMIN_ONLY = ("t1staff", "t1leader")


def cases(case):
    return [
        # -- the voter's phone page: public, the session key is the credential -------
        case("ballots_vote.vote", "GET", "/vote/0/no-such-key", public=True, ok=404),
        case("ballots_vote.vote", "POST", "/vote/0/no-such-key", public=True, ok=(400, 404)),
        # -- ballots pages ---------------------------------------------------------------
        case("ballots.unit_page", "GET", "/ballots/unit/{org}", actor="t1admin", leak=True, denied=ADMIN_ONLY,
             targets=BN),
        case("ballots.unit_page", "POST", "/ballots/unit/{org}", actor="t1admin", denied=ADMIN_ONLY,
             body={"year": "2026", "voters": "2", "closes_at": "2099-01-01T10:00", "title": "iso"}),
        case("ballots.session_page", "GET", "/ballots/session/{bsession}", actor="t1admin", denied=ADMIN_ONLY,
             targets=BN),
        case("ballots.session_page", "POST", "/ballots/session/{bsession}", actor="t1admin", denied=ADMIN_ONLY,
             body={"action": "more", "voters": "1"}, targets=BN),
        # -- ballots API -----------------------------------------------------------------
        case("ballots_api.sessions_list", "GET", "/api/v1/ballots/units/{org}/sessions", actor="t1admin",
             leak=True, denied=ADMIN_ONLY, targets=BN),
        case("ballots_api.sessions_create", "POST", "/api/v1/ballots/units/{org}/sessions", actor="t1admin",
             ok=201, body={"year": 2026, "voters": 2, "closes_at": CLOSES}, denied=ADMIN_ONLY),
        case("ballots_api.session_get", "GET", "/api/v1/ballots/sessions/{bsession}", actor="t1admin",
             denied=ADMIN_ONLY, targets=BN),
        case("ballots_api.session_codes", "POST", "/api/v1/ballots/sessions/{bsession}/codes", actor="t1admin",
             ok=201, body={"voters": 1}, denied=ADMIN_ONLY, targets=BN),
        case("ballots_api.session_close", "POST", "/api/v1/ballots/sessions/{bsession}/close", actor="t1admin",
             denied=ADMIN_ONLY, targets=BN),
        # -- notify page and API ---------------------------------------------------------
        case("notify.org_page", "GET", "/notify/org/{org}", actor="t1admin", leak=True, denied=ADMIN_ONLY,
             targets=BN),
        case("notify.org_page", "POST", "/notify/org/{org}", actor="t1admin", ok=302, denied=ADMIN_ONLY,
             body={"action": "add", "kind": "wecom", "name": "iso", "url": HOOK}),
        case("notify_api.channels_list", "GET", "/api/v1/notify/orgs/{org}/channels", actor="t1admin",
             leak=True, denied=ADMIN_ONLY, targets=BN),
        case("notify_api.channels_list", "GET", "/api/v1/notify/orgs/{org}/channels", actor="countysup",
             leak=True, targets=BN),
        case("notify_api.channels_create", "POST", "/api/v1/notify/orgs/{org}/channels", actor="t1admin",
             ok=201, body={"kind": "wecom", "name": "iso", "url": HOOK}, denied=ADMIN_ONLY),
        case("notify_api.channel_delete", "DELETE", "/api/v1/notify/channels/{channel}", actor="t1admin",
             ok=204, denied=ADMIN_ONLY, targets=BN),
        case("notify_api.channel_test", "POST", "/api/v1/notify/channels/{channel}/test", actor="t1admin",
             ok=202, denied=ADMIN_ONLY, targets=BN),
        case("notify_api.deliveries_list", "GET", "/api/v1/notify/orgs/{org}/deliveries", actor="t1admin",
             leak=True, denied=ADMIN_ONLY, targets=BN),
    ]
