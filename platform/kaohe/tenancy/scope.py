"""Who may see which part of the tree, and the three layers that enforce it.

1. Scoped look-ups: ``get_in_scope`` / ``scoped_select`` raise NotFound (404)
   for anything outside the caller's scope; there is no unscoped twin.
2. A session-wide criteria filter (``do_orm_execute``) adds the scope to every
   ORM statement that touches a tenant table: the safety net for a forgotten
   filter.
3. PostgreSQL Row-Level Security, FORCEd on every tenant table; the scope is
   handed to the database per transaction as one signed setting,
   ``SET LOCAL kaohe.scope = '<payload>.<mac>'`` sent as its own statement
   (transaction-local, so pooled connections never carry it over; forwarded
   to Citus workers; unforgeable without the key, see core.scopesig).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from sqlalchemy import Engine, and_, event, false, func, or_, select, text, true
from sqlalchemy.orm import Session, with_loader_criteria
from werkzeug.exceptions import NotFound

from ..extensions import db


@dataclass(frozen=True)
class Scope:
    """The part of the tree a caller may see.

    ``paths`` are materialized paths of granted nodes (each covers its
    subtree).  ``all_roots`` is for platform operators and system jobs only."""

    root_id: int | None = None
    paths: tuple[str, ...] = ()
    all_roots: bool = False
    user_id: int | None = None
    login_name: str | None = None
    token_hash: str | None = None
    label: str = "anonymous"
    # Nodes visible by id besides the subtree (used while resolving grants).
    extra_node_ids: tuple[int, ...] = ()

    @classmethod
    def system(cls, label: str = "system") -> "Scope":
        return cls(all_roots=True, label=label)

    @classmethod
    def province(cls, root_id: int, label: str = "job") -> "Scope":
        return cls(root_id=root_id, paths=(f"/{root_id}/",), label=label)

    @classmethod
    def for_paths(cls, root_id: int, paths: Iterable[str], **kw: Any) -> "Scope":
        return cls(root_id=root_id, paths=minimal_paths(paths), **kw)

    @property
    def whole_root(self) -> bool:
        return self.root_id is not None and f"/{self.root_id}/" in self.paths

    @property
    def ancestor_ids(self) -> tuple[int, ...]:
        ids: set[int] = set()
        for p in self.paths:
            parts = [int(x) for x in p.strip("/").split("/") if x]
            ids.update(parts[:-1])
        ids.update(self.extra_node_ids)
        return tuple(sorted(ids))

    @property
    def is_empty(self) -> bool:
        return not self.all_roots and (self.root_id is None or not self.paths)

    def covers(self, root_id: int | None, path: str | None) -> bool:
        """True when a node (given by its root and path) is inside the scope."""
        if self.all_roots:
            return True
        if root_id is None or root_id != self.root_id or not path:
            return False
        return any(path.startswith(p) for p in self.paths)

    def sees_as_ancestor(self, root_id: int, node_id: int) -> bool:
        return self.all_roots or (root_id == self.root_id and node_id in self.ancestor_ids)


def minimal_paths(paths: Iterable[str]) -> tuple[str, ...]:
    """Drop paths already covered by a shorter one."""
    out: list[str] = []
    for p in sorted(set(paths), key=len):
        if not any(p.startswith(q) for q in out):
            out.append(p)
    return tuple(sorted(out))


# -- binding a scope to the session ---------------------------------------

SCOPE_KEY = "kaohe_scope"


def current_scope(session: Session | None = None) -> Scope:
    session = session or db.session()
    return session.info.get(SCOPE_KEY) or Scope()


def apply_scope(scope: Scope, session: Session | None = None) -> None:
    """Bind ``scope`` to the session; on PostgreSQL also to the running
    transaction, if one has begun."""
    session = session or db.session()
    session.info[SCOPE_KEY] = scope
    if session.in_transaction():
        _set_db_scope(session.connection(), scope)


@contextlib.contextmanager
def scoped(scope: Scope, session: Session | None = None) -> Iterator[Scope]:
    """Run a block under another scope and restore the previous one."""
    session = session or db.session()
    previous = session.info.get(SCOPE_KEY)
    apply_scope(scope, session)
    try:
        yield scope
    finally:
        apply_scope(previous or Scope(), session)


@event.listens_for(Engine, "connect")
def _note_citus(dbapi_connection, connection_record) -> None:
    """Once per new PostgreSQL connection (not per request): is this Citus?
    There the policies also run in worker backends, whose pids differ, so the
    scope cannot be bound to the coordinator's pid."""
    if not type(dbapi_connection).__module__.startswith("psycopg"):
        return
    cur = dbapi_connection.cursor()
    try:
        cur.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
        connection_record.info["kaohe_citus"] = bool(cur.fetchone()[0])
    finally:
        cur.close()
        dbapi_connection.rollback()


