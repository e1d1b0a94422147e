"""Issue 16, finding 3 in a browser: the province's common indicator library
is a table of rows (no JSON, Chinese shown as Chinese) at desktop and phone
width; a row is added and reordered without JavaScript."""
from __future__ import annotations

from kaohe.core.clock import local_today

from .helpers import horizontal_overflow, org_id

PROVINCE = "630000"
YEAR = local_today().year


def _open_editor(page):
    row = page.locator("#k-indicators-common")
    row.locator("summary").first.click()
    return row


def test_indicator_editor_desktop_and_phone(page, phone_page, login_as, live_server, shot):
    prov = org_id(live_server, PROVINCE)
    url = live_server.url(f"/policy/org/{prov}?year={YEAR}")
    login_as(page, "qh_policy")
    page.goto(url)
    row = _open_editor(page)
    editor = row.locator("[data-testid=indicator-editor]")
    assert editor.is_visible()
    assert "\\u" not in row.inner_html()
    # add two indicators in the blank rows, save
    n = editor.locator("tbody tr[data-row]").count()
    first_blank = next(i for i in range(n)
                       if not editor.locator(f"input[name=row-{i}-code]").input_value())
    for i, (code, name, cat) in enumerate((("zz1", "政治素质", "de"), ("ji1", "工作实绩", "ji")), start=first_blank):
        editor.locator(f"input[name=row-{i}-code]").fill(code)
        editor.locator(f"input[name=row-{i}-name]").fill(name)
        editor.locator(f"select[name=row-{i}-category]").select_option(cat)
        editor.locator(f"input[name=row-{i}-max_points]").fill("10")
    editor.locator(f"input[name=row-{first_blank}-std_you]").fill("政治立场坚定，严守纪律")
    row.locator("form button.primary").click()
    page.wait_for_load_state()
    row = _open_editor(page)
    codes = [row.locator(f"input[name=row-{i}-code]").input_value() for i in range(first_blank + 2)]
    assert codes[first_blank:] == ["zz1", "ji1"]
    shot(page, "desktop")
    # ↓ on 政治素质 moves it below 工作实绩 (a plain form submit)
    row.locator(f"button[name=move][value='down:{first_blank}']").click()
    page.wait_for_load_state()
    row = _open_editor(page)
    assert row.locator(f"input[name=row-{first_blank}-code]").input_value() == "ji1"

    login_as(phone_page, "qh_policy")
    phone_page.goto(url)
    prow = _open_editor(phone_page)
    assert prow.locator("[data-testid=indicator-editor]").is_visible()
    prow.locator("[data-testid=indicator-editor]").scroll_into_view_if_needed()
    shot(phone_page, "phone")
    assert horizontal_overflow(phone_page) == 0
