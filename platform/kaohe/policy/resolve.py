"""Resolving the effective policy of a node for an assessment year.

Pure part (``merge_rows``, ``resolve_key``, ``resolve_all``): given the
layers of one key along the path (province first, the node last) it returns
the effective value and its provenance:

1. The topmost lock on the path wins: the value is the locker's own value,
   else the nearest value above it, else the national default.
2. Otherwise the node's own value, else the nearest ancestor's, else the
   default.
3. Bounds set by a node constrain the nodes below it (not the node itself);
   the tightest of all applicable bounds applies.  A value that an upstream
   change pushed outside the bounds is clamped (numbers, each entry of a
   table) or replaced by the first allowed choice, and the provenance says so.
4. ``province_only`` keys only read the province layer.
5. ``additive`` keys accumulate items from the province down (each level adds
   items and may drop inherited ones that are not mandatory); a lock freezes
   the list at the locker.

Within one node a year-specific row wins field by field over the all-years
row (year 0); locks combine with OR and bounds with the tightest.

DB part (``effective_policy``): one query for the province's policy token,
and on a cache miss one query for every setting row on the path; the result
is cached by (root, path, year, token).  The token changes on every policy
write (``bump_version``), so a cache entry is never stale.
"""
from __future__ import annotations

import copy
import datetime as dt
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Iterator, Sequence

from . import registry as reg
from ..core.clock import local_today

UNSET = None  # layers carry has_value explicitly


@dataclass(frozen=True)
class Bounds:
    min: float | None = None
    max: float | None = None
    allowed: tuple | None = None

    @property
    def empty(self) -> bool:
        return self.min is None and self.max is None and self.allowed is None


@dataclass(frozen=True)
class Layer:
    """What one node on the path says about one key (rows already merged)."""

    node_id: int
    has_value: bool = False
    value: Any = None
    value_year: int = 0
    locked: bool = False
    lock_year: int = 0
    bounds: Bounds | None = None
    bounds_year: int = 0


def _tighter(a: Bounds | None, b: Bounds | None) -> Bounds | None:
    if a is None or a.empty:
        return b
    if b is None or b.empty:
        return a
    mins = [x for x in (a.min, b.min) if x is not None]
    maxs = [x for x in (a.max, b.max) if x is not None]
    if a.allowed is not None and b.allowed is not None:
        allowed = tuple(x for x in a.allowed if x in b.allowed)
    else:
        allowed = a.allowed if a.allowed is not None else b.allowed
    return Bounds(max(mins) if mins else None, min(maxs) if maxs else None, allowed)


def merge_rows(node_id: int, rows: Sequence[Any]) -> Layer:
    """Merge the all-years row and the year-specific row of one node and key.
    ``rows`` have has_value, value, locked, min_value, max_value, allowed, year."""
    rows = sorted(rows, key=lambda r: r.year)   # all-years (0) first, the year row last
    has_value, value, value_year = False, None, 0
    locked, lock_year = False, 0
    bounds, bounds_year = None, 0
    for r in rows:
        if r.has_value:
            has_value, value, value_year = True, r.value, r.year
        if r.locked:
            if not locked:
                lock_year = r.year
            locked = True
        b = Bounds(r.min_value, r.max_value, tuple(r.allowed) if r.allowed is not None else None)
        if not b.empty:
            bounds = _tighter(bounds, b)
            bounds_year = r.year if bounds_year == 0 else bounds_year
    return Layer(node_id, has_value, value, value_year, locked, lock_year, bounds, bounds_year)


@dataclass
class Provenance:
    source: int | None = None          # node whose value applies (None: national default)
    source_year: int | None = None     # 0 = all years, else the year of a year-specific value
    inherited: bool = False            # the value comes from above the node (or the default)
    locked_by: int | None = None       # topmost node on the path that locked the key
    bounds: dict | None = None         # bounds on this node's own value, with who set each side
    child_bounds: dict | None = None   # bounds this node's children must respect
    adjusted: str | None = None        # "clamped" / "replaced" when an upstream change broke a bound
    contributors: list[int] = field(default_factory=list)   # additive: nodes that added items

    def as_dict(self) -> dict:
        return {"source": self.source, "source_year": self.source_year, "inherited": self.inherited,
                "locked_by": self.locked_by, "bounds": self.bounds, "child_bounds": self.child_bounds,
                "adjusted": self.adjusted, "contributors": list(self.contributors)}


