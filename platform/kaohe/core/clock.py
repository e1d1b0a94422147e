"""The business clock.  Assessment days, deadlines and sign-ins are dates in
China (Asia/Shanghai), whatever time zone the server runs in: a sign-in at
01:30 Beijing time belongs to that Beijing day, not to the server's UTC
yesterday.  Everything that asks "what day is it" goes through here."""
from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"


@lru_cache(maxsize=1)
def tz() -> ZoneInfo:
    """The business time zone (``KAOHE_TIMEZONE``, default Asia/Shanghai)."""
    return ZoneInfo(os.environ.get("KAOHE_TIMEZONE") or DEFAULT_TIMEZONE)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def local_now() -> dt.datetime:
    return utcnow().astimezone(tz())


def local_today() -> dt.date:
    """Today's date in the business time zone."""
    return local_now().date()


def local_day(moment: dt.datetime) -> dt.date:
    """The business day a moment falls on (naive moments are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(tz()).date()