def _backend_pid(connection) -> int | None:
    """The backend pid to bind the scope to (psycopg knows it: no query), or
    None on Citus."""
    fairy = connection.connection
    if fairy.info.get("kaohe_citus", False):
        return None
    return fairy.dbapi_connection.info.backend_pid


def db_scope_value(scope: Scope, pid: int | None) -> str:
    from ..core import scopesig

    return scopesig.sign(scopesig.app_key(), scopesig.payload(scope, pid=pid))


def _set_db_scope(connection, scope: Scope) -> None:
    if connection.dialect.name != "postgresql":
        return
    from ..core import scopesig

    pid = _backend_pid(connection)
    connection.exec_driver_sql(scopesig.set_local_sql(db_scope_value(scope, pid)))


def primed_value(scope: Scope) -> str | None:
    """The signed ``kaohe.scope`` value of ``scope`` for the session's
    connection, for a credential statement to set in the same round trip
    (``auth.principal``).  Plain PostgreSQL only: on Citus the scope must be
    a ``SET LOCAL`` of its own to reach the workers; elsewhere there is no
    database scope."""
    connection = db.session().connection()
    if connection.dialect.name != "postgresql" or connection.connection.info.get("kaohe_citus", False):
        return None
    return db_scope_value(scope, _backend_pid(connection))


def adopt_primed_scope(scope: Scope) -> None:
    """Bind ``scope`` to the session when the running transaction already
    has it in the database (set by the credential statement with
    ``primed_value``): no second round trip."""
    db.session().info[SCOPE_KEY] = scope


_EMPTY = Scope()


@event.listens_for(Session, "after_begin")
def _scope_on_begin(session: Session, transaction, connection) -> None:
    scope = session.info.get(SCOPE_KEY) or _EMPTY
    if scope == _EMPTY:
        # A transaction starts with kaohe.scope unset: the app only ever sets
        # it transaction-locally, and the policy functions read unset and ''
        # alike, so sending the empty scope would be a round trip that changes
        # nothing.  (A value left behind by a session-level SET is refused by
        # kaohe_scope(): it was minted before this transaction began.)  (Each request begins with one: the credential look-up runs
        # before its scope is known.)  Pinned by the isolation tests
        # test_scope_does_not_leak_into_the_next_transaction and
        # test_app_session_scope_is_per_transaction.
        return
    _set_db_scope(connection, scope)



# -- the criteria filter (layer 2) ------------------------------------------

def org_subtree_ids(scope: Scope):
    """A subquery of the org ids inside the scope (not its ancestors)."""
    from .models import OrgNode

    return select(OrgNode.id).where(
        OrgNode.root_id == scope.root_id, or_(*[OrgNode.path.like(p + "%") for p in scope.paths])
    )


def org_filter(column, scope: Scope):
    if scope.whole_root:
        return true()
    if not scope.paths:
        return false()
    return column.in_(org_subtree_ids(scope))


def scope_criteria(cls, scope: Scope):
    """The filter expression for one tenant class under ``scope``."""
    kind = getattr(cls, "__tenant__", None)
    custom = getattr(cls, "__scope_criteria__", None)
    if custom is not None:
        return custom(scope)
    if scope.root_id is None:
        return false()
    if kind == "org_node":
        in_tree = true() if scope.whole_root else or_(*[cls.path.like(p + "%") for p in scope.paths] or [false()])
        ancestors = cls.id.in_(scope.ancestor_ids) if scope.ancestor_ids else false()
        return and_(cls.root_id == scope.root_id, or_(in_tree, ancestors))
    if kind == "root":
        return cls.root_id == scope.root_id
    return and_(cls.root_id == scope.root_id, org_filter(cls.org_id, scope))


