"""Channels of a unit, the digests queued for them, and their delivery.
Flush, never commit (the deliver job commits once, like every job)."""
from __future__ import annotations

import datetime as dt
import secrets
import time
import urllib.parse

from flask import current_app
from sqlalchemy import insert, select

from ..audit.service import record
from ..core.db import utcnow
from ..core.errors import Invalid
from ..extensions import db
from ..jobs import queue
from ..tenancy.models import OrgNode
from ..tenancy.scope import Scope, current_scope
from ..web.messages import N_
from .channels import DeliveryError, Message, build, check_url
from .models import KINDS, NotifyChannel, NotifyDelivery


def mask_secret(secret: str | None) -> str:
    if not secret:
        return ""
    return secret[:4] + "…" if len(secret) > 8 else "…"


def mask_url(url: str) -> str:
    """The address without its credential (WeCom key= / DingTalk access_token=)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    shown = "&".join(f"{k}={v[:4]}…" if len(v) > 4 else f"{k}=…" for k, v in query)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, shown, ""))


def channels_of(node: OrgNode) -> list[NotifyChannel]:
    return list(db.session.execute(select(NotifyChannel).where(
        NotifyChannel.root_id == node.root_id, NotifyChannel.org_id == node.id).order_by(NotifyChannel.id)).scalars())


def add_channel(node: OrgNode, *, kind: str, name: str, url: str, secret: str | None = None) -> NotifyChannel:
    errors: dict[str, list] = {}
    if kind not in KINDS:
        errors["kind"] = [N_("Choose WeCom or DingTalk.")]
    if not (name or "").strip():
        errors["name"] = [N_("A name is required.")]
    why = check_url((url or "").strip(), current_app.config.get("KAOHE_NOTIFY_HOSTS") or ())
    if why:
        errors["url"] = [N_("Paste the robot's webhook address (https://qyapi.weixin.qq.com/… or https://oapi.dingtalk.com/…).")]
    if secret and len(secret) > 200:
        errors["secret"] = [N_("The secret is at most 200 characters.")]
    if errors:
        raise Invalid(errors)
    ch = NotifyChannel(root_id=node.root_id, org_id=node.id, kind=kind, name=name.strip()[:80], url=url.strip(),
                       secret=(secret or "").strip() or None, active=True)
    db.session.add(ch)
    db.session.flush()
    record("notify.channel.add", root_id=node.root_id, org_id=node.id, target_type="notify_channel", target_id=ch.id,
           after={"kind": kind, "name": ch.name, "url": mask_url(ch.url), "secret": bool(ch.secret)})
    return ch


def remove_channel(ch: NotifyChannel) -> None:
    record("notify.channel.remove", root_id=ch.root_id, org_id=ch.org_id, target_type="notify_channel",
           target_id=ch.id, before={"kind": ch.kind, "name": ch.name, "url": mask_url(ch.url)})
    db.session.delete(ch)
    db.session.flush()


def deliveries_of(node: OrgNode, limit: int = 50) -> list[NotifyDelivery]:
    return list(db.session.execute(select(NotifyDelivery).where(
        NotifyDelivery.root_id == node.root_id, NotifyDelivery.org_id == node.id)
        .order_by(NotifyDelivery.id.desc()).limit(limit)).scalars())


# -- queueing ------------------------------------------------------------------------

def queue_messages(messages: dict[int, list[tuple[str, Message]]], day: dt.date) -> list[int]:
    """Queue ``{channel_id: [(topic, message)]}`` (once per channel, topic and
    day) and defer one deliver job per province until the caller commits."""
    if not messages:
        return []
    chans = {c.id: c for c in db.session.execute(select(NotifyChannel).where(
        NotifyChannel.id.in_(list(messages)), NotifyChannel.active.is_(True))).scalars()}
    seen = {(cid, topic) for cid, topic in db.session.execute(select(NotifyDelivery.channel_id, NotifyDelivery.topic)
                                                              .where(NotifyDelivery.channel_id.in_(list(chans)),
                                                                     NotifyDelivery.day == day))}
    rows = []
    for cid, items in messages.items():
        ch = chans.get(cid)
        if ch is None:
            continue
        for topic, msg in items:
            if (cid, topic) in seen:
                continue
            seen.add((cid, topic))
            rows.append({"root_id": ch.root_id, "org_id": ch.org_id, "channel_id": cid, "topic": topic[:40],
                         "day": day, "title": msg.title[:200], "text": msg.text, "status": "queued", "attempts": 0,
                         "created_at": utcnow()})
    if not rows:
        return []
    db.session.execute(insert(NotifyDelivery), rows)
    first_org: dict[int, int] = {}
    for r in rows:
        first_org.setdefault(r["root_id"], r["org_id"])
    return [defer_delivery(root, org) for root, org in sorted(first_org.items())]


def defer_delivery(root_id: int, org_id: int) -> str:
    scope = current_scope()
    if scope.all_roots or scope.is_empty or scope.root_id != root_id:
        scope = Scope.province(root_id, label="notify")
    job = queue.create_job("notify.deliver", root_id=root_id, org_id=org_id, scope=scope)
    queue.defer(job.id)
    return job.id


# -- delivering ----------------------------------------------------------------------

def deliver_pending(progress=lambda *a, **k: None, sleep=time.sleep) -> dict:
    """Send every queued delivery in scope, each with up to
    KAOHE_NOTIFY_ATTEMPTS tries (a pause of KAOHE_NOTIFY_BACKOFF × try between)."""
    cfg = current_app.config
    attempts = max(1, int(cfg.get("KAOHE_NOTIFY_ATTEMPTS", 3)))
    backoff = float(cfg.get("KAOHE_NOTIFY_BACKOFF", 2.0))
    hosts = cfg.get("KAOHE_NOTIFY_HOSTS") or ()
    pending = list(db.session.execute(select(NotifyDelivery).where(NotifyDelivery.status == "queued")
                                      .order_by(NotifyDelivery.id)).scalars())
    chans = {c.id: c for c in db.session.execute(select(NotifyChannel).where(
        NotifyChannel.id.in_({d.channel_id for d in pending}))).scalars()} if pending else {}
    out = {"sent": 0, "failed": 0}
    for i, d in enumerate(pending):
        progress(i, len(pending), d.title)
        ch = chans.get(d.channel_id)
        why = check_url(ch.url, hosts) if ch else "channel removed"
        if why:
            d.status, d.last_error = "failed", why
            out["failed"] += 1
            continue
        channel = build(ch.kind, ch.url, ch.secret)
        while True:
            d.attempts += 1
            try:
                channel.send(Message(d.title, d.text))
            except DeliveryError as exc:
                d.last_error = str(exc)[:500]
                if exc.retry and d.attempts < attempts:
                    sleep(backoff * d.attempts)
                    continue
                d.status = "failed"
                out["failed"] += 1
            else:
                d.status, d.sent_at, d.last_error = "sent", utcnow(), None
                out["sent"] += 1
            break
    db.session.flush()
    progress(len(pending), len(pending), "done")
    return out


def send_test(ch: NotifyChannel) -> list[str]:
    now = utcnow()
    msg = Message("考核平台测试消息 Kaohe test message",
                  f"通知渠道“{ch.name}”已接通。The channel works. ({now:%Y-%m-%d %H:%M} UTC)")
    record("notify.channel.test", root_id=ch.root_id, org_id=ch.org_id, target_type="notify_channel", target_id=ch.id)
    return queue_messages({ch.id: [(f"test:{secrets.token_hex(6)}", msg)]}, now.date())