def _collect_bounds(layers: Sequence[Layer]) -> dict | None:
    """The tightest bounds of ``layers`` with the node that set each side."""
    out: dict[str, Any] = {}
    for lay in layers:
        b = lay.bounds
        if b is None or b.empty:
            continue
        if b.min is not None and ("min" not in out or b.min > out["min"]):
            out["min"], out["min_by"] = b.min, lay.node_id
        if b.max is not None and ("max" not in out or b.max < out["max"]):
            out["max"], out["max_by"] = b.max, lay.node_id
        if b.allowed is not None:
            if "allowed" not in out:
                out["allowed"], out["allowed_by"] = list(b.allowed), lay.node_id
            else:
                narrowed = [x for x in out["allowed"] if x in b.allowed]
                if narrowed != out["allowed"]:
                    out["allowed"], out["allowed_by"] = narrowed, lay.node_id
    return out or None


def _num_ok(x: float, bounds: dict) -> bool:
    if "min" in bounds and Decimal(str(x)) < Decimal(str(bounds["min"])):
        return False
    if "max" in bounds and Decimal(str(x)) > Decimal(str(bounds["max"])):
        return False
    return True


def _clamp(x: float, bounds: dict) -> float:
    if "min" in bounds and Decimal(str(x)) < Decimal(str(bounds["min"])):
        return bounds["min"]
    if "max" in bounds and Decimal(str(x)) > Decimal(str(bounds["max"])):
        return bounds["max"]
    return x


def bound_violation(setting: reg.Setting, value: Any, bounds: dict | None) -> str | None:
    """Which bound ``value`` breaks (a message naming the side), or None."""
    if not bounds or setting.kind != reg.BOUNDED:
        return None
    if setting.bound == reg.BOUND_CHOICE:
        if "allowed" in bounds and value not in bounds["allowed"]:
            return "allowed"
        return None
    numbers = [value] if setting.bound == reg.BOUND_NUMBER else list((value or {}).values())
    for x in numbers:
        if "min" in bounds and Decimal(str(x)) < Decimal(str(bounds["min"])):
            return "min"
        if "max" in bounds and Decimal(str(x)) > Decimal(str(bounds["max"])):
            return "max"
    return None


def _fit(setting: reg.Setting, value: Any, bounds: dict | None) -> tuple[Any, str | None]:
    if bound_violation(setting, value, bounds) is None:
        return value, None
    if setting.bound == reg.BOUND_CHOICE:
        allowed = bounds.get("allowed") or []
        for choice in setting.choices:
            if choice in allowed:
                return choice, "replaced"
        return value, None   # empty allowed list: nothing sensible to pick
    if setting.bound == reg.BOUND_NUMBER:
        return _clamp(value, bounds), "clamped"
    return {k: _clamp(v, bounds) for k, v in value.items()}, "clamped"


def resolve_key(setting: reg.Setting, layers: Sequence[Layer]) -> tuple[Any, Provenance]:
    """The effective value of one key at the last layer's node."""
    node_id = layers[-1].node_id if layers else None
    default = setting.default   # never mutated here; EffectivePolicy hands out copies
    if setting.kind == reg.PROVINCE_ONLY:
        layers = layers[:1]
    lock_at = next((i for i, lay in enumerate(layers) if lay.locked), None)
    upto = layers if lock_at is None else layers[:lock_at + 1]
    prov = Provenance(locked_by=layers[lock_at].node_id if lock_at is not None else None)

    if setting.kind == reg.ADDITIVE:
        return _resolve_additive(setting, upto, node_id, prov)

    src = next((i for i in range(len(upto) - 1, -1, -1) if upto[i].has_value), None)
    if src is None:
        value = default
        prov.source, prov.source_year, prov.inherited = None, None, True
    else:
        value = upto[src].value
        prov.source, prov.source_year = upto[src].node_id, upto[src].value_year
        prov.inherited = upto[src].node_id != node_id
    if setting.kind == reg.BOUNDED:
        n = len(layers) - 1
        limit = lock_at if lock_at is not None else n
        own = _collect_bounds(layers[:limit])
        prov.bounds = own
        # Bounds this node hands to its children (none below a lock: nothing may change there).
        if lock_at is None or lock_at == n:
            prov.child_bounds = _collect_bounds(layers[:n + 1]) if lock_at is None else own
        value, prov.adjusted = _fit(setting, value, own)
    return value, prov