def _tenant_mappers(execute_state):
    for mapper in execute_state.all_mappers:
        if getattr(mapper.class_, "__tenant__", None):
            yield mapper.class_


@event.listens_for(Session, "do_orm_execute")
def _add_scope_criteria(execute_state) -> None:
    if execute_state.execution_options.get("kaohe_unscoped"):
        return
    if not (execute_state.is_select or execute_state.is_update or execute_state.is_delete):
        return
    scope: Scope = execute_state.session.info.get(SCOPE_KEY) or Scope()
    if scope.all_roots:
        return
    classes = list(_tenant_mappers(execute_state))
    if not classes:
        return
    options = [
        with_loader_criteria(cls, scope_criteria(cls, scope), include_aliases=True) for cls in classes
    ]
    execute_state.statement = execute_state.statement.options(*options)


# -- scoped look-ups (layer 1) ---------------------------------------------

def get_in_scope(model, ident: Any, *, for_update: bool = False, strict_subtree: bool = True,
                 with_org: bool = False):
    """The only way to load a tenant row by id: 404 when it is missing or
    outside the caller's scope (never 403, so existence does not leak).
    ``with_org``: the row's org node is loaded in the same statement (into
    the identity map; the same scoped criteria apply to it; joined on
    root_id too, so on Citus the join stays on one shard)."""
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        raise NotFound()
    stmt = select(model).where(model.id == ident)
    if with_org:
        from .models import OrgNode

        stmt = stmt.add_columns(OrgNode).outerjoin(
            OrgNode, and_(OrgNode.root_id == model.root_id, OrgNode.id == model.org_id))
    if for_update:
        stmt = stmt.with_for_update(of=model)
    row = db.session.execute(stmt).first()     # (not .scalars(): that would skip loading the org node)
    obj = row[0] if row is not None else None
    if obj is None or not in_scope(obj, strict_subtree=strict_subtree):
        raise NotFound()
    return obj


def in_scope(obj: Any, *, strict_subtree: bool = True) -> bool:
    """Python-side check of a loaded object (belt and braces for objects that
    came from the identity map)."""
    scope = current_scope()
    if scope.all_roots:
        return True
    kind = getattr(type(obj), "__tenant__", None)
    if kind is None:
        return True
    checker = getattr(obj, "__in_scope__", None)
    if checker is not None:
        return checker(scope)
    if kind == "org_node":
        return scope.covers(obj.root_id, obj.path) or (not strict_subtree and scope.sees_as_ancestor(obj.root_id, obj.id))
    if obj.root_id != scope.root_id:
        return False
    if kind == "root" or scope.whole_root:
        return True
    from .models import OrgNode

    # The org node itself (not only its path): it lands in the identity map,
    # so the permission check that usually follows (require(perm, org))
    # costs no second statement.  Loaded under the same criteria and RLS.
    # The identity map holds objects weakly: pin the node for the session
    # (one per org, so bounded by the tree).
    node = db.session.get(OrgNode, obj.org_id)
    if node is not None:
        db.session.info.setdefault("kaohe_scope_nodes", {})[node.id] = node
    return node is not None and scope.covers(obj.root_id, node.path)


def org_by_code(code: str, *, strict_subtree: bool = True):
    """Resolve an org code inside the caller's scope (404 outside it)."""
    from .models import OrgNode

    scope = current_scope()
    stmt = select(OrgNode).where(OrgNode.code == str(code))
    if not scope.all_roots:
        stmt = stmt.where(OrgNode.root_id == scope.root_id)
    rows = db.session.execute(stmt).scalars().all()
    rows = [r for r in rows if in_scope(r, strict_subtree=strict_subtree)]
    if len(rows) != 1:
        raise NotFound()
    return rows[0]


def lower(col):
    return func.lower(col)
