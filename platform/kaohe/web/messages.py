"""Validation messages in the reader's language.

The API answers in English (marshmallow's own messages and the services'
field messages).  Pages show the same messages through `localize_message`,
which knows marshmallow's standard messages (with their numbers) and
otherwise looks the message up in the catalog, so a service message that is
a translated msgid appears in Chinese too."""
from __future__ import annotations

import re

from flask_babel import gettext as _


def _rules():
    # (pattern, function of the match -> translated text); evaluated per call
    # so each request gets its own locale.
    return [
        (r"Missing data for required field\.", lambda m: _("This field is required.")),
        (r"Field may not be null\.", lambda m: _("This field may not be empty.")),
        (r"Invalid value\.", lambda m: _("Invalid value.")),
        (r"Not a valid integer\.", lambda m: _("Enter a whole number.")),
        (r"Not a valid number\.", lambda m: _("Enter a number.")),
        (r"Number too large\.", lambda m: _("The number is too large.")),
        (r"Not a valid string\.", lambda m: _("Enter text.")),
        (r"Not a valid email address\.", lambda m: _("Enter a valid e-mail address.")),
        (r"Not a valid date\.", lambda m: _("Enter a date as YYYY-MM-DD.")),
        (r"Not a valid (datetime|time)\.", lambda m: _("Enter a valid date and time.")),
        (r"Not a valid boolean\.", lambda m: _("Choose yes or no.")),
        (r"Not a valid (list|mapping type|URL)\.", lambda m: _("Invalid value.")),
        (r"Unknown field\.", lambda m: _("Unknown field.")),
        (r"Invalid input type\.", lambda m: _("Invalid input.")),
        (r"String does not match expected pattern\.", lambda m: _("The format is not valid.")),
        (r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.",
         lambda m: _("Must be %(min)s to %(max)s characters long.", **m.groupdict())),
        (r"Length must be (?P<n>\d+)\.", lambda m: _("Must be exactly %(n)s characters long.", **m.groupdict())),
        (r"Longer than maximum length (?P<max>\d+)\.",
         lambda m: _("At most %(max)s characters.", **m.groupdict())),
        (r"Shorter than minimum length (?P<min>\d+)\.",
         lambda m: _("At least %(min)s characters.", **m.groupdict())),
        (r"Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\.",
         lambda m: _("Must be between %(min)s and %(max)s.", **m.groupdict())),
        (r"Must be greater than (?P<min>\S+) and less than (?P<max>\S+)\.",
         lambda m: _("Must be more than %(min)s and less than %(max)s.", **m.groupdict())),
        (r"Must be greater than or equal to (?P<min>\S+)\.", lambda m: _("Must be at least %(min)s.", **m.groupdict())),
        (r"Must be less than or equal to (?P<max>\S+)\.", lambda m: _("Must be at most %(max)s.", **m.groupdict())),
        (r"Must be greater than (?P<min>\S+)\.", lambda m: _("Must be more than %(min)s.", **m.groupdict())),
        (r"Must be less than (?P<max>\S+)\.", lambda m: _("Must be less than %(max)s.", **m.groupdict())),
        (r"Must be one of: (?P<choices>.*)\.", lambda m: _("Must be one of: %(choices)s.", **m.groupdict())),
        # The rest of marshmallow's default_error_messages (every field type)
        # and its validators, so no English sentence reaches the Chinese UI.
        (r"Must be greater than (?P<min>\S+) and less than or equal to (?P<max>\S+)\.",
         lambda m: _("Must be more than %(min)s and at most %(max)s.", **m.groupdict())),
        (r"Must be greater than or equal to (?P<min>\S+) and less than (?P<max>\S+)\.",
         lambda m: _("Must be at least %(min)s and less than %(max)s.", **m.groupdict())),
        (r"Invalid type\.", lambda m: _("Invalid input.")),
        (r"Not a valid tuple\.", lambda m: _("Invalid value.")),
        (r"Not a valid utf-8 string\.", lambda m: _("Enter text.")),
        (r"Not a valid UUID\.", lambda m: _("Not a valid identifier.")),
        (r"Special numeric values \(nan or infinity\) are not permitted\.", lambda m: _("Enter a number.")),
        (r"Not a valid (naive|aware) (datetime|time)\.", lambda m: _("Enter a valid date and time.")),
        (r"Not a valid (naive|aware) date\.", lambda m: _("Enter a date as YYYY-MM-DD.")),
        (r"\"(?P<input>.*)\" cannot be formatted as a date\.", lambda m: _("Enter a date as YYYY-MM-DD.")),
        (r"\"(?P<input>.*)\" cannot be formatted as a (datetime|time)\.",
         lambda m: _("Enter a valid date and time.")),
        (r"Not a valid period of time\.", lambda m: _("Enter a length of time.")),
        (r".* cannot be formatted as a timedelta\.", lambda m: _("Enter a length of time.")),
        (r"Not a valid IP(v4|v6)? (address|interface)\.", lambda m: _("Enter a valid IP address.")),
        (r"Must be equal to (?P<other>.*)\.", lambda m: _("Must be %(other)s.", **m.groupdict())),
        (r"One or more of the choices you made was not in: (?P<choices>.*)\.",
         lambda m: _("Choose only from: %(choices)s.", **m.groupdict())),
        (r"One or more of the choices you made was in: (?P<values>.*)\.",
         lambda m: _("These values are not allowed: %(values)s.", **m.groupdict())),
    ]