def _resolve_additive(setting, upto: Sequence[Layer], node_id, prov: Provenance):
    base = setting.default or {"add": [], "remove": []}
    items: list[dict] = [dict(i, source=None) for i in base.get("add", [])]
    contributors = []
    for lay in upto:
        if not lay.has_value:
            continue
        data = lay.value or {}
        drop = set(data.get("remove") or [])
        if drop:
            items = [i for i in items if i["code"] not in drop or i.get("mandatory")]
        codes = {i["code"] for i in items}
        added = False
        for item in data.get("add") or []:
            if item["code"] in codes:
                continue
            items.append(dict(item, source=lay.node_id))
            codes.add(item["code"])
            added = True
        if added or drop:
            contributors.append(lay.node_id)
    prov.contributors = contributors
    prov.source = contributors[-1] if contributors else None
    prov.inherited = not contributors or contributors[-1] != node_id
    return items, prov


# The provenance of a key with nothing stored on the path.  One shared
# instance: provenances are never changed once resolved (callers get
# ``as_dict()`` copies), and building one per key and node was most of the
# time of resolving thousands of units at once.
_DEFAULT_PROVENANCE = Provenance(inherited=True)


def resolve_all(layers_by_key: Mapping[str, Sequence[Layer]], path_ids: Sequence[int]):
    """Every registered key at the node ``path_ids[-1]``.  ``layers_by_key``
    holds only the nodes that have rows; missing nodes are empty layers."""
    values: dict[str, Any] = {}
    provs: dict[str, Provenance] = {}
    default_prov = _DEFAULT_PROVENANCE
    additive = reg.ADDITIVE
    for key, setting in reg.REGISTRY.items():
        if setting.kind != additive and not layers_by_key.get(key):
            # Nothing stored on the path: the national default.
            values[key] = setting.default
            provs[key] = default_prov
            continue
        given = {lay.node_id: lay for lay in layers_by_key.get(key, ())}
        layers = [given.get(nid) or Layer(nid) for nid in path_ids]
        values[key], provs[key] = resolve_key(setting, layers)
    return values, provs


# -- the effective policy object -------------------------------------------

class EffectivePolicy(Mapping):
    """Read-only mapping key → value with provenance.  Values handed out are
    copies, so callers cannot change the cached policy."""

    __slots__ = ("node_id", "root_id", "path_ids", "year", "token", "_values", "_prov")

    def __init__(self, node_id, root_id, path_ids, year, token, values, prov):
        self.node_id = node_id
        self.root_id = root_id
        self.path_ids = tuple(path_ids)
        self.year = year
        self.token = token
        self._values = values
        self._prov = prov

    def __getitem__(self, key: str) -> Any:
        if key not in self._values:
            raise KeyError(key)
        v = self._values[key]
        return copy.deepcopy(v) if isinstance(v, (dict, list)) else v

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def provenance(self, key: str) -> dict:
        if key not in self._prov:
            raise KeyError(key)
        return self._prov[key].as_dict()

    def locked_above(self, key: str) -> int | None:
        """The node that locked ``key`` above this node (None if editable here)."""
        locker = self._prov[key].locked_by
        return locker if locker is not None and locker != self.node_id else None

    def snapshot(self) -> dict:
        """A plain JSON-able {key: value} to freeze into a period or annual run."""
        return copy.deepcopy(self._values)

    def as_dict(self) -> dict:
        return {"node_id": self.node_id, "year": self.year,
                "settings": {k: {"value": self[k], "provenance": self.provenance(k)} for k in self._values}}


# -- cache and database access ---------------------------------------------

_CACHE_MAX = 4096
_cache: "OrderedDict[tuple, EffectivePolicy]" = OrderedDict()
_cache_lock = threading.Lock()
TOKEN_INFO = "kaohe_policy_tokens"
DIRTY_INFO = "kaohe_policy_dirty"


def cache_clear() -> None:
    with _cache_lock:
        _cache.clear()


def _cache_get(key):
    with _cache_lock:
        pol = _cache.get(key)
        if pol is not None:
            _cache.move_to_end(key)
        return pol


def _cache_put(key, pol) -> None:
    with _cache_lock:
        _cache[key] = pol
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_MAX:
            _cache.popitem(last=False)


def _drop_root(root_id: int) -> None:
    with _cache_lock:
        for k in [k for k in _cache if k[0] == root_id]:
            del _cache[k]


def policy_token(root_id: int, session=None) -> int:
    """The province's policy token, read once per transaction."""
    from sqlalchemy import select

    from ..extensions import db
    from .models import PolicyVersion

    session = session or db.session()
    tokens = session.info.setdefault(TOKEN_INFO, {})
    if root_id not in tokens:
        tok = session.execute(select(PolicyVersion.token).where(PolicyVersion.root_id == root_id)).scalar()
        tokens[root_id] = int(tok or 0)
    return tokens[root_id]


