"""Crawl the demo as every kind of demo user, in Chinese and in English
(issue 16): start at the home page, follow every in-app link (a bounded
number of pages per user), and fail on

- a link shown to the user that does not answer 2xx (a dead end),
- Python reprs on a page (``{'``, ``None``, ``True``/``False``),
- untranslated message ids (``routine.something`` style keys),
- Latin words on Chinese pages outside an allowlist (codes, units, proper
  names, abbreviations),
- Chinese on English pages outside data (person and org names, which are
  collected from the database and allowed).

The Flask test client is used (fast, no browser); the pages are the demo's.
"""
from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest

from kaohe.demo import DEMO_PASSWORD

USERS = ["operator", "qh_policy", "xining_sup", "huangzhong_sup", "duoba_admin", "fgw_admin",
         "630122100-05002", "630122100-05005", "630122100-05006"]
MAX_PAGES = 150
# Never followed: they change the session, not pages; static files are not pages.
SKIP_PREFIXES = ("/logout", "/lang/", "/static/", "/api/")

# Latin words a Chinese page may show: codes, units, abbreviations, proper names.
ZH_LATIN_ALLOW = {
    "api", "xlsx", "csv", "pdf", "docx", "json", "yaml", "id", "ip", "url", "qr", "rq", "kaohe",
    "excel", "word", "ok", "utc", "pdf", "http", "https", "www", "sql", "pg", "sqlite", "postgresql",
    "redis", "citus", "fgw", "cpc", "ai", "it", "pc", "app", "totp", "sms", "email", "e-mail",
    "kaohe-demo", "qinghai-demo", "demo", "a", "b", "c", "d", "x", "v", "vs", "hr",
    "mb", "kb", "ms", "s", "min", "h", "q", "n/a",
    "english",  # the language switch names the other language in that language
    "tab",  # the key
    "personal", "extra", "raters",  # keywords of the scheme text format, typed as they are
}
EN_CJK_ALLOW = {"中文"}  # the language switch
WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
CJK_RE = re.compile(r"[\u3400-\u9fff]+")
# a bare None/True/False (not the English word starting a sentence such as "None yet.")
REPR_RE = re.compile(r"\{'|'\s*:\s*'|\b(?:None|True|False)\b(?!\s+[a-z])")
MSGID_RE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)*\.[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
# ordinary tokens that look like words but are data: codes like 630122100-05006, web addresses,
# template placeholders such as {staff_no}, emails, file names and paths (a pack's file named in an audit reason)
CODEISH_RE = re.compile(r"https?://\S+|(?:/[\w.-]+){2,}|\{[^{}]*\}|[\w.+-]+@[\w.-]+|\b[\w-]+\.(?:xlsx|csv|pdf|docx|json|yaml|png)\b|"
                        r"\b[A-Za-z0-9]*\d[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*\b|\b[0-9a-f]{8,}\b")


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.text: list[str] = []
        self._skip = 0
        self._stack: list[tuple[str, bool]] = []
        self.lang = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        # translate="no" (HTML's own marker for identifiers such as a policy key) is not UI text
        # lang="…" marks text deliberately in another language (the official Chinese 登记表 on any page);
        # the page's own language (<html lang>, or a lang equal to it) is not such a marker
        lang = (a.get("lang") or "").split("-")[0].lower()
        if tag == "html":
            self.lang = lang
            lang = ""
        skip = (tag in ("script", "style", "template") or a.get("translate") == "no"
                or bool(lang and lang != self.lang))
        if tag not in VOID:
            self._stack.append((tag, skip))
            if skip:
                self._skip += 1
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        for attr in ("title", "placeholder", "aria-label", "alt"):
            if a.get(attr) and not skip:
                self.text.append(a[attr])
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.text.append(a["value"])

    def handle_endtag(self, tag):
        if not any(t == tag for t, _s in self._stack):
            return
        while self._stack:
            t, skip = self._stack.pop()
            if skip:
                self._skip -= 1
            if t == tag:
                break

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.text.append(data.strip())


def _parse(html: str) -> _Page:
    p = _Page()
    p.feed(html)
    return p


def _in_app(href: str) -> str | None:
    href = urldefrag(href)[0].strip()
    if not href or href.startswith(("mailto:", "tel:", "javascript:", "data:")):
        return None
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None
    if not parts.path.startswith("/"):
        return None
    if parts.path.startswith(SKIP_PREFIXES):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    from flask_migrate import upgrade

    from kaohe import create_app
    from kaohe.demo import build_demo
    from kaohe.extensions import db

    tmp = tmp_path_factory.mktemp("crawl")
    url = f"sqlite:///{tmp / 'demo.db'}"
    app = create_app({"SECRET_KEY": "crawl-secret", "INSTANCE_PATH": str(tmp), "SQLALCHEMY_DATABASE_URI": url,
                      "KAOHE_MIGRATE_DATABASE_URL": url, "KAOHE_JOBS_MODE": "sync", "TESTING": True})
    with app.app_context():
        upgrade(revision="heads")
        build_demo(log=lambda *_a: None)
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def data_words(demo_app):
    return collect_data_words(demo_app)


NAMING = ("name", "name_en", "title", "display_name", "label", "code", "username", "staff_no", "post", "source",
          "issuer", "subject")


def collect_data_words(demo_app) -> dict:
    """Chinese that comes from data (names of people, orgs, periods, schemes, policies ...):
    allowed on English pages.  Latin words from data are allowed on Chinese pages."""
    from sqlalchemy import select

    from kaohe.extensions import db
    from kaohe.tenancy.scope import Scope, apply_scope

    cjk: set[str] = set()
    latin: set[str] = set()

    def take(v, naming):
        if isinstance(v, str):
            cjk.update(CJK_RE.findall(v))
            if naming:
                latin.update(w.lower() for w in WORD_RE.findall(v))
        elif isinstance(v, dict):
            for k, x in v.items():   # naming keys inside JSON too (an indicator's name_en in the library)
                take(x, naming or k in NAMING)
        elif isinstance(v, list):
            for x in v:
                take(x, naming)

    with demo_app.app_context():
        apply_scope(Scope.system("crawl"))
        for table in db.metadata.sorted_tables:
            # every text typed by people or loaded from the packs: names, comments, reasons, evidence ...
            # (Latin words only from naming columns: an English sentence in data is not an excuse for UI text)
            for col in table.columns:
                type_name = type(col.type).__name__
                if type_name not in ("String", "Text", "Unicode", "UnicodeText", "JSON"):
                    continue
                naming = col.name in NAMING
                stmt = select(col).limit(20000) if type_name == "JSON" else select(col).distinct().limit(20000)
                for (v,) in db.session.execute(stmt):
                    take(v, naming)
        db.session.remove()
    return {"cjk": cjk, "latin": latin, "joined": "\n".join(sorted(cjk))}


def _login(app, username: str, lang: str):
    from tests.conftest import Browser

    client = app.test_client()
    b = Browser(client)
    b.get("/login")
    resp = b.post("/login", {"username": username, "password": DEMO_PASSWORD})
    assert resp.status_code in (302, 303), f"login as {username} failed: {resp.status_code}"
    client.get(f"/lang/{lang}?next=/")
    return client


def _text_problems(url: str, texts: list[str], lang: str, data_words: dict) -> list[str]:
    problems = []
    for t in texts:
        for m in REPR_RE.finditer(t):
            problems.append(f"{url}: Python repr {m.group(0)!r} in {t[:120]!r}")
            break
        for m in MSGID_RE.finditer(t):
            problems.append(f"{url}: message id {m.group(0)!r} in {t[:120]!r}")
            break
        if lang == "zh":
            stripped = CODEISH_RE.sub(" ", t)
            bad = [w for w in WORD_RE.findall(stripped)
                   if w.lower() not in ZH_LATIN_ALLOW and w.lower() not in data_words["latin"]
                   and not (w.isupper() and len(w) <= 6)]  # abbreviations: API, XLSX, RQ, QR ...
            if bad:
                problems.append(f"{url}: English on a Chinese page {bad[:5]} in {t[:120]!r}")
        else:
            bad = [w for w in CJK_RE.findall(t) if w not in data_words["cjk"] and w not in EN_CJK_ALLOW]
            if bad:
                problems.append(f"{url}: Chinese on an English page {bad[:5]} in {t[:120]!r}")
    return problems


def _shape(url: str) -> str:
    """A page's kind: its address with the numbers taken out (/routine/periods/#/people/#)."""
    return re.sub(r"\d+", "#", url)


def crawl(app, username: str, lang: str, data_words: dict) -> tuple[list[str], int]:
    """Breadth first, pages of a kind not yet seen before more of the same kind
    (the 40th person page adds little; a page type reached late would otherwise
    fall outside the bound)."""
    client = _login(app, username, lang)
    seen: set[str] = set()
    shapes: set[str] = set()
    fresh: deque[tuple[str, str]] = deque([("/", "start")])
    again: deque[tuple[str, str]] = deque()
    problems: list[str] = []
    pages = 0
    while (fresh or again) and pages < MAX_PAGES:
        url, found_on = fresh.popleft() if fresh else again.popleft()
        if url in seen:
            continue
        seen.add(url)
        resp = client.get(url, follow_redirects=True)
        pages += 1
        final = resp.request.path if resp.request else url
        if not 200 <= resp.status_code < 300:
            problems.append(f"{url} (linked from {found_on}): HTTP {resp.status_code}")
            continue
        if final.startswith("/login"):
            problems.append(f"{url} (linked from {found_on}): sends the signed-in user to the login page")
            continue
        if resp.mimetype != "text/html":
            continue
        page = _parse(resp.get_data(as_text=True))
        problems += _text_problems(url, page.text, lang, data_words)
        for href in page.links:
            target = _in_app(href)
            if target and target not in seen:
                if _shape(target) in shapes:
                    again.append((target, url))
                else:
                    shapes.add(_shape(target))   # one of each kind first
                    fresh.append((target, url))
    return problems, pages


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("username", USERS)
def test_crawl_every_page(demo_app, data_words, username, lang):
    problems, pages = crawl(demo_app, username, lang, data_words)
    assert pages > 1, f"{username} reached no page beyond the home page"
    # one line per distinct problem, so the failure reads as a list
    unique = list(dict.fromkeys(re.sub(r"\d+", "#", p) for p in problems))
    assert not unique, f"{username}/{lang}: {len(unique)} problems on {pages} pages:\n" + "\n".join(unique[:200])


def _find(client, start: str, pattern: str, limit: int = 150) -> str | None:
    """The first in-app link matching ``pattern`` reachable from ``start`` (breadth first)."""
    rx = re.compile(pattern)
    seen, queue = set(), deque([start])
    while queue and len(seen) < limit:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        resp = client.get(url, follow_redirects=True)
        if resp.status_code != 200 or resp.mimetype != "text/html":
            continue
        for href in _parse(resp.get_data(as_text=True)).links:
            target = _in_app(href)
            if target and rx.fullmatch(target):
                return target
            if target and target.startswith(start.rstrip("/").rsplit("/", 1)[0] or start) and target not in seen:
                queue.append(target)
    return None


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_fixed_pages_show_values_in_words(demo_app, data_words, lang):
    """Finding 1 page by page: the audit log, a period's person page and an
    annual person page show no reprs, codes or raw JSON, in either language."""
    client = _login(demo_app, "duoba_admin", lang)
    urls = ["/audit",
            _find(client, "/routine/admin", r"/routine/periods/\d+/people/\d+"),
            _find(client, "/annual/", r"/annual/person/\d+/\d+")]
    assert all(urls), urls
    problems = []
    for url in urls:
        resp = client.get(url)
        assert resp.status_code == 200, url
        texts = _parse(resp.get_data(as_text=True)).text
        problems += [f"{url}: raw JSON in {t[:100]!r}" for t in texts if '{"' in t or "{'" in t]
        problems += _text_problems(url, texts, lang, data_words)
    assert not problems, "\n".join(problems[:50])


def test_the_crawler_reads_the_page_text():
    """The checker itself: a page's own language (<html lang="en">) is not a
    marker of foreign text, so the page's text is read and a Chinese gloss on
    an English page is found; text marked in the other language is skipped."""
    page = _parse('<html lang="en"><body><h1>Publicity (公示)</h1>'
                  '<p lang="zh-CN">公务员年度考核登记表</p><p lang="en-GB">Filed</p></body></html>')
    assert "Publicity (公示)" in page.text and "Filed" in page.text
    assert "公务员年度考核登记表" not in page.text
    problems = _text_problems("/x", page.text, "en", {"cjk": set(), "latin": set()})
    assert problems == ["/x: Chinese on an English page ['公示'] in 'Publicity (公示)'"]
    zh = _parse('<html lang="zh-CN"><body><p>3 rows, 0 problem(s)</p><code translate="no">unit_admin</code></body></html>')
    assert [p for p in _text_problems("/y", zh.text, "zh", {"cjk": set(), "latin": set()})
            if "English on a Chinese page" in p]
    # a Chinese word from data (a person's name) is allowed whole, not as a substring of other data
    assert not _text_problems("/z", ["Welcome, 张伟"], "en", {"cjk": {"张伟"}, "latin": set()})
    assert _text_problems("/z", ["Publicity (公示)"], "en", {"cjk": {"年度考核结果公示"}, "latin": set()})
