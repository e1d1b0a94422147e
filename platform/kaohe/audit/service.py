"""Writing and verifying the audit chains.  ``record`` flushes, never commits:
the entry lands in the same transaction as the change it describes.

One chain per (province, lane); the lane is the entry's org (0 for the
province root).  What ``verify`` can detect, lane by lane, is what one chain
per province detected: a changed row (its hash), a rehashed row (the next
link), removed rows in the middle (a seq gap), removed rows at the end (the
head is ahead of the chain), a head without entries, entries without a head,
an entry moved to another lane (both lanes' links break, and a lane holds
only its own org's entries).  A lane removed as a whole (entries and head)
is caught by the ``audit.lane.open`` record its first entry left in the
province lane.  What it cannot detect, as before: the owner (who can switch
the append-only trigger off) deleting a lane's *latest* entries and rewinding
its head to the new last entry, or rewriting a whole suffix with fresh
hashes -- the chain is self-consistent again.  With one chain only the
province's most recent entries were exposed that way; with lanes the most
recent entries of every lane are (a quiet unit's last entries may be old).
Only copies of the heads kept outside the database pin those: ``kaohe audit
checkpoint`` writes them, signed, to a file, and ``verify --checkpoint``
checks every lane still reaches each checkpointed (seq, hash).

Every entry also carries ``mac``, HMAC-SHA256 of its hash under the audit key
(``KAOHE_AUDIT_KEY``, by default derived from the secret key; it is not in the
database), so an entry inserted or rewritten with SQL alone -- even with a
correct plain hash -- does not verify."""
from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import bindparam, insert, select, update

from ..core.db import upsert_insert, utcnow
from ..extensions import db
from .models import AuditEntry, AuditHead

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    id: int | None
    name: str


_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("kaohe_actor", default=None)


def set_actor(actor: Actor | None):
    return _actor.set(actor)


def reset_actor(token) -> None:
    _actor.reset(token)


def _principal() -> Actor | None:
    """The authenticated caller of the running request, if there is one."""
    try:
        from flask import has_request_context
        from flask_login import current_user

        if has_request_context() and current_user and current_user.is_authenticated:
            return Actor(current_user.id, current_user.username)
    except Exception:  # noqa: BLE001  (no login manager in this app)
        pass
    return None


def current_actor() -> Actor:
    """Inside an authenticated request: always its principal (no caller
    can put another name on an entry).  Elsewhere (jobs, CLI): the actor the
    job or command set, else "system"."""
    principal = _principal()
    if principal is not None:
        return principal
    actor = _actor.get()
    if actor is not None:
        return actor
    return Actor(None, "system")


def canonical(value: Any) -> Any:
    """JSON-normalised copy: what the database will give back."""
    if value is None:
        return None
    return json.loads(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))


