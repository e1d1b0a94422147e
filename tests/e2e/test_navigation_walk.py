"""Walk every page in the navigation of each kind of demo user, on a phone
and on a desktop: every page answers 200, runs without script errors, fits
the phone's width (wide tables scroll inside their own box), and in English
shows no Chinese UI words in the navigation.  New pages added to the nav by
any slice are covered automatically."""
from __future__ import annotations

import pytest

from .helpers import horizontal_overflow

# (user, size, language): every kind of user once, the clerk and the staff member both ways
CASES = [
    ("duoba_admin", "phone", "zh"), ("duoba_admin", "desktop", "en"),
    ("huangzhong_sup", "desktop", "en"), ("qh_policy", "phone", "zh"),
    ("630122100-05005", "desktop", "en"),  # a leader / rater
    ("630122100-05006", "phone", "zh"), ("630122100-05006", "desktop", "en"),  # staff
]


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("user,size,lang", CASES)
def test_every_nav_page_renders(chromium, live_server, login_as, shot, user, size, lang):
    from .conftest import DESKTOP, PHONE

    extra = {"is_mobile": True, "has_touch": True} if size == "phone" else {}
    ctx = chromium.new_context(viewport=PHONE if size == "phone" else DESKTOP, locale="zh-CN", **extra)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        login_as(page, user)
        page.goto(live_server.url(f"/lang/{lang}?next=/"))
        links = page.eval_on_selector_all("#mainnav a", "els => els.map(e => [e.getAttribute('href'), e.textContent.trim()])")
        assert links, f"{user} has no navigation"
        problems = []
        for href, label in links:
            resp = page.goto(live_server.url(href))
            if resp.status != 200:
                problems.append(f"{href} ({label}): HTTP {resp.status}")
                continue
            if size == "phone":
                over = horizontal_overflow(page)
                if over > 1:
                    problems.append(f"{href} ({label}): {over}px wider than a 390px phone")
            if lang == "en" and _has_cjk(label):
                problems.append(f"{href}: navigation label not translated: {label!r}")
            shot(page, href.strip("/").replace("/", "_") or "home")
        assert not problems, "\n".join(problems)
        assert not errors, errors
    finally:
        ctx.close()
