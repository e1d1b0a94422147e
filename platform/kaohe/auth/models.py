"""Accounts, role grants, API tokens and the login throttle."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, and_, func, or_
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import IdType, tenant_fk, utcnow
from ..extensions import db
from ..tenancy.scope import Scope, org_filter


class User(db.Model):
    """An account.  ``root_id`` is the province it belongs to (NULL only for
    platform operators); ``org_id`` its home node."""

    __tablename__ = "user_account"
    __tenant__ = "user"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    root_id: Mapped[int | None] = mapped_column(IdType, index=True)
    org_id: Mapped[int | None] = mapped_column(IdType, index=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    display_name: Mapped[str] = mapped_column(String(120), nullable=False)
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    # Rotated on logout and password change: invalidates every old session.
    session_token: Mapped[str] = mapped_column(String(64), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    person_id: Mapped[int | None] = mapped_column(IdType, index=True)
    # Set a new password at the next sign-in (initial password, reset).
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                       server_default=sa_false())
    # A one-time activation code: only its SHA-256, and when it expires.
    activation_hash: Mapped[str | None] = mapped_column(String(64))
    activation_expires_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column()

    grants: Mapped[list["RoleGrant"]] = relationship(back_populates="user", lazy="select",
                                                     cascade="all, delete-orphan")

    __table_args__ = (
        tenant_fk("org_id"),
        Index("uq_user_account_username_lower", func.lower(username), unique=True),
        # One account per person.
        Index("uq_user_account_root_id_person_id", "root_id", "person_id", unique=True),
    )

    # Flask-Login protocol
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @classmethod
    def __scope_criteria__(cls, scope: Scope):
        clauses = []
        if scope.user_id is not None:
            clauses.append(cls.id == scope.user_id)
        if scope.login_name:
            clauses.append(func.lower(cls.username) == scope.login_name.lower())
        if scope.root_id is not None and scope.paths:
            clauses.append(and_(cls.root_id == scope.root_id, org_filter(cls.org_id, scope)))
        return or_(*clauses) if clauses else cls.id.is_(None)

    def __in_scope__(self, scope: Scope) -> bool:
        if scope.all_roots or self.id == scope.user_id:
            return True
        if self.root_id is None or self.root_id != scope.root_id or self.org_id is None:
            return False
        from ..tenancy.models import OrgNode

        node = db.session.get(OrgNode, self.org_id)
        return node is not None and scope.covers(node.root_id, node.path)


class RoleGrant(db.Model):
    __tablename__ = "role_grant"
    __tenant__ = "grant"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    root_id: Mapped[int | None] = mapped_column(IdType, index=True)
    org_id: Mapped[int | None] = mapped_column(IdType, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    granted_by: Mapped[int | None] = mapped_column(IdType)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="grants")

    __table_args__ = (
        tenant_fk("org_id"),
        UniqueConstraint("user_id", "org_id", "role", name="uq_role_grant_user_org_role"),
    )

    @classmethod
    def __scope_criteria__(cls, scope: Scope):
        clauses = []
        if scope.user_id is not None:
            clauses.append(cls.user_id == scope.user_id)
        if scope.root_id is not None and scope.paths:
            clauses.append(and_(cls.root_id == scope.root_id, org_filter(cls.org_id, scope)))
        return or_(*clauses) if clauses else cls.id.is_(None)

    def __in_scope__(self, scope: Scope) -> bool:
        if scope.all_roots or self.user_id == scope.user_id:
            return True
        if self.root_id != scope.root_id or self.org_id is None:
            return False
        from ..tenancy.models import OrgNode

        node = db.session.get(OrgNode, self.org_id)
        return node is not None and scope.covers(node.root_id, node.path)


class ApiToken(db.Model):
    """A bearer token for the API.  Only its SHA-256 is stored."""

    __tablename__ = "api_token"
    __tenant__ = "token"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    root_id: Mapped[int | None] = mapped_column(IdType, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False, default="api")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column()
    last_used_at: Mapped[dt.datetime | None] = mapped_column()

    user: Mapped[User] = relationship(lazy="joined")

    @classmethod
    def __scope_criteria__(cls, scope: Scope):
        clauses = []
        if scope.user_id is not None:
            clauses.append(cls.user_id == scope.user_id)
        if scope.token_hash:
            clauses.append(cls.token_hash == scope.token_hash)
        return or_(*clauses) if clauses else cls.id.is_(None)

    def __in_scope__(self, scope: Scope) -> bool:
        return scope.all_roots or self.user_id == scope.user_id


class LoginThrottle(db.Model):
    """Failed log-in attempts per lower-cased username (known or not, so the
    throttle does not reveal which accounts exist).  Holds no tenant data."""

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column()
    last_failure_at: Mapped[dt.datetime | None] = mapped_column()
