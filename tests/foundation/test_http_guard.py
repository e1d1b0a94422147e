"""Issue 11, findings 8 and 9: request hardening and security headers."""
from __future__ import annotations

import io

import pytest

from .conftest import PageClient, node_id


@pytest.mark.parametrize("url", [
    "/api/v1/annual/units/14052023787132513419264/522063",
    "/api/v1/users/99999999999999999999999",
    "/api/v1/people/9223372036854775808",
    "/api/v1/orgs/18446744073709551616",
])
def test_ids_beyond_bigint_are_404(app, world, backend, bearer, url):
    resp = app.test_client().get(url, headers=bearer("t1admin"))
    assert resp.status_code == 404


def test_largest_bigint_id_is_a_plain_404(app, world, backend, bearer):
    assert app.test_client().get("/api/v1/people/9223372036854775807", headers=bearer("t1admin")).status_code == 404


@pytest.mark.parametrize("url", ["/api/v1/users?q=%00", "/api/v1/people?unit_id=1%00", "/api/v1/audit?action=%00"])
def test_nul_in_query_is_422_on_the_api(app, world, backend, bearer, url):
    resp = app.test_client().get(url, headers=bearer("t1admin"))
    assert resp.status_code == 422, resp.get_data(as_text=True)


def test_nul_in_query_or_form_is_400_on_pages(app, world, backend):
    pc = PageClient(app).login("t1admin")
    assert pc.get("/audit?action=%00").status_code == 400
    assert pc.get("/users?q=a%00b").status_code == 400


def test_nul_in_json_is_422(app, world, backend, bearer):
    resp = app.test_client().post("/api/v1/users", headers=bearer("t1admin"), json={
        "username": "nul-user@P", "display_name": "a\x00b", "password": "a-long-password-1",
        "org_id": node_id(world, "T1")})
    assert resp.status_code == 422


def test_405_carries_allow(app, world, backend, bearer):
    resp = app.test_client().put("/api/v1/users", headers=bearer("t1admin"))
    assert resp.status_code == 405
    assert set(resp.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    pc = PageClient(app).login("t1admin")
    resp = pc.client.put("/users")
    assert resp.status_code == 405 and "GET" in resp.headers["Allow"]


def _chunked(app, headers, size):
    """POST a JSON body of ``size`` bytes without a Content-Length (as a
    server hands a chunked request to the app: wsgi.input_terminated)."""
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    class Chunks(io.RawIOBase):
        def __init__(self):
            self.left = size
            self.first = True

        def readable(self):
            return True

        def readinto(self, b):
            n = min(len(b), self.left)
            b[:n] = (b"[" + b" " * (n - 1)) if (n and self.first) else b" " * n
            self.first = False
            self.left -= n
            return n

    env = EnvironBuilder(path="/api/v1/users", method="POST",
                         headers={**headers, "Content-Type": "application/json",
                                  "Transfer-Encoding": "chunked"}).get_environ()
    env.pop("CONTENT_LENGTH", None)
    env["wsgi.input"] = io.BufferedReader(Chunks())
    env["wsgi.input_terminated"] = True
    app_iter, status, _ = run_wsgi_app(app, env)
    b"".join(app_iter)
    return int(status.split()[0])


@pytest.mark.parametrize("size", [2 * 1024 * 1024, 15 * 1024 * 1024])
def test_chunked_json_body_over_the_limit_is_413(app, world, backend, bearer, size):
    assert _chunked(app, bearer("t1admin"), size) == 413


def test_chunked_json_body_under_the_limit_is_read(app, world, backend, bearer):
    assert _chunked(app, bearer("t1admin"), 1000) in (400, 422)  # read and found wanting, not refused for size


def test_security_headers_on_pages_and_api(app, world, backend, bearer):
    c = app.test_client()
    for resp in (c.get("/login"), c.get("/api/v1/health"), PageClient(app).login("t1admin").get("/")):
        h = resp.headers
        csp = h["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in \
            csp.split("script-src")[1].split(";")[0]
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"]
        assert "Strict-Transport-Security" not in h  # only in production


def test_hsts_in_production(app, world, backend):
    app.config["KAOHE_PRODUCTION"] = True
    assert "max-age=" in app.test_client().get("/login").headers["Strict-Transport-Security"]


def test_templates_have_no_inline_scripts_or_handlers():
    """The CSP forbids inline scripts: none in any template."""
    import re
    from pathlib import Path

    import kaohe

    bad = []
    for path in Path(kaohe.__file__).parent.joinpath("templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", text):
            bad.append(f"{path.name}: {m.group(0)}")
        for m in re.finditer(r"\son[a-z]+=\"", text):
            bad.append(f"{path.name}: {m.group(0)}")
    assert not bad, bad
