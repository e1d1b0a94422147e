"""The REST API under /api/v1: flask-smorest blueprints from each slice; the
OpenAPI document is generated from their marshmallow schemas."""
from __future__ import annotations

from flask import Flask, jsonify

from ..extensions import api, csrf


def _iso_utc(value):
    """Every naive datetime in Kaohe is UTC (SQLite drops the offset on the
    way back): give it the offset the OpenAPI "date-time" format requires."""
    import datetime as dt

    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.isoformat()


def _utc_datetimes() -> None:
    from marshmallow import fields

    if fields.DateTime.SERIALIZATION_FUNCS.get("iso") is not _iso_utc:
        fields.DateTime.SERIALIZATION_FUNCS = {**fields.DateTime.SERIALIZATION_FUNCS, "iso": _iso_utc}


def init_api(app: Flask) -> None:
    _utc_datetimes()
    api.init_app(app, spec_kwargs={
        "info": {"description": "Kaohe (考核) REST API. Authenticate with `POST /api/v1/auth/token`, then send "
                                "`Authorization: Bearer <token>`. Resources outside your scope answer 404."},
    })
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    from flask_smorest.spec.plugins import integerconverter2paramschema

    from ..core.guard import IdConverter

    api.register_converter(IdConverter, integerconverter2paramschema)
    api.spec.options["security"] = [{"bearerAuth": []}]

    from ..audit.api import blp as audit_blp
    from ..auth.api import blp as auth_blp
    from ..jobs.api import blp as jobs_blp
    from ..tenancy.api import blp as org_blp
    from ..people.api import blp as people_blp
    from .health import blp as health_blp

    for blp in (health_blp, auth_blp, org_blp, people_blp, audit_blp, jobs_blp) + tuple(extra_blueprints()):
        api.register_blueprint(blp)
        csrf.exempt(blp)


def extra_blueprints():
    """Blueprints of later slices (policy, assessments, ...) register here."""
    import importlib

    for mod in ("kaohe.policy.api", "kaohe.routine.api", "kaohe.annual.api", "kaohe.supervision.api"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name and mod.startswith(exc.name):
                continue
            raise
        for name in dir(m):
            if name.startswith("blp"):
                yield getattr(m, name)
