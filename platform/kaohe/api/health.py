from flask_smorest import Blueprint
from marshmallow import Schema, fields

blp = Blueprint("health", __name__, url_prefix="/api/v1/health", description="Liveness")


class HealthSchema(Schema):
    status = fields.Str()


@blp.route("")
@blp.response(200, HealthSchema)
@blp.doc(security=[])
def health():
    """Liveness probe (no authentication, no database)."""
    return {"status": "ok"}
