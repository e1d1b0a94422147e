"""Log-in, throttling, tokens and grants.  Operations flush, never commit."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from flask import current_app, g
from sqlalchemy import func, select
from sqlalchemy.orm import make_transient_to_detached

from ..audit.service import Actor, record
from ..core.db import upsert_insert, utcnow
from ..core.errors import Conflict, Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import Scope, adopt_primed_scope, apply_scope, current_scope, minimal_paths, scoped
from . import principal
from .models import ApiToken, LoginThrottle, RoleGrant, User
from .passwords import dummy_verify, hash_password, needs_rehash, verify_password
from .roles import GRANTABLE_BY, ROLE_PERMS, Perm, Role


class LoginLocked(Exception):
    def __init__(self, until: dt.datetime):
        self.until = until


@dataclass(frozen=True)
class GrantInfo:
    role: Role
    org_id: int | None
    root_id: int | None
    path: str | None


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


# -- authentication --------------------------------------------------------

def authenticate(username: str, password: str) -> User | None:
    """Check a password; count attempts per username and lock after too many.
    Raises LoginLocked while locked (even for the right password).

    The attempt is counted BEFORE the password is checked, in one atomic
    statement committed on its own connection (or one Redis INCR when
    KAOHE_REDIS_URL is set): however many requests arrive at once, at most
    KAOHE_LOGIN_MAX_FAILURES passwords are checked per lock period."""
    name = (username or "").strip().lower()[:64]
    throttle = _throttle()
    until = throttle.reserve(name)
    if until is not None:
        raise LoginLocked(until)
    # Only the account being logged into is visible while checking it.
    apply_scope(Scope(login_name=name, label="login"))
    user = db.session.execute(select(User).where(func.lower(User.username) == name)).scalar_one_or_none()
    if user is None:
        dummy_verify(password or "")
        ok = False
    else:
        ok = verify_password(user.password_hash, password or "") and user.active
    if not ok:
        return None
    throttle.clear(name)
    now = utcnow()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    apply_scope(Scope(login_name=name, user_id=user.id, label="login"))
    db.session.flush()
    return user


class _DbThrottle:
    """Attempts per username in ``login_throttle``: one INSERT ... ON
    CONFLICT DO UPDATE ... RETURNING per attempt, committed at once on its
    own connection (so concurrent requests each see every earlier count, and
    a failed request's count survives its rollback)."""

    def __init__(self, max_attempts: int, lock_seconds: int):
        self.max, self.lock = max_attempts, lock_seconds

    def _insert(self, conn):
        return upsert_insert(conn.dialect.name, LoginThrottle.__table__)

    def reserve(self, name: str) -> dt.datetime | None:
        from sqlalchemy import case, literal
        from sqlalchemy.types import DateTime

        t = LoginThrottle.__table__
        now = utcnow().astimezone(dt.timezone.utc).replace(tzinfo=None)
        lock_at = now + dt.timedelta(seconds=self.lock)
        now_v, lock_v = literal(now, DateTime()), literal(lock_at, DateTime())
        expired = t.c.locked_until.is_not(None) & (t.c.locked_until <= now_v)
        count = case((expired, 1), else_=t.c.failures + 1)
        with db.engine.begin() as conn:
            stmt = self._insert(conn).values(
                username=name, failures=1, last_failure_at=now,
                locked_until=lock_at if self.max <= 1 else None)
            stmt = stmt.on_conflict_do_update(index_elements=[t.c.username], set_={
                "failures": count,
                "locked_until": case((expired, case((literal(1) >= self.max, lock_v), else_=None)),
                                     (t.c.locked_until.is_not(None), t.c.locked_until),
                                     (t.c.failures + 1 >= self.max, lock_v), else_=None),
                "last_failure_at": now_v,
            }).returning(t.c.failures, t.c.locked_until)
            failures, locked_until = conn.execute(stmt).one()
        if failures > self.max:
            return _aware(locked_until) or _aware(lock_at)
        return None

    def clear(self, name: str) -> None:
        from sqlalchemy import delete

        with db.engine.begin() as conn:
            conn.execute(delete(LoginThrottle.__table__).where(LoginThrottle.__table__.c.username == name))


_REDIS_CLIENTS: dict = {}
# Redis URL -> monotonic time until which it is not asked again (it failed).
_REDIS_RESTING: dict[str, float] = {}
REDIS_REST_SECONDS = 10.0

_REDIS_RESERVE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
"""


class _RedisThrottle:
    """The same counting with Redis: INCR (with an expiry set by the first
    attempt of a period) in one script, so it is atomic across workers.

    Redis down is no reason to refuse every sign-in, nor to stop counting:
    when Redis fails, the attempt is counted by the database's atomic counter
    instead (and Redis is left alone for REDIS_REST_SECONDS, so a dead Redis
    costs one failed connect, not one per attempt).  Across an outage the two
    counters are separate, so at most twice the limit can be checked in the
    lock period that spans it; within the outage the limit holds exactly."""

    def __init__(self, url: str, max_attempts: int, lock_seconds: int):
        import redis

        if url not in _REDIS_CLIENTS:
            # Short timeouts: a Redis that does not answer must not hold a sign-in.
            _REDIS_CLIENTS[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        self.url, self.client = url, _REDIS_CLIENTS[url]
        self.max, self.lock = max_attempts, lock_seconds
        self.fallback = _DbThrottle(max_attempts, lock_seconds)

    @staticmethod
    def key(name: str) -> str:
        return "kaohe:login:" + hashlib.sha256(name.encode("utf-8")).hexdigest()

    def _usable(self) -> bool:
        import time

        return _REDIS_RESTING.get(self.url, 0.0) <= time.monotonic()

    def _failed(self, exc: Exception) -> None:
        import logging
        import time

        _REDIS_RESTING[self.url] = time.monotonic() + REDIS_REST_SECONDS
        logging.getLogger(__name__).warning(
            "login throttle: Redis unreachable (%s); counting in the database", exc.__class__.__name__)

    def reserve(self, name: str) -> dt.datetime | None:
        import redis

        if self._usable():
            try:
                n, pttl = self.client.eval(_REDIS_RESERVE, 1, self.key(name), self.lock)
            except redis.exceptions.RedisError as exc:
                self._failed(exc)
            else:
                if int(n) > self.max:
                    return utcnow() + dt.timedelta(milliseconds=max(int(pttl), 0))
                return None
        return self.fallback.reserve(name)

    def clear(self, name: str) -> None:
        import redis

        if self._usable():
            try:
                self.client.delete(self.key(name))
            except redis.exceptions.RedisError as exc:
                self._failed(exc)
        # Failures counted in the database during an outage end here too.
        self.fallback.clear(name)


def _throttle():
    cfg = current_app.config
    if cfg.get("KAOHE_REDIS_URL"):
        return _RedisThrottle(cfg["KAOHE_REDIS_URL"], cfg["KAOHE_LOGIN_MAX_FAILURES"], cfg["KAOHE_LOGIN_LOCK_SECONDS"])
    return _DbThrottle(cfg["KAOHE_LOGIN_MAX_FAILURES"], cfg["KAOHE_LOGIN_LOCK_SECONDS"])


def load_grants(user: User) -> list[GrantInfo]:
    """The user's grants with the paths of their nodes.  Two steps, because
    the nodes are only visible once we know which ones they are."""
    apply_scope(Scope(user_id=user.id, label="auth"))
    rows = db.session.execute(
        select(RoleGrant.role, RoleGrant.org_id, RoleGrant.root_id).where(RoleGrant.user_id == user.id)
    ).all()
    node_ids = tuple(sorted({r.org_id for r in rows if r.org_id is not None}))
    paths: dict[int, str] = {}
    if node_ids and user.root_id is not None:
        apply_scope(Scope(user_id=user.id, root_id=user.root_id, extra_node_ids=node_ids, label="auth"))
        paths = dict(db.session.execute(select(OrgNode.id, OrgNode.path).where(OrgNode.id.in_(node_ids))).all())
    return [GrantInfo(Role(r.role), r.org_id, r.root_id, paths.get(r.org_id)) for r in rows]


def scope_for(user: User, grants: list[GrantInfo]) -> Scope:
    return _scope_from(user.id, user.root_id, f"user:{user.username}", grants)


def _scope_from(user_id: int, root_id: int | None, label: str, grants: list[GrantInfo]) -> Scope:
    if any(gr.role == Role.platform_operator for gr in grants):
        return Scope(all_roots=True, user_id=user_id, label=label)
    paths = [gr.path for gr in grants if gr.path and gr.root_id == root_id]
    if root_id is None or not paths:
        return Scope(user_id=user_id, label=label)
    return Scope.for_paths(root_id, paths, user_id=user_id, label=label)


def establish(user: User) -> Scope:
    """Load the user's grants and bind their scope to this request."""
    grants = load_grants(user)
    scope = scope_for(user, grants)
    apply_scope(scope)
    g.kaohe_grants = grants
    g.kaohe_user = user
    return scope


# The scope each credential had the last time it was used (key: token digest
# or session), so that the next look-up can set it in the same statement.
# Only a guess: the scope is always recomputed from the grants the look-up
# returns, and a different one is set on its own before any other statement.
_SCOPE_GUESSES: dict[str, Scope] = {}
_MAX_GUESSES = 50_000


def _remember_scope(key: str, scope: Scope) -> None:
    if len(_SCOPE_GUESSES) >= _MAX_GUESSES:
        _SCOPE_GUESSES.clear()
    _SCOPE_GUESSES[key] = scope


def establish_principal(p: "principal.Principal", primed: Scope | None = None,
                        guess_key: str | None = None) -> User | None:
    """Bind the scope of a principal read in one statement (see
    ``kaohe.auth.principal``), then load its account under that scope.
    None (and no scope) for a deactivated account.  ``primed``: the scope the
    look-up already set in the database (kept when it is still right,
    replaced otherwise)."""
    if not p.active:
        if primed is not None:
            apply_scope(Scope())       # take the guessed scope back
        return None
    grants = [GrantInfo(Role(r.role), r.org_id, r.root_id, r.path) for r in p.grants]
    scope = _scope_from(p.user_id, p.root_id, f"user:{p.user_id}", grants)
    if primed is not None and scope == primed:
        adopt_primed_scope(scope)
    else:
        apply_scope(scope)
    if guess_key is not None:
        _remember_scope(guess_key, scope)
    # The statement that found the credential also returned the account's
    # columns: put it in the identity map as loaded (no SELECT).  What it
    # did not return (the password hash) loads on first access, under the
    # scope just bound.
    known = db.session.identity_map.get(db.session.identity_key(User, p.user_id))
    if known is not None:
        user = known
    else:
        fresh = User(id=p.user_id, root_id=p.root_id, active=p.active, **p.account)
        make_transient_to_detached(fresh)
        user = db.session.merge(fresh, load=False)
    g.kaohe_grants = grants
    g.kaohe_user = user
    return user


def current_grants() -> list[GrantInfo]:
    return getattr(g, "kaohe_grants", [])


def has_perm(perm: Perm, org: OrgNode | None = None, grants: list[GrantInfo] | None = None) -> bool:
    grants = current_grants() if grants is None else grants
    for gr in grants:
        if perm not in ROLE_PERMS[gr.role]:
            continue
        if gr.role == Role.platform_operator:
            return True
        if org is None:
            return True
        if gr.path and gr.root_id == org.root_id and org.path.startswith(gr.path):
            return True
    return False


def roles_held() -> set[Role]:
    return {gr.role for gr in current_grants()}


# -- sessions and tokens ---------------------------------------------------

def rotate_session(user: User) -> None:
    user.session_token = secrets.token_hex(16)
    db.session.flush()


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue_token(user: User, name: str = "api") -> tuple[str, ApiToken]:
    raw = "kh_" + secrets.token_urlsafe(32)
    tok = ApiToken(
        root_id=user.root_id, user_id=user.id, token_hash=token_digest(raw), name=name[:80] or "api",
        expires_at=utcnow() + dt.timedelta(days=current_app.config["KAOHE_TOKEN_DAYS"]),
    )
    db.session.add(tok)
    db.session.flush()
    if user.root_id is not None:
        record("auth.token_issued", root_id=user.root_id, org_id=user.org_id or user.root_id,
               target_type="api_token", target_id=tok.id, after={"name": tok.name, "user": user.username},
               actor=Actor(user.id, user.username))
    return raw, tok


def _from_credential(key: str, look_up, valid=lambda p: True) -> tuple["principal.Principal | None", User | None]:
    """Look a credential up with the scope it had last time as the guess
    (``principal.token_principal`` / ``session_principal``), then bind the
    right scope: (principal, account), the account None when the credential
    is unknown, refused by ``valid`` or deactivated -- and then no scope."""
    guess = _SCOPE_GUESSES.get(key)
    p, primed = look_up(guess)
    if p is None or not valid(p):
        if primed:
            apply_scope(Scope())       # take the guessed scope back
        _SCOPE_GUESSES.pop(key, None)
        return p, None
    return p, establish_principal(p, guess if primed else None, key)


def user_for_token(raw: str) -> User | None:
    """The account of a valid bearer token, with its scope bound to the
    request (one statement for token, account state and grants)."""
    digest = token_digest(raw)
    p, user = _from_credential(digest, lambda guess: principal.token_principal(digest, guess),
                               lambda p: p.revoked_at is None and _aware(p.expires_at) > utcnow())
    if user is not None:
        g.kaohe_token_id = p.token_id
    return user


def user_for_session(user_id: int, session_token: str) -> User | None:
    """The account of a page session (the cookie holds id and session token)."""
    return _from_credential(f"session:{user_id}:{session_token}",
                            lambda guess: principal.session_principal(user_id, session_token, guess))[1]


def current_token() -> ApiToken | None:
    """The token this API request authenticated with."""
    tid = g.get("kaohe_token_id")
    return db.session.get(ApiToken, tid) if tid else None


def revoke_token(tok: ApiToken) -> None:
    tok.revoked_at = utcnow()
    db.session.flush()


# -- accounts and grants ---------------------------------------------------

def N_(text: str) -> str:
    """Mark a message for the catalog (pages translate it, the API keeps English)."""
    return text


USERNAME_OUTSIDE_NAMESPACE = N_("Usernames created in a province end with @ and the province's code.")
USERNAME_TAKEN = N_("This username is already taken.")
USERNAME_OTHER_PROVINCE = N_("A name ending with a province's code belongs to an account of that province.")


def province_code(org: OrgNode) -> str:
    """The code of the province ``org`` belongs to (the root is always
    visible to whoever sees the node: it is where policy is inherited from)."""
    if org.parent_id is None:
        return org.code
    return db.session.execute(select(OrgNode.code).where(OrgNode.id == org.root_id)
                              .execution_options(kaohe_unscoped=True)).scalar_one()


def check_new_username(name: str, org: OrgNode | None) -> str:
    """The one check of a new account's name (page, API, CLI): outside the
    creator's province namespace (``kaohe.auth.namespace``) is refused before
    anything is looked up, then the name must be unique on the platform.
    Provisioning makes its names inside the namespace by construction
    (``namespace.qualify``) and checks them for uniqueness in one query."""
    from .namespace import domain, in_namespace

    name = name.strip()
    if not current_scope().all_roots:
        if org is None or not in_namespace(name, province_code(org)):
            raise Invalid({"username": [USERNAME_OUTSIDE_NAMESPACE]})
    elif domain(name):
        # Even the operator keeps a province's namespace for that province's accounts.
        owner = db.session.execute(select(OrgNode.id).where(
            OrgNode.parent_id.is_(None), func.lower(OrgNode.code) == domain(name))).scalar_one_or_none()
        if owner is not None and (org is None or org.root_id != owner):
            raise Invalid({"username": [USERNAME_OTHER_PROVINCE]})
    exists = db.session.execute(
        select(User.id).where(func.lower(User.username) == name.lower()).execution_options(kaohe_unscoped=True)
    ).first()
    if exists:
        raise Conflict({"username": [USERNAME_TAKEN]})
    return name


def create_user(*, username: str, display_name: str, password: str, org: OrgNode | None,
                email: str | None = None, person_id: int | None = None, password_hash: str | None = None) -> User:
    name = check_new_username(username, org)
    user = User(
        username=name, display_name=display_name.strip(), email=email,
        password_hash=password_hash or hash_password(password), session_token=secrets.token_hex(16),
        root_id=org.root_id if org else None, org_id=org.id if org else None, person_id=person_id,
    )
    db.session.add(user)
    db.session.flush()
    if org is not None:
        record("user.create", root_id=org.root_id, org_id=org.id, target_type="user", target_id=user.id,
               after={"username": user.username, "display_name": user.display_name, "org": org.code})
    return user


def grant_role(user: User, role: Role, org: OrgNode | None, *, grantor_grants: list[GrantInfo] | None = None,
               check: bool = True) -> RoleGrant:
    if role == Role.platform_operator:
        if org is not None:
            raise Invalid({"org_id": ["The platform operator role is not granted on a node."]})
    else:
        if org is None:
            raise Invalid({"org_id": ["A node is required for this role."]})
        if user.root_id != org.root_id:
            raise Invalid({"org_id": ["The node is in another province than the account."]})
    if check:
        grants = current_grants() if grantor_grants is None else grantor_grants
        allowed = any(
            role in GRANTABLE_BY[gr.role] and (gr.role == Role.platform_operator or
                                                 (org is not None and gr.path and org.path.startswith(gr.path)))
            for gr in grants
        )
        if not allowed:
            raise Invalid({"role": ["You may not grant this role on this node."]})
    dup = db.session.execute(
        select(RoleGrant.id).where(RoleGrant.user_id == user.id, RoleGrant.role == role.value,
                                   RoleGrant.org_id == (org.id if org else None))
    ).first()
    if dup:
        raise Conflict({"role": ["The account already holds this role on this node."]})
    grant = RoleGrant(user_id=user.id, role=role.value, org_id=org.id if org else None,
                      root_id=org.root_id if org else None, granted_by=current_scope().user_id)
    db.session.add(grant)
    db.session.flush()
    if org is not None:
        record("grant.create", root_id=org.root_id, org_id=org.id, target_type="user", target_id=user.id,
               after={"role": role.value, "org": org.code, "user": user.username})
    return grant


def revoke_grant(grant: RoleGrant, org: OrgNode) -> None:
    before = {"role": grant.role, "org": org.code, "user_id": grant.user_id}
    db.session.delete(grant)
    db.session.flush()
    record("grant.revoke", root_id=org.root_id, org_id=org.id, target_type="user", target_id=grant.user_id,
           before=before)


def revoke_all_credentials(user: User) -> int:
    """End every session (new session epoch) and revoke every bearer token of
    the account; returns how many tokens were revoked.  The tokens are
    reached under the account's own scope (a manager cannot see them)."""
    from sqlalchemy import update

    rotate_session(user)
    with scoped(Scope(user_id=user.id, label="revoke-credentials")):
        res = db.session.execute(
            update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
    return res.rowcount or 0


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    revoke_all_credentials(user)
    if user.root_id is not None:
        record("user.password", root_id=user.root_id, org_id=user.org_id or user.root_id,
               target_type="user", target_id=user.id, after={"changed": True})


def minimal_scope_paths(grants: list[GrantInfo]) -> tuple[str, ...]:
    return minimal_paths(gr.path for gr in grants if gr.path)


def update_account(user: User, data: dict) -> None:
    """Apply a checked change (display name, e-mail, active, password) and
    audit it.  The caller has already applied the management rule
    (``kaohe.auth.manage``).  Deactivation revokes every token and session,
    so reactivating does not revive them."""
    before = {"display_name": user.display_name, "email": user.email, "active": user.active}
    if "display_name" in data:
        user.display_name = data["display_name"]
    if "email" in data:
        user.email = data["email"]
    if "active" in data:
        if user.id == current_scope().user_id and not data["active"]:
            raise Invalid({"active": ["You cannot deactivate your own account."]})
        was_active = user.active
        user.active = data["active"]
        if was_active and not user.active:
            revoke_all_credentials(user)
    if "password" in data:
        set_password(user, data["password"])
    after = {"display_name": user.display_name, "email": user.email, "active": user.active}
    if before != after and user.root_id is not None:
        record("user.update", root_id=user.root_id, org_id=user.org_id or user.root_id, target_type="user",
               target_id=user.id, before=before, after=after)
    db.session.flush()
