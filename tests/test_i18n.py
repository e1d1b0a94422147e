"""The Chinese catalog covers every UI string, and the shipped .mo matches it.

A new `_('...')` in Python or a template without a Chinese translation fails
here, naming the string.  Fix: `kaohe i18n refresh`, translate what it lists in
platform/kaohe/translations/zh/LC_MESSAGES/messages.po, run it again, commit
the .po and the .mo."""
from __future__ import annotations

import pytest

from kaohe.web import i18n_catalog

FIX = ("run `kaohe i18n refresh`, translate the listed strings in "
       "platform/kaohe/translations/zh/LC_MESSAGES/messages.po, run it again and commit .po + .mo")


@pytest.fixture(scope="module")
def report():
    return i18n_catalog.check("zh")


def test_extraction_finds_the_ui(report):
    # Guards against a broken babel.cfg silently extracting nothing.
    assert report.total > 80, f"only {report.total} msgids extracted: is babel.cfg right?"


def test_every_msgid_has_a_chinese_translation(report):
    assert not report.missing, (f"{len(report.missing)} UI string(s) without a Chinese translation "
                                f"({FIX}):\n" + "\n".join(f"  {m!r}" for m in report.missing))


def test_translations_keep_placeholders(report):
    assert not report.errors, "format errors in the zh catalog:\n" + "\n".join(report.errors)


def test_compiled_mo_is_fresh(report):
    assert not report.stale_mo, (f"messages.mo is stale for {len(report.stale_mo)} entries ({FIX}):\n"
                                 + "\n".join(report.stale_mo[:30]))


def test_catalog_check_catches_a_missing_string(tmp_path, monkeypatch):
    """The check itself can fail: a template with an untranslated string is reported."""
    (tmp_path / "babel.cfg").write_text("[jinja2: **.html]\n")
    (tmp_path / "x.html").write_text("{{ _('Log in') }} {{ _('A string nobody translated 12345') }}")
    rep = i18n_catalog.check("zh", root=tmp_path)
    assert rep.missing == ["A string nobody translated 12345"]


def test_chinese_by_default_english_on_request(client, backend):
    html = client.get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "登录" in html
    client.get("/lang/en")
    html = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in html and "Log in" in html and "登录" not in html
    client.get("/lang/zh")
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_validation_messages_are_shown_in_chinese(app, backend):
    from flask import session

    from kaohe.web.messages import localize_errors, localize_message

    with app.test_request_context("/"):
        assert localize_message("Length must be between 10 and 256.") == "长度须为 10 至 256 个字符。"
        assert localize_message("Missing data for required field.") == "此项为必填项。"
        assert localize_message("Must be greater than or equal to 0 and less than or equal to 100.") == "须在 0 至 100 之间。"
        assert localize_errors({"a": ["Not a valid integer."], "b": {"c": ["Wrong username or password."]}}) == \
            {"a": ["请填写整数。"], "b": {"c": ["用户名或密码错误。"]}}
        assert localize_message("A message nobody translated.") == "A message nobody translated."
        session["lang"] = "en"
        from flask_babel import refresh

        refresh()  # the locale is cached per request
        assert localize_message("Length must be between 10 and 256.") == "Must be 10 to 256 characters long."