# Service and import messages with parameters (``N_("... %(x)s ...")`` then
# ``% params``): registered once, recognised in their formatted English form
# and shown in the reader's language, parameters included when they are
# catalog words themselves ("a date", "a number").
_TEMPLATES: list[tuple[re.Pattern, str, dict, dict]] = []


def register_templates(*msgids: str, words: dict | None = None, params: dict | None = None) -> None:
    """``words``: {parameter: label table {code: (zh, en)}}: the parameter holds
    the English label (or several joined by " or " / ", ", e.g. the states a
    step is allowed in) and is shown as the label in the reader's language.
    ``params``: {parameter: function(text) -> text} for a parameter that is a
    list the service wrote out (the function localizes it)."""
    by_en = {name: {en: (zh, en) for zh, en in table.values()} for name, table in (words or {}).items()}
    for msgid in msgids:
        parts = re.split(r"%\((\w+)\)s", msgid)
        rx = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        _TEMPLATES.append((re.compile(rx + r"\Z", re.S), msgid, by_en, dict(params or {})))


_SEPARATORS = {" or ": ("或", " or "), ", ": ("、", ", ")}


def _label_words(value: str, labels: dict) -> str | None:
    """A label (or labels joined by " or " / ", ") in the reader's language; None if not all are labels."""
    from .i18n import pick

    parts = re.split(r"( or |, )", value)
    if not all(p in labels for p in parts[::2]):
        return None
    return "".join(pick(*labels[p]) if i % 2 == 0 else pick(*_SEPARATORS[p]) for i, p in enumerate(parts))


def _param(name: str, value: str, words: dict, params: dict) -> str:
    if name in params:
        return params[name](value)
    if name in words:
        shown = _label_words(value, words[name])
        if shown is not None:
            return shown
    return _(value)


_COMPILED = [re.compile(p + r"\Z") for p, _fn in _rules()]


def localize_message(message) -> str:
    text = str(message)
    for rx, (_p, fn) in zip(_COMPILED, _rules()):
        m = rx.match(text)
        if m:
            return fn(m)
    for rx, msgid, words, params in _TEMPLATES:
        m = rx.match(text)
        if m:
            return _(msgid, **{k: _param(k, v, words, params) for k, v in m.groupdict().items()})
    return _(text) if text else text


def localize_errors(errors):
    """The same structure as marshmallow's `messages`, every string localized."""
    if isinstance(errors, dict):
        return {k: localize_errors(v) for k, v in errors.items()}
    if isinstance(errors, (list, tuple)):
        return [localize_errors(v) for v in errors]
    return localize_message(errors)


def N_(message: str) -> str:
    """Mark a service message for the catalog without translating it here:
    `raise Invalid({"code": [N_("This code is already used in the province.")]})`.
    The API keeps the English text; pages show it translated (localize_message)."""
    return message


# The generic messages of kaohe.core (which cannot import the catalog), so
# pages and API answers show them in the reader's language too.
CORE_MESSAGES = (
    N_("Invalid request."), N_("The input is not valid."), N_("The request conflicts with the current state."),
    N_("You are not allowed to do this."),
    N_("Someone else changed this record first; reload to see the newer version."),
    N_("The change conflicts with existing data (a duplicate or a missing reference)."),
    N_("A value in the request is out of range or not valid."),
)


def _register_known() -> None:
    from ..core import xlsx_guard

    register_templates(*xlsx_guard.ERROR_TEXT.values())   # jobs.health registers its own


_register_known()
