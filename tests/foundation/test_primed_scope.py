"""The caller's scope set by the credential statement itself (issue 18, "the
caller and scope established in one statement"): a credential used before
brings the scope it had then, which the look-up sets in the same statement;
it is kept only when the grants the look-up returns give the same scope, and
replaced before any other statement otherwise.  Isolation is unchanged."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select

from kaohe.extensions import db


@pytest.fixture
def statements(app):
    seen = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


@pytest.mark.pg
def test_known_credential_sets_its_scope_in_the_look_up_and_a_changed_one_is_replaced(app, world, bearer,
                                                                                       statements):
    from kaohe.auth import service as auth_service
    from kaohe.auth.models import ApiToken, User
    from kaohe.auth.roles import Role
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    c = app.test_client()
    h = bearer("t1admin")
    own, sibling = world.ids["P1-T1"], world.ids["P1-T2"]
    assert c.get(f"/api/v1/orgs/{own}", headers=h).status_code == 200       # first use: SET LOCAL
    statements.clear()
    assert c.get(f"/api/v1/orgs/{own}", headers=h).status_code == 200
    assert "set_config('kaohe.scope'" in statements[0] and not any(s.startswith("SET LOCAL") for s in statements), \
        statements
    assert c.get(f"/api/v1/orgs/{sibling}", headers=h).status_code == 404   # the primed scope is the subtree

    # The grants change between two requests: the guessed scope is replaced before the work.
    with app.app_context():
        apply_scope(Scope.system("test"))
        user = db.session.execute(select(User).where(User.username == "t1admin")).scalar_one()
        auth_service.grant_role(user, Role.unit_admin, db.session.get(OrgNode, sibling), check=False)
        user_id = user.id
        db.session.commit()
        db.session.remove()
    statements.clear()
    assert c.get(f"/api/v1/orgs/{sibling}", headers=h).status_code == 200
    assert any(s.startswith("SET LOCAL") for s in statements), statements

    # A revoked credential: refused, whatever it was primed with.
    with app.app_context():
        apply_scope(Scope.system("test"))
        for tok in db.session.execute(select(ApiToken).where(ApiToken.user_id == user_id)).scalars():
            auth_service.revoke_token(tok)
        db.session.commit()
        db.session.remove()
    assert c.get(f"/api/v1/orgs/{own}", headers=h).status_code == 401
