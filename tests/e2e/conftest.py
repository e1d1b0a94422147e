"""Browser tests: Debian's Chromium driven by Playwright against the demo.

Fixtures for every journey (routine, annual, supervision add theirs here):

- ``live_server``: the demo province (kaohe.demo.build_demo) on a temporary
  SQLite file, served by werkzeug on a free 127.0.0.1 port in a background
  thread, for the whole session.  ``live_server.url("/path")`` builds URLs,
  ``live_server.app`` is the Flask app (use ``with live_server.app.app_context()``
  plus a system scope to look ids up).  The database is shared by all tests of
  the session: a journey that changes data must not rely on another's changes.
- ``page``: a fresh browser context (desktop 1280x900, zh-CN) and page.
- ``phone_page``: the same at phone size (390x844, touch).
- ``login_as(page, username, password=DEMO_PASSWORD)``: signs in through the form.
- ``shot(page, name=None)``: saves test-artifacts/screenshots/<test>[-name].png
  and prints its path.  The ``page``/``phone_page`` fixtures also save
  ``<test>.png`` of the final state when the test ends (pass or fail), and the
  session summary lists every screenshot so the CI log keeps the paths.

Chromium is never downloaded: it is /usr/bin/chromium (or $KAOHE_CHROMIUM).
When it is missing the tests FAIL with a message saying how to install it.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("KAOHE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("KAOHE_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
SCREENSHOTS = ARTIFACTS / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}



def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)



class LiveServer:
    def __init__(self, app, host: str, port: int):
        self.app, self.host, self.port = app, host, port
        self.base = f"http://{host}:{port}"

    def url(self, path: str = "/") -> str:
        return self.base + path


def _quiet_handler():
    from werkzeug.serving import WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):  # keep the CI log for test output
            pass

    return Quiet


_QuietHandler = _quiet_handler()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from kaohe import create_app
    from kaohe.demo import build_demo
    from kaohe.extensions import db

    tmp = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{tmp / 'demo.db'}"
    app = create_app({
        "SECRET_KEY": "e2e-secret", "INSTANCE_PATH": str(tmp), "SQLALCHEMY_DATABASE_URI": url,
        "KAOHE_MIGRATE_DATABASE_URL": url, "KAOHE_JOBS_MODE": "thread",
    })
    with app.app_context():
        upgrade(revision="heads")
        build_demo(log=lambda *_a: None)
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, "127.0.0.1", server.server_port)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def chromium():
    exe = shutil.which(CHROMIUM) or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if not exe:
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's package "
                    f"(apt-get install chromium fonts-wqy-microhei) or set KAOHE_CHROMIUM. "
                    f"Browser tests never download a browser.", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        except Exception as exc:  # noqa: BLE001 - report it as a clear failure
            pytest.fail(f"Chromium at {exe} did not start: {str(exc).splitlines()[0]}", pytrace=False)
        yield browser
        browser.close()


def _slug(nodeid: str) -> str:
    name = nodeid.split("::")[-1]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def _save(page, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return str(path)


def _context_page(chromium, request, viewport, **extra):
    context = chromium.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai", **extra)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    try:
        if not page.is_closed():
            _save(page, SCREENSHOTS / f"{_slug(request.node.nodeid)}.png")
    finally:
        context.close()


@pytest.fixture
def page(chromium, live_server, request):
    yield from _context_page(chromium, request, DESKTOP)


@pytest.fixture
def phone_page(chromium, live_server, request):
    yield from _context_page(chromium, request, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)


@pytest.fixture
def shot(request):
    def _shot(page, name: str | None = None) -> str:
        stem = _slug(request.node.nodeid) + (f"-{name}" if name else "")
        return _save(page, SCREENSHOTS / f"{stem}.png")
    return _shot


@pytest.fixture
def login_as(live_server):
    from kaohe.demo import DEMO_PASSWORD

    def _login(page, username: str, password: str = DEMO_PASSWORD):
        page.goto(live_server.url("/login"))
        page.fill("#username", username)
        page.fill("#password", password)
        with page.expect_navigation():
            page.click("form.login button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "/login" not in page.url, f"login as {username} failed: {page.url}"
        return page
    return _login
