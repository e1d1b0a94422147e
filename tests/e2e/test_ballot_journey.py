"""民主测评 in a real browser: the 省发改委 admin opens a session and gets the
printable slips with QR codes; a voter opens a slip's address on a phone
(no account), grades everyone and submits; the same code is refused after;
a second voter does it with JavaScript off.  Screenshots of the slips and
the phone ballot."""
from __future__ import annotations

import datetime as dt
import re

from .conftest import CHROMIUM_ARGS, PHONE  # noqa: F401
from .helpers import horizontal_overflow, org_id

FGW = "630000-FGW"


def _vote(p, url, shot=None):
    p.goto(url)
    assert p.locator("form[data-state=ballot]").count() == 1, p.content()[:2000]
    sets = p.locator("form[data-state=ballot] fieldset")
    for i in range(sets.count()):
        sets.nth(i).locator("input[value=chenzhi]").check()
    if shot:
        shot(p, "ballot")
    p.locator("form[data-state=ballot] button.bigbutton").click()
    p.wait_for_load_state()
    assert p.locator("[data-state=done]").count() == 1


def test_ballot_journey(page, phone_page, chromium, login_as, live_server, shot):
    unit = org_id(live_server, FGW)
    login_as(page, "fgw_admin")
    page.goto(live_server.url(f"/ballots/unit/{unit}"))
    page.fill("#f-title", "E2E 民主测评")
    page.fill("#f-voters", "3")
    page.fill("#f-closes_at", (dt.datetime.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page.locator("form.grid-form button.primary").click()
    page.wait_for_load_state()
    assert page.locator(".slip").count() == 3 and page.locator(".slip svg").count() == 3
    shot(page, "slips")
    codes = [c.strip() for c in page.locator(".slip .code").all_inner_texts()]
    html = page.content()
    base = re.search(r'(http://127\.0\.0\.1:\d+/vote/\d+/[A-Za-z0-9_-]+)', html).group(1)

    # voter 1: scans the QR (the address carries the code), on a phone
    _vote(phone_page, f"{base}?code={codes[0]}", shot)
    assert horizontal_overflow(phone_page) == 0
    shot(phone_page, "done")
    # the same code again: refused
    phone_page.goto(f"{base}?code={codes[0]}")
    assert phone_page.locator("[data-state=code]").count() == 1
    assert phone_page.locator(".error, .form-errors, [role=alert]").count() >= 1

    # voter 2: types the code, JavaScript off
    ctx = chromium.new_context(viewport=PHONE, java_script_enabled=False, locale="zh-CN", is_mobile=True,
                               has_touch=True)
    try:
        p = ctx.new_page()
        p.goto(base)
        p.fill("#f-code", codes[1].lower().replace("-", ""))
        p.locator("form[data-state=code] button").click()
        p.wait_for_load_state()
        sets = p.locator("form[data-state=ballot] fieldset")
        for i in range(sets.count()):
            sets.nth(i).locator("input[value=youxiu]").check()
        p.locator("form[data-state=ballot] button.bigbutton").click()
        p.wait_for_load_state()
        assert p.locator("[data-state=done]").count() == 1
    finally:
        ctx.close()

    # the admin sees the turnout; results stay hidden while open
    page.goto(live_server.url(f"/ballots/unit/{unit}"))
    page.locator("table a", has_text="E2E 民主测评").first.click()
    page.wait_for_load_state()
    assert "2 / 3" in page.content()