def _ts(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def entry_hash(e: AuditEntry | dict) -> str:
    get = (lambda k: e[k]) if isinstance(e, dict) else (lambda k: getattr(e, k))
    payload = {
        "root_id": get("root_id"), "org_id": get("org_id"), "seq": get("seq"),
        "created_at": _ts(get("created_at")), "actor_id": get("actor_id"), "actor_name": get("actor_name"),
        "action": get("action"), "target_type": get("target_type"), "target_id": get("target_id"),
        "before": get("before"), "after": get("after"), "reason": get("reason"), "prev_hash": get("prev_hash"),
    }
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


LANE_OPEN = "audit.lane.open"


def audit_key(config: dict | None = None) -> bytes:
    if config is None:
        from flask import current_app

        config = current_app.config
    explicit = config.get("KAOHE_AUDIT_KEY")
    if explicit:
        return hashlib.sha256(b"kaohe-audit-key:" + str(explicit).encode()).digest()
    return hmac.new(str(config.get("SECRET_KEY") or "").encode(), b"kaohe-audit-key-v1", hashlib.sha256).digest()


def entry_mac(key: bytes, entry_hash_hex: str) -> str:
    return hmac.new(key, b"entry:" + entry_hash_hex.encode(), hashlib.sha256).hexdigest()


def lane_of(root_id: int, org_id: int) -> int:
    """The chain an entry of ``org_id`` goes to: 0 for the province itself."""
    return 0 if org_id == root_id else org_id


@dataclass
class _Head:
    """A lane's head as read under its row lock (plain data, not an ORM
    object: the append moves it with Core statements)."""
    root_id: int
    lane: int
    seq: int
    hash: str


_STMTS: dict[str, Any] = {}
_ENTRY_COLUMNS: tuple[str, ...] = ()


def _stmt(name: str):
    """The append's statements, built once with bound parameters (building
    them per entry cost more than running them): ``head`` (SELECT .. FOR
    UPDATE), ``open_<dialect>`` (create a head), ``entry`` and ``move`` (insert the
    entry, move the head), and on PostgreSQL ``append`` (both in one
    data-modifying WITH)."""
    global _ENTRY_COLUMNS
    if not _STMTS:
        log, heads = AuditEntry.__table__, AuditHead.__table__
        _ENTRY_COLUMNS = tuple(c.key for c in log.columns if c.key != "id")
        this_head = (heads.c.root_id == bindparam("head_root"), heads.c.lane == bindparam("head_lane"))
        entry = insert(log).values({k: bindparam("e_" + k, type_=log.c[k].type) for k in _ENTRY_COLUMNS})
        move = update(heads).where(*this_head).values(seq=bindparam("head_seq"), hash=bindparam("head_hash"))
        _STMTS.update(
            head=select(heads.c.seq, heads.c.hash).where(*this_head).with_for_update(),
            entry=entry, move=move, append=move.add_cte(entry.cte("appended")),
            **{f"open_{name}": upsert_insert(name, heads).values(
                root_id=bindparam("head_root"), lane=bindparam("head_lane"), seq=0, hash=GENESIS)
                .on_conflict_do_nothing(index_elements=["root_id", "lane"]) for name in ("postgresql", "sqlite")})
    return _STMTS[name]


def _read_head(conn, root_id: int, lane: int) -> _Head | None:
    row = conn.execute(_stmt("head"), {"head_root": root_id, "head_lane": lane}).first()
    return None if row is None else _Head(root_id, lane, row[0], row[1])


def _check_province(root_id: int) -> None:
    """Layer 2 for the head, explicitly (its statements are Core): an entry
    goes only to the caller's own province.  RLS checks it again."""
    from ..tenancy.scope import current_scope

    scope = current_scope()
    if not scope.all_roots and scope.root_id != root_id:
        raise PermissionError(f"audit entry for province {root_id} outside the caller's scope")


def _lock_head(root_id: int, lane: int, actor: Actor) -> _Head:
    """The lane's head, locked until the transaction ends.  A lane's first
    entry opens it: under the province lane's lock (which serialises
    openings, and is always taken before the new lane's head exists, so two
    openers cannot deadlock on each other), the province lane records
    ``audit.lane.open`` -- the checkpoint that makes a lane removed as a
    whole detectable -- and the head is created."""
    _check_province(root_id)
    conn = db.session.connection()
    head = _read_head(conn, root_id, lane)
    if head is not None:
        return head
    if lane != 0:
        province = _lock_head(root_id, 0, actor)
        head = _read_head(conn, root_id, lane)
        if head is not None:  # opened by a writer that committed while we waited
            return head
        # Owned by the lane's org (not the root): the writer's scope covers it.
        _append(province, action=LANE_OPEN, org_id=lane, target_type="audit_lane", target_id=str(lane),
                before=None, after={"lane": lane}, reason=None, actor=actor)
    # ON CONFLICT DO NOTHING: another writer may have created it first
    opener = "open_postgresql" if conn.dialect.name == "postgresql" else "open_sqlite"
    conn.execute(_stmt(opener), {"head_root": root_id, "head_lane": lane})
    head = _read_head(conn, root_id, lane)
    if head is None:
        raise RuntimeError(f"audit lane {lane} of province {root_id} could not be opened")
    return head


def _append(head: _Head, *, action: str, org_id: int, target_type: str, target_id: str | None,
            before: Any, after: Any, reason: str | None, actor: Actor) -> AuditEntry:
    """Append after the caller's pending changes (flushed first).  On
    PostgreSQL the entry and the moved head are one statement (a
    data-modifying WITH; both name root_id, so on Citus they stay on the
    province's shard); elsewhere two.  Core on the tables: no ORM entity for
    the scope criteria to filter (``_check_province`` did), RLS checks both
    rows.  Returns the entry as written (not attached to the session)."""
    entry = AuditEntry(
        root_id=head.root_id, lane=head.lane, org_id=org_id, seq=head.seq + 1,
        created_at=utcnow(),
        actor_id=actor.id, actor_name=actor.name, action=action, target_type=target_type,
        target_id=target_id, before=before, after=after, reason=reason, prev_hash=head.hash,
    )
    entry.hash = entry_hash(entry)
    entry.mac = entry_mac(audit_key(), entry.hash)
    db.session.flush()
    conn = db.session.connection()
    append = _stmt("append" if conn.dialect.name == "postgresql" else "entry")   # (builds _ENTRY_COLUMNS)
    params = {"e_" + k: getattr(entry, k) for k in _ENTRY_COLUMNS}
    params.update(head_root=head.root_id, head_lane=head.lane, head_seq=entry.seq, head_hash=entry.hash)
    conn.execute(append, params)
    if conn.dialect.name != "postgresql":
        conn.execute(_stmt("move"), params)
    head.seq, head.hash = entry.seq, entry.hash
    return entry


def record(action: str, *, root_id: int, org_id: int, target_type: str, target_id: Any = None,
           before: Any = None, after: Any = None, reason: str | None = None,
           actor: Actor | None = None) -> AuditEntry:
    """Append one entry to its lane's chain (flush, no commit).  The lane is
    ``org_id`` (0 when that is the province root); only writers of the same
    lane wait for each other."""
    # An authenticated request's entries name its principal, whatever was passed.
    actor = _principal() or actor or current_actor()
    head = _lock_head(root_id, lane_of(root_id, org_id), actor)
    return _append(head, action=action, org_id=org_id, target_type=target_type,
                   target_id=None if target_id is None else str(target_id),
                   before=canonical(before), after=canonical(after), reason=reason, actor=actor)


def diff(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys that changed, for compact before/after records."""
    keys = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    return {k: before.get(k) for k in sorted(keys)}, {k: after.get(k) for k in sorted(keys)}


@dataclass
class ChainReport:
    root_id: int
    entries: int
    problems: list[str]
    lanes: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


class _Labels:
    """'province' for lane 0, 'lane <id> (org code <code>)' otherwise; codes
    are looked up only for lanes that have a problem."""

    def __init__(self, root_id: int):
        self.root_id = root_id
        self.cache: dict[int, str] = {}

    def __call__(self, lane: int) -> str:
        if lane == 0:
            return "province"
        if lane not in self.cache:
            from ..tenancy.models import OrgNode

            code = db.session.execute(select(OrgNode.code).where(OrgNode.root_id == self.root_id,
                                                                 OrgNode.id == lane)).scalar_one_or_none()
            self.cache[lane] = f"lane {lane} (org code {code if code is not None else '?'})"
        return self.cache[lane]


def _province_ids() -> list[int]:
    from ..tenancy.models import OrgNode

    heads = set(db.session.execute(select(AuditHead.root_id).distinct()).scalars())
    roots = set(db.session.execute(select(OrgNode.id).where(OrgNode.parent_id.is_(None))).scalars())
    return sorted(heads | roots)


def verify_province(root_id: int, batch: int = 5000) -> ChainReport:
    """Recompute every lane of one province.  One pass over its entries in
    (lane, seq) order, in batches (memory constant in the entries; the heads
    and the set of opened lanes are held, one small item per lane)."""
    label = _Labels(root_id)
    key = audit_key()
    problems: list[str] = []
    heads = {lane: (seq, h) for lane, seq, h in db.session.execute(
        select(AuditHead.lane, AuditHead.seq, AuditHead.hash).where(AuditHead.root_id == root_id))}
    opened: dict[int, int] = {}     # lane -> the province seq that opened it
    seen: set[int] = set()
    count = 0
    lane = prev = expected_seq = last_seq = None

    def close_lane() -> None:
        if lane is None:
            return
        head = heads.get(lane)
        if head is None:
            problems.append(f"{label(lane)}: chain ends at seq {last_seq} but the lane has no head (head removed)")
        elif head != (last_seq, prev):
            problems.append(f"{label(lane)}: chain ends at seq {last_seq} but head says {head[0]} "
                            f"(entries removed at the end)")

    stmt = (select(AuditEntry).where(AuditEntry.root_id == root_id)
            .order_by(AuditEntry.lane, AuditEntry.seq).execution_options(yield_per=batch))
    for e in db.session.execute(stmt).scalars():
        count += 1
        if e.lane != lane:
            close_lane()
            lane, prev, expected_seq, last_seq = e.lane, GENESIS, 1, 0
            seen.add(lane)
            if lane != 0 and lane not in opened:
                problems.append(f"{label(lane)}: no opening record in the province lane (removed or altered)")
        if e.seq != expected_seq:
            # One problem, one line: the link after a gap breaks by itself.
            problems.append(f"{label(lane)}: seq {expected_seq}..{e.seq - 1} missing (entries removed)")
        elif e.prev_hash != prev:
            problems.append(f"{label(lane)}: seq {e.seq}: link to previous entry broken")
        if entry_hash(e) != e.hash:
            problems.append(f"{label(lane)}: seq {e.seq}: content does not match its hash (entry {e.id} altered)")
        elif e.mac is None or not hmac.compare_digest(e.mac, entry_mac(key, e.hash)):
            problems.append(f"{label(lane)}: seq {e.seq}: entry {e.id} has no valid MAC (forged: written "
                            "without the audit key)")
        if lane != 0 and e.org_id != lane:
            problems.append(f"{label(lane)}: seq {e.seq}: entry {e.id} of org {e.org_id} is in the wrong lane "
                            "(moved)")
        if lane == 0 and e.action == LANE_OPEN and e.target_type == "audit_lane":
            try:
                opened[int(e.target_id)] = e.seq
            except (TypeError, ValueError):
                problems.append(f"province: seq {e.seq}: lane opening names no lane (entry {e.id} altered)")
        prev, expected_seq, last_seq = e.hash, e.seq + 1, e.seq
    close_lane()
    for gone in sorted(set(heads) - seen):
        if heads[gone][0] > 0:
            problems.append(f"{label(gone)}: head says seq {heads[gone][0]} but the lane has no entries "
                            f"(entries removed)")
    for gone in sorted(set(opened) - seen - set(heads)):
        problems.append(f"{label(gone)}: opened at province seq {opened[gone]} but has neither entries "
                        f"nor a head (lane removed)")
    db.session.expunge_all()
    return ChainReport(root_id, count, problems, lanes=len(seen | set(heads)))


def verify(root_ids: Iterable[int] | None = None, batch: int = 5000) -> list[ChainReport]:
    """Recompute every lane of every province (or of ``root_ids``): one
    ChainReport per province, ``entries`` counting all its lanes."""
    if root_ids is None:
        root_ids = _province_ids()
    return [verify_province(root_id, batch) for root_id in root_ids]


# -- checkpoints: the heads, signed, kept outside the database ----------------------

def checkpoint() -> dict:
    """Every lane's head (one statement), signed with the audit key."""
    rows = db.session.execute(select(AuditHead.root_id, AuditHead.lane, AuditHead.seq, AuditHead.hash)
                              .order_by(AuditHead.root_id, AuditHead.lane)).all()
    lanes = [{"root_id": r, "lane": la, "seq": s, "hash": h} for r, la, s, h in rows]
    body = {"version": 1, "created_at": _ts(utcnow()), "lanes": lanes}
    return {**body, "mac": _checkpoint_mac(body)}


def _checkpoint_mac(body: dict) -> str:
    data = json.dumps({k: body[k] for k in ("version", "created_at", "lanes")}, sort_keys=True,
                      separators=(",", ":"))
    return hmac.new(audit_key(), b"checkpoint:" + data.encode(), hashlib.sha256).hexdigest()


def verify_checkpoint(doc: dict, root_ids: Iterable[int] | None = None) -> list[str]:
    """Problems between a checkpoint and the live log: a lane gone, a head
    behind the checkpoint (tail truncated, head rewound), or the entry at the
    checkpointed seq no longer carrying the checkpointed hash (suffix
    rewritten).  Two statements, whatever the number of lanes."""
    if not isinstance(doc, dict) or not hmac.compare_digest(str(doc.get("mac", "")), _checkpoint_mac(doc)):
        return ["checkpoint: signature does not verify (altered, or another audit key)"]
    wanted = set(root_ids) if root_ids is not None else None
    lanes = [c for c in doc["lanes"] if wanted is None or c["root_id"] in wanted]
    if not lanes:
        return []
    roots = sorted({c["root_id"] for c in lanes})
    heads = {(r, la): (s, h) for r, la, s, h in db.session.execute(
        select(AuditHead.root_id, AuditHead.lane, AuditHead.seq, AuditHead.hash)
        .where(AuditHead.root_id.in_(roots)))}
    from sqlalchemy import tuple_

    keys = [(c["root_id"], c["lane"], c["seq"]) for c in lanes if c["seq"] > 0]
    at = {}
    for i in range(0, len(keys), 2000):
        at.update({(r, la, s): h for r, la, s, h in db.session.execute(
            select(AuditEntry.root_id, AuditEntry.lane, AuditEntry.seq, AuditEntry.hash)
            .where(tuple_(AuditEntry.root_id, AuditEntry.lane, AuditEntry.seq).in_(keys[i:i + 2000])))})
    problems = []
    for c in lanes:
        where = f"province {c['root_id']} lane {c['lane']}"
        head = heads.get((c["root_id"], c["lane"]))
        if head is None:
            problems.append(f"{where}: in the checkpoint at seq {c['seq']} but has no head now (lane deleted)")
        elif head[0] < c["seq"]:
            problems.append(f"{where}: head at seq {head[0]}, the checkpoint has seq {c['seq']} "
                            "(tail truncated, head rewound)")
        elif c["seq"] > 0 and at.get((c["root_id"], c["lane"], c["seq"])) != c["hash"]:
            problems.append(f"{where}: seq {c['seq']} is missing or no longer has the checkpointed hash "
                            "(entries removed or rewritten)")
    return problems


# -- reconcile: live values against the last audited after-state -------------------

RECONCILERS: list = []


def register_reconciler(fn):
    """A slice's check of its live values against the audited after-states:
    ``fn(root_ids) -> [problem lines]`` (the routine slice registers ratings).
    Slices sit above the audit log, so they plug in here."""
    RECONCILERS.append(fn)
    return fn


def reconcile(root_ids: Iterable[int] | None = None) -> list[str]:
    """Rows whose live value differs from the after-state of their last audit
    entry (changed behind the log's back), from every registered slice."""
    ids = list(root_ids) if root_ids is not None else None
    out: list[str] = []
    for fn in RECONCILERS:
        out.extend(fn(ids))
    return out
