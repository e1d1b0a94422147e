"""Validate page forms with the API's marshmallow schemas, so both surfaces
enforce the same rules and report the same field messages."""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError


def parse_form(schema: Schema, form, *, bools: tuple[str, ...] = (), drop_empty: bool = True) -> tuple[dict | None, dict]:
    data: dict[str, Any] = {}
    for key in schema.fields:
        if key in bools:
            data[key] = form.get(key) in ("on", "1", "true", "yes")
            continue
        if key in form:
            value = form.get(key)
            if drop_empty and value == "":
                continue
            data[key] = value
    try:
        return schema.load(data, unknown=EXCLUDE), {}
    except ValidationError as err:
        return None, err.messages
