"""Helpers for the policy tests."""
from __future__ import annotations

import contextlib

import pytest

from kaohe.audit.service import Actor, reset_actor, set_actor
from kaohe.extensions import db
from kaohe.tenancy.models import OrgNode
from kaohe.tenancy.scope import Scope, apply_scope


@pytest.fixture
def sys_ctx(app, world):
    """An app context bound to the system scope with an actor (for service-level tests)."""
    @contextlib.contextmanager
    def _ctx():
        with app.app_context():
            apply_scope(Scope.system("policy-test"))
            token = set_actor(Actor(None, "policy-test"))
            try:
                yield
            finally:
                reset_actor(token)
                db.session.remove()
    return _ctx


def node(world, key: str) -> OrgNode:
    """A fresh OrgNode by world key ('P1-K1', 'P2-T1', ...)."""
    return db.session.get(OrgNode, world.ids[key])