def bump_version(root_id: int, session=None) -> int:
    """Called by every policy write: a fresh random token (never reused, so a
    rolled-back transaction's cache entries can never match later)."""
    from sqlalchemy import insert, update

    from ..extensions import db
    from .models import PolicyVersion

    session = session or db.session()
    token = secrets.randbits(62) or 1
    res = session.execute(update(PolicyVersion).where(PolicyVersion.root_id == root_id)
                          .values(token=token, changed_at=dt.datetime.now(dt.timezone.utc)))
    if not res.rowcount:
        session.execute(insert(PolicyVersion).values(root_id=root_id, token=token,
                                                     changed_at=dt.datetime.now(dt.timezone.utc)))
    session.info.setdefault(TOKEN_INFO, {})[root_id] = token
    session.info.setdefault(DIRTY_INFO, set()).add(root_id)
    _drop_root(root_id)
    return token


def _load_layers(root_id: int, node_ids: Iterable[int], year: int, session) -> dict[int, dict[str, Layer]]:
    """One query: every setting row of ``node_ids`` for ``year`` (and all years)."""
    from sqlalchemy import select

    from .models import ALL_YEARS, PolicySetting

    ids = sorted(set(node_ids))
    rows = session.execute(
        select(PolicySetting.org_id, PolicySetting.key, PolicySetting.year, PolicySetting.has_value,
               PolicySetting.value, PolicySetting.locked, PolicySetting.min_value, PolicySetting.max_value,
               PolicySetting.allowed)
        .where(PolicySetting.root_id == root_id, PolicySetting.org_id.in_(ids),
               PolicySetting.year.in_((ALL_YEARS, year)))
    ).all()
    grouped: dict[tuple[int, str], list] = {}
    for r in rows:
        if r.key in reg.REGISTRY:
            grouped.setdefault((r.org_id, r.key), []).append(r)
    out: dict[int, dict[str, Layer]] = {}
    for (org_id, key), rs in grouped.items():
        out.setdefault(org_id, {})[key] = merge_rows(org_id, rs)
    return out


def _default_year() -> int:
    return local_today().year


def _build(root_id, path_ids, year, token, by_node) -> EffectivePolicy:
    layers_by_key: dict[str, list[Layer]] = {}
    for nid in path_ids:
        for key, lay in by_node.get(nid, {}).items():
            layers_by_key.setdefault(key, []).append(lay)
    values, provs = resolve_all(layers_by_key, path_ids)
    return EffectivePolicy(path_ids[-1], root_id, path_ids, year, token, values, provs)


def effective_policy(org_node, year: int | None = None) -> EffectivePolicy:
    """The effective policy of ``org_node`` for assessment ``year``."""
    return effective_policies([org_node], year)[org_node.id]


def effective_policies(nodes: Sequence[Any], year: int | None = None) -> dict[int, EffectivePolicy]:
    """Effective policies of many nodes of one province: one token query and,
    for the cache misses, one settings query for the union of their paths."""
    from ..extensions import db

    year = int(year) if year is not None else _default_year()
    session = db.session()
    out: dict[int, EffectivePolicy] = {}
    missing = []
    by_root: dict[int, int] = {}
    for node in nodes:
        if node.root_id not in by_root:
            by_root[node.root_id] = policy_token(node.root_id, session)
        token = by_root[node.root_id]
        ck = (node.root_id, node.path, year, token)
        local = session.info.get("kaohe_policy_local", {})
        pol = _cache_get(ck) or local.get(ck)
        if pol is None:
            missing.append((node, ck))
        else:
            out[node.id] = pol
    if missing:
        roots = {n.root_id for n, _ in missing}
        dirty = session.info.get(DIRTY_INFO, set())
        for root_id in roots:
            group = [(n, ck) for n, ck in missing if n.root_id == root_id]
            ids = {i for n, _ in group for i in n.path_ids}
            by_node = _load_layers(root_id, ids, year, session)
            for n, ck in group:
                pol = _build(root_id, n.path_ids, year, ck[3], by_node)
                out[n.id] = pol
                if root_id in dirty:
                    # Uncommitted changes: keep it to this transaction only.
                    session.info.setdefault("kaohe_policy_local", {})[ck] = pol
                else:
                    _cache_put(ck, pol)
    return out


def _install_session_hooks() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    def _forget(session, *args):
        session.info.pop(TOKEN_INFO, None)
        session.info.pop(DIRTY_INFO, None)
        session.info.pop("kaohe_policy_local", None)

    if not event.contains(Session, "after_commit", _forget):
        event.listen(Session, "after_commit", _forget)
        event.listen(Session, "after_rollback", _forget)


_install_session_hooks()
