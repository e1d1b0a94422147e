"""Marshmallow schemas of the notification channels."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from .models import KINDS
from .service import mask_secret, mask_url


class ChannelCreateSchema(Schema):
    kind = fields.Str(required=True, validate=validate.OneOf(KINDS),
                      metadata={"description": "wecom (企业微信群机器人) | dingtalk (钉钉群机器人)"})
    name = fields.Str(required=True, validate=validate.Length(min=1, max=80))
    url = fields.Str(required=True, validate=validate.Length(min=8, max=2000),
                     metadata={"description": "The robot's webhook address."})
    secret = fields.Str(load_default=None, validate=validate.Length(max=200),
                        metadata={"description": "DingTalk signing secret (SEC...); stored, never shown back in full."})


class ChannelSchema(Schema):
    id = fields.Int()
    org_id = fields.Int()
    kind = fields.Str()
    name = fields.Str()
    url = fields.Function(lambda c: mask_url(c.url), metadata={"description": "Without its key."})
    secret = fields.Function(lambda c: mask_secret(c.secret), metadata={"description": "Masked."})
    active = fields.Bool()
    created_at = fields.DateTime()


class DeliverySchema(Schema):
    id = fields.Int()
    channel_id = fields.Int()
    topic = fields.Str()
    day = fields.Date()
    title = fields.Str()
    text = fields.Str()
    status = fields.Str(metadata={"description": "queued | sent | failed"})
    attempts = fields.Int()
    last_error = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class TestQueuedSchema(Schema):
    job_ids = fields.List(fields.Str())
