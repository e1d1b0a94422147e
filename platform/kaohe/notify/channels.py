"""Where reminders are read: a ``Channel`` sends one ``Message``.  Two
implementations, the group robots of WeCom (企业微信) and DingTalk (钉钉).

WeCom: POST JSON to the webhook URL (``.../cgi-bin/webhook/send?key=KEY``),
``{"msgtype": "markdown", "markdown": {"content": ...}}``; success is
``{"errcode": 0}``.  DingTalk: POST to ``.../robot/send?access_token=T``
with ``timestamp`` (ms) and ``sign`` = URL-encoded base64 of
HMAC-SHA256(secret, "timestamp\\nsecret") when the robot has a signing secret;
body ``{"msgtype": "markdown", "markdown": {"title", "text"}}``; success is
``{"errcode": 0}``.  Only hosts in KAOHE_NOTIFY_HOSTS are ever contacted."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Protocol

DEFAULT_HOSTS = ("qyapi.weixin.qq.com", "oapi.dingtalk.com")


@dataclass(frozen=True)
class Message:
    title: str
    text: str


class DeliveryError(Exception):
    """The channel refused or could not be reached; ``retry`` says whether trying again may help."""

    def __init__(self, message: str, retry: bool = True):
        super().__init__(message)
        self.retry = retry


class Channel(Protocol):
    def send(self, message: Message) -> None: ...


def check_url(url: str, allowed_hosts) -> str | None:
    """None when the URL may be used, else why not."""
    try:
        parts = urllib.parse.urlsplit(url or "")
    except ValueError:
        return "not a URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "the address must start with https://"
    if parts.hostname not in set(allowed_hosts):
        return "the host is not an allowed robot host"
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return "the address must start with https://"
    return None


def _post_json(url: str, body: dict, timeout: float) -> dict:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (host checked by check_url)
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}", retry=exc.code >= 500 or exc.code == 429) from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"unreachable: {getattr(exc, 'reason', exc)}") from None
    try:
        reply = json.loads(raw or b"{}")
    except ValueError:
        raise DeliveryError("the reply is not JSON") from None
    code = reply.get("errcode", 0)
    if code not in (0, "0"):
        # 45009 / 130101: sending too fast -- worth another try later.
        raise DeliveryError(f"errcode {code}: {reply.get('errmsg', '')}", retry=code in (45009, 130101, -1))
    return reply


@dataclass
class WeComRobot:
    url: str
    timeout: float = 10.0

    def body(self, message: Message) -> dict:
        return {"msgtype": "markdown", "markdown": {"content": f"**{message.title}**\n{message.text}"}}

    def send(self, message: Message) -> None:
        _post_json(self.url, self.body(message), self.timeout)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}")), URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode("ascii"))


@dataclass
class DingTalkRobot:
    url: str
    secret: str | None = None
    timeout: float = 10.0
    clock: object = time.time

    def signed_url(self) -> str:
        if not self.secret:
            return self.url
        ts = int(self.clock() * 1000)
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}timestamp={ts}&sign={dingtalk_sign(self.secret, ts)}"

    def body(self, message: Message) -> dict:
        return {"msgtype": "markdown", "markdown": {"title": message.title,
                                                    "text": f"#### {message.title}\n{message.text}"}}

    def send(self, message: Message) -> None:
        _post_json(self.signed_url(), self.body(message), self.timeout)


def build(kind: str, url: str, secret: str | None = None) -> Channel:
    if kind == "wecom":
        return WeComRobot(url)
    if kind == "dingtalk":
        return DingTalkRobot(url, secret or None)
    raise ValueError(kind)
