"""The foundation journey in a real browser: a township assessment clerk logs
in, sees their part of the tree (and only that), cannot reach a sibling
township by typing its URL, and switches the interface to English."""
from __future__ import annotations

from .helpers import org_id

DUOBA, LUSHAER = "630122100", "630122101"  # two townships of the same county


def test_township_admin_sees_own_tree_not_the_sibling(page, live_server, login_as, shot):
    login_as(page, "duoba_admin")
    assert page.locator("html").get_attribute("lang") == "zh-CN"  # Chinese by default
    tree = page.locator("[data-testid=tree]")
    tree.wait_for()
    tree_text = tree.inner_text()
    assert "多巴镇" in tree_text
    assert tree.locator("li").count() > 1  # the township and its departments
    assert "鲁沙尔镇" not in page.content()  # the sibling does not exist for this clerk
    assert page.get_by_role("navigation", name="主导航").get_by_text("账号管理").count() == 1
    shot(page, "home")

    # open the own township from the tree
    with page.expect_navigation():
        tree.get_by_role("link", name="多巴镇", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text().startswith("多巴镇")
    shot(page, "own-township")

    # typing the sibling's URL gives the not-found page, not its data
    resp = page.goto(live_server.url(f"/orgs/{org_id(live_server, LUSHAER)}"))
    assert resp.status == 404
    assert page.locator(".error-page h1").inner_text() == "未找到"
    assert "鲁沙尔镇" not in page.content()
    shot(page, "sibling-404")

    # switch to English: same page, English words, the choice sticks
    page.goto(live_server.url("/"))
    with page.expect_navigation():
        page.get_by_role("link", name="English").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text().startswith("Welcome")
    page.goto(live_server.url(f"/orgs/{org_id(live_server, DUOBA)}"))
    assert "Sub-units" in page.inner_text("main")
    with page.expect_navigation():
        page.get_by_role("link", name="中文").click()  # and back, for the next tests
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert not page.js_errors, page.js_errors


def test_wrong_password_is_refused_in_the_page(page, live_server, shot):
    page.goto(live_server.url("/login"))
    page.fill("#username", "duoba_admin")
    page.fill("#password", "not-the-password")
    with page.expect_navigation():
        page.click("form.login button[type=submit]")
    assert page.locator(".flash-error").inner_text() == "用户名或密码错误。"
    assert "/login" in page.url


def test_unauthenticated_page_redirects_to_login(page, live_server):
    page.goto(live_server.url(f"/orgs/{org_id(live_server, DUOBA)}"))
    assert "/login" in page.url
    assert page.locator("#username").is_visible()
