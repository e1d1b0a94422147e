"""The gettext pipeline for the UI: extract every marked string from the code
and the templates, merge it into the Chinese catalog, compile the `.mo` that
ships with the package, and check that nothing is missing or stale.

One command refreshes everything: `kaohe i18n refresh` (then translate the
entries it lists as untranslated and run it again).  tests/test_i18n.py uses
`problems()` so a string added without a translation fails the suite."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import click
PACKAGE_DIR = Path(__file__).resolve().parent.parent   # platform/kaohe

REPO_ROOT = PACKAGE_DIR.parent.parent
TRANSLATIONS = PACKAGE_DIR / "translations"
LOCALES = ("zh",)
# The functions that mark a UI string (Flask-Babel's names and our aliases).
KEYWORDS = {
    "_": None, "gettext": None, "lazy_gettext": None, "_l": None, "N_": None,
    "ngettext": (1, 2), "lazy_ngettext": (1, 2),
    "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3),
}


def babel_cfg(root: Path = REPO_ROOT) -> Path:
    path = Path(root) / "babel.cfg"
    if not path.exists():
        raise click.ClickException(f"{path} not found: run this from a clone of the repository")
    return path


def extract(root: Path = REPO_ROOT):
    """A Catalog (the .pot) of every msgid in the code and templates."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with open(babel_cfg(root)) as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    catalog = Catalog(project="kaohe", msgid_bugs_address=None, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(root), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def mo_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"


def read_po(locale: str):
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po as _read

    path = po_path(locale)
    if not path.exists():
        return Catalog(locale=locale, project="kaohe", charset="utf-8")
    with open(path, "rb") as fh:
        return _read(fh, locale=locale)


def _norm(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _msgkey(msg) -> str | tuple:
    return _norm(msg.id) if msg.context is None else (_norm(msg.id), msg.context)


@dataclass
class Report:
    locale: str
    total: int = 0
    missing: list = field(default_factory=list)      # msgids with no (or a fuzzy) translation
    obsolete: int = 0
    errors: list = field(default_factory=list)       # placeholder mismatches and the like
    stale_mo: list = field(default_factory=list)     # entries whose .mo text differs from the .po


def _is_translated(msg) -> bool:
    if msg.fuzzy:
        return False
    if isinstance(msg.string, (list, tuple)):
        return all(s for s in msg.string)
    return bool(msg.string)


def check(locale: str = "zh", root: Path = REPO_ROOT, pot=None) -> Report:
    pot = pot if pot is not None else extract(root)
    po = read_po(locale)
    rep = Report(locale)
    for msg in pot:
        if not msg.id:
            continue
        rep.total += 1
        have = po.get(msg.id, msg.context)
        if have is None or not _is_translated(have):
            rep.missing.append(msg.id if isinstance(msg.id, str) else msg.id[0])
    for msg, errors in po.check():
        for err in errors:
            rep.errors.append(f"{msg.id!r}: {err}")
    rep.stale_mo = _stale_mo(locale, po)
    return rep


def _stale_mo(locale: str, po) -> list:
    """Entries where the compiled catalog disagrees with the .po (or no .mo)."""
    from babel.messages.mofile import read_mo

    path = mo_path(locale)
    if not path.exists():
        return ["(no .mo file)"]
    with open(path, "rb") as fh:
        mo = read_mo(fh)
    want = {_msgkey(m): _norm(m.string) for m in po if m.id and _is_translated(m)}
    got = {_msgkey(m): _norm(m.string) for m in mo if m.id}
    out = [str(k) for k in want if got.get(k) != want[k]]
    out += [f"{k} (only in .mo)" for k in got if k not in want]
    return out


def refresh(root: Path = REPO_ROOT, locales=LOCALES) -> list[Report]:
    """Extract, merge into each locale's .po (no fuzzy guessing: a guessed
    translation is worse than a visible English string) and compile."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import write_po

    pot = extract(root)
    (TRANSLATIONS).mkdir(parents=True, exist_ok=True)
    with open(TRANSLATIONS / "messages.pot", "wb") as fh:
        write_po(fh, pot, width=100, include_lineno=False, sort_output=True)
    reports = []
    for locale in locales:
        po = read_po(locale)
        # Translation memory: a string that disappears (a template being
        # rewritten) and comes back keeps its translation.  Obsolete entries
        # stay in the file as `#~` lines for the same reason.
        memory = {_msgkey(m): m.string for m in list(po) + list(po.obsolete.values())
                  if m.id and _is_translated(m)}
        po.update(pot, no_fuzzy_matching=True, update_header_comment=False)
        for msg in po:
            if msg.id and not _is_translated(msg) and _msgkey(msg) in memory:
                msg.string = memory[_msgkey(msg)]
                msg.flags.discard("fuzzy")
        path = po_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        write_po(buf, po, width=100, include_lineno=False, sort_output=True)
        path.write_bytes(buf.getvalue())
        with open(mo_path(locale), "wb") as fh:
            write_mo(fh, read_po(locale), use_fuzzy=False)
        reports.append(check(locale, root, pot))
    return reports


# A plain click group: the commands need no app, so they also run as
# `python -m kaohe.web.i18n_catalog refresh` when the app cannot start.
i18n_group = click.Group("i18n", help="UI translations (gettext catalogs).")


@i18n_group.command("refresh")
def refresh_cmd():
    """Re-extract all UI strings, merge them into the catalogs and compile."""
    failed = False
    for rep in refresh():
        click.echo(f"{rep.locale}: {rep.total} strings, {len(rep.missing)} untranslated, "
                   f"{len(rep.errors)} format errors")
        for m in rep.missing:
            click.echo(f"  untranslated: {m!r}")
        for e in rep.errors:
            click.echo(f"  error: {e}")
        failed = failed or bool(rep.missing or rep.errors)
    if failed:
        raise click.ClickException("catalog incomplete: translate the entries above in "
                                   "platform/kaohe/translations/<locale>/LC_MESSAGES/messages.po "
                                   "and run `kaohe i18n refresh` again")


@i18n_group.command("check")
def check_cmd():
    """Exit 1 when a UI string has no translation or the .mo is stale."""
    bad = False
    for locale in LOCALES:
        rep = check(locale)
        click.echo(f"{locale}: {rep.total} strings, {len(rep.missing)} untranslated, "
                   f"{len(rep.errors)} format errors, {len(rep.stale_mo)} stale in .mo")
        bad = bad or bool(rep.missing or rep.errors or rep.stale_mo)
    if bad:
        raise click.ClickException("run `kaohe i18n refresh` and translate what it lists")


def register(app) -> None:
    app.cli.add_command(i18n_group)


if __name__ == "__main__":  # pragma: no cover
    i18n_group()
