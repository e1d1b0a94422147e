"""Chinese first, English available: the locale comes from the user's choice
(session), then the account, then 'zh'."""
from __future__ import annotations

from flask import session
from flask_login import current_user

SUPPORTED = ("zh", "en")


def select_locale() -> str:
    lang = session.get("lang")
    if lang in SUPPORTED:
        return lang
    try:
        if current_user and current_user.is_authenticated and current_user.locale in SUPPORTED:
            return current_user.locale
    except Exception:
        pass
    return "zh"


def select_timezone() -> str:
    from ..core.clock import tz

    return tz().key


def pick(zh: str, en: str | None) -> str:
    """Choose the Chinese or English form of a stored bilingual label."""
    return en if (select_locale() == "en" and en) else zh
