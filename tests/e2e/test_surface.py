"""The surface as a whole: every foundation page renders in Chinese and
English, on a desktop and at phone width, without sideways scrolling or
script errors; forms are keyboard-usable; the job page's progress bar moves
with htmx and still finishes without JavaScript; the API docs render offline."""
from __future__ import annotations

import pytest

from .helpers import horizontal_overflow, org_id

PAGES = [  # (user, path or callable(live_server) -> path, name)
    ("duoba_admin", "/", "home"),
    ("duoba_admin", lambda s: f"/orgs/{org_id(s, '630122100')}", "org"),
    ("duoba_admin", "/users", "users"),
    ("duoba_admin", "/users/new", "user-new"),
    ("duoba_admin", "/audit", "audit"),
    ("qh_policy", "/", "home-province"),
    ("qh_policy", lambda s: f"/orgs/{org_id(s, '630000')}", "org-province"),
    ("huangzhong_sup", "/", "home-county"),
]


# the navigation walk covers (phone, zh) and (desktop, en); these are the other two
@pytest.mark.parametrize("size,lang", [("desktop", "zh"), ("phone", "en")])
def test_pages_render_everywhere(request, chromium, live_server, login_as, shot, lang, size):
    from .conftest import DESKTOP, PHONE

    viewport = PHONE if size == "phone" else DESKTOP
    extra = {"is_mobile": True, "has_touch": True} if size == "phone" else {}
    ctx = chromium.new_context(viewport=viewport, locale="zh-CN", **extra)
    try:
        errors: list[str] = []
        current_user = None
        for user, path, name in PAGES:
            page = ctx.new_page() if current_user is None else page  # noqa: F821 - reuse the tab
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            if user != current_user:
                ctx.clear_cookies()
                login_as(page, user)
                page.goto(live_server.url(f"/lang/{lang}?next=/"))
                current_user = user
            url = path(live_server) if callable(path) else path
            resp = page.goto(live_server.url(url))
            assert resp.status == 200, f"{name}: {resp.status}"
            assert page.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")
            overflow = horizontal_overflow(page)
            assert overflow <= 1, f"{name} ({size}, {lang}) is {overflow}px wider than the screen"
            if lang == "en":
                # no Chinese UI chrome left in the English interface (names of places may be Chinese)
                nav = page.locator("#mainnav").inner_text() if page.locator("#mainnav").count() else ""
                assert not any("\u4e00" <= ch <= "\u9fff" for ch in nav), f"untranslated nav in English: {nav}"
            shot(page, f"{name}")
        assert not errors, errors
    finally:
        ctx.close()


def test_phone_menu_opens_and_has_touch_sized_links(phone_page, live_server, login_as, shot):
    page = phone_page
    login_as(page, "duoba_admin")
    nav = page.locator("#mainnav")
    assert not nav.is_visible()  # folded away behind the menu button
    page.get_by_role("button", name="菜单").click()
    assert nav.is_visible()
    heights = nav.locator("a").evaluate_all("els => els.map(e => e.getBoundingClientRect().height)")
    assert heights and min(heights) >= 44, heights
    shot(page, "menu-open")


def test_keyboard_only_login(page, live_server, shot):
    page.goto(live_server.url("/login"))
    assert page.evaluate("document.activeElement.id") == "username"  # autofocus
    page.keyboard.type("duoba_admin")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    from kaohe.demo import DEMO_PASSWORD

    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=tree]").count() >= 1
    # on any page the first Tab reaches "skip to content", and it has a visible focus style
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.locator(".skip").bounding_box()["x"] >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_form_errors_are_shown_next_to_fields(page, live_server, login_as, shot):
    login_as(page, "duoba_admin")
    page.goto(live_server.url("/users/new"))
    page.fill("#u-username", "duoba_admin")  # taken
    page.fill("#u-name", "重复账号")
    page.fill("#u-pw", "short")
    page.evaluate("document.querySelector('#user-new').noValidate = true")
    with page.expect_navigation():
        page.click("#user-new button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#u-pw[aria-invalid=true]").count() == 1
    assert page.locator(".field-error").count() >= 1
    assert "长度须为 10 至 256 个字符" in page.locator("#err-password").inner_text()  # marshmallow's message, in Chinese
    shot(page, "errors")


def _start_job(live_server, username: str, steps: int, delay: float) -> str:
    from sqlalchemy import select

    from kaohe.auth.models import User
    from kaohe.extensions import db
    from kaohe.jobs import queue
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    with live_server.app.app_context():
        apply_scope(Scope.system("e2e"))
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        org = db.session.get(OrgNode, user.org_id)
        job_id = queue.submit("demo.sleep", root_id=org.root_id, org_id=org.id, scope=Scope.province(org.root_id),
                              params={"steps": steps, "delay": delay}, created_by=user.id, mode="thread")
        db.session.remove()
        return job_id


def test_job_progress_bar_polls_with_htmx(page, live_server, login_as, shot):
    login_as(page, "duoba_admin")
    job_id = _start_job(live_server, "duoba_admin", steps=12, delay=0.25)
    page.goto(live_server.url(f"/jobs/{job_id}"))
    bar = page.locator("#job-progress .progress")
    seen = set()
    for _ in range(40):
        seen.add(int(bar.get_attribute("aria-valuenow") or 0))
        if page.locator("#job-progress[data-status=done]").count():
            break
        page.wait_for_timeout(250)
    assert page.locator("#job-progress[data-status=done]").count() == 1, "the page never showed the end"
    assert "已完成" in page.locator("#job-progress").inner_text()
    assert "演示任务" in page.locator(".subtitle").inner_text()  # what it does, not the code
    assert len(seen) >= 2, f"the bar did not move while the job ran: {seen}"
    shot(page, "done")


def test_job_page_finishes_without_javascript(chromium, live_server, login_as, shot):
    ctx = chromium.new_context(java_script_enabled=False, locale="zh-CN")
    try:
        page = ctx.new_page()
        login_as(page, "duoba_admin")
        job_id = _start_job(live_server, "duoba_admin", steps=4, delay=0.5)
        page.goto(live_server.url(f"/jobs/{job_id}"))
        # <noscript> meta refresh reloads the page until the job is done
        page.wait_for_selector("#job-progress[data-status=done]", timeout=20_000)
        assert page.locator(".progress").get_attribute("aria-valuenow") == "100"
        shot(page, "nojs-done")
    finally:
        ctx.close()


def test_print_stylesheet_hides_the_chrome(page, live_server, login_as):
    login_as(page, "duoba_admin")
    page.goto(live_server.url("/audit"))
    page.emulate_media(media="print")
    assert not page.locator(".topbar").is_visible()
    assert not page.locator("form.inline-form").is_visible()
    assert page.locator("h1").is_visible()
    page.emulate_media(media="screen")


def test_api_docs_render_offline(page, live_server, shot):
    """RapiDoc is served from our static files: nothing is fetched from elsewhere."""
    outside: list[str] = []

    def guard(route):
        url = route.request.url
        if url.startswith(live_server.base) or url.startswith("data:") or url.startswith("blob:"):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", guard)
    page.goto(live_server.url("/api/v1/docs"))
    page.wait_for_function(
        "() => { const d = document.querySelector('rapi-doc');"
        " return d && d.shadowRoot && d.shadowRoot.textContent.includes('Kaohe API'); }", timeout=20_000)
    text = page.evaluate("() => document.querySelector('rapi-doc').shadowRoot.textContent")
    assert "/api/v1/orgs" in text or "orgs" in text
    shot(page, "rapidoc")
    assert not outside, f"the docs page tried to load external resources: {outside}"
