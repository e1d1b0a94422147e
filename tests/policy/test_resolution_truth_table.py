"""Truth tables for the cascade, at the pure-function level.

For every kind, every combination of (value set at province / city / county /
township) × (lock at each level) × (bounds at each level) is resolved at the
township and compared with an oracle that walks the path top-down the way a
person would explain it: "each level passes down what it has; a level below a
lock cannot change anything; a level's own value must fit the bounds of the
levels above it"."""
from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from kaohe.policy import registry as reg
from kaohe.policy.resolve import Bounds, Layer, merge_rows, resolve_key

LEVELS = 4            # province, city, county, township
IDS = [101, 102, 103, 104]
FLAGS = list(itertools.product((0, 1), repeat=LEVELS))
COMBOS = list(itertools.product(FLAGS, repeat=3))


def each_combo(fn):
    """Run a check for every (values, locks, bounds) combination: 4096 cases
    per kind, reported by their flags on failure."""
    def run():
        for has_value, locked, bounded in COMBOS:
            try:
                fn(has_value, locked, bounded)
            except AssertionError as exc:
                raise AssertionError(f"values={has_value} locks={locked} bounds={bounded}: {exc}") from None
    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


def _walk(default, values, locks, bounds, fit):
    """The oracle: top-down walk keeping (value, source, locked_by, bounds-for-below)."""
    value, source, locked_by = default, None, None
    acc = None   # accumulated bounds from the levels above the current one
    own_bounds = None
    for i in range(LEVELS):
        if locked_by is not None:
            continue
        own_bounds = acc
        if values[i] is not None:
            value, source = values[i], IDS[i]
        value = fit(value, acc)
        if locks[i]:
            locked_by = IDS[i]
        if bounds[i] is not None:
            acc = bounds[i] if acc is None else acc.intersect(bounds[i])
    return value, source, locked_by, own_bounds


class NumBounds:
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def intersect(self, other):
        return NumBounds(max(self.lo, other.lo), min(self.hi, other.hi))


def fit_number(v, b):
    if b is None:
        return v
    if Decimal(str(v)) < Decimal(str(b.lo)):
        return b.lo
    if Decimal(str(v)) > Decimal(str(b.hi)):
        return b.hi
    return v


NUM_VALUES = [0.25, 0.15, 0.35, 0.05]
NUM_BOUNDS = [(0.10, 0.30), (0.12, 0.28), (0.18, 0.40), (0.20, 0.22)]   # the county's max is looser on purpose


@each_combo
def test_bounded_number(has_value, locked, bounded):
    setting = reg.REGISTRY["quota.base_rate"]
    layers = [Layer(IDS[i], bool(has_value[i]), NUM_VALUES[i] if has_value[i] else None, 0, bool(locked[i]), 0,
                    Bounds(*NUM_BOUNDS[i]) if bounded[i] else None) for i in range(LEVELS)]
    value, prov = resolve_key(setting, layers)
    exp_value, exp_source, exp_lock, exp_bounds = _walk(
        setting.default, [NUM_VALUES[i] if has_value[i] else None for i in range(LEVELS)], locked,
        [NumBounds(*NUM_BOUNDS[i]) if bounded[i] else None for i in range(LEVELS)], fit_number)
    assert Decimal(str(value)) == Decimal(str(exp_value))
    assert prov.source == exp_source
    assert prov.locked_by == exp_lock
    assert prov.inherited == (exp_source != IDS[-1])
    if exp_bounds is None:
        assert prov.bounds is None
    else:
        assert (prov.bounds["min"], prov.bounds["max"]) == (exp_bounds.lo, exp_bounds.hi)
        # Provenance names the level that set each side of the tightest bound.
        lo_by = IDS[[i for i in range(LEVELS) if bounded[i] and NUM_BOUNDS[i][0] == exp_bounds.lo][0]]
        assert prov.bounds["min_by"] == lo_by


class ChoiceBounds:
    def __init__(self, allowed):
        self.allowed = tuple(allowed)

    def intersect(self, other):
        return ChoiceBounds([a for a in self.allowed if a in other.allowed])


def fit_choice(v, b, order=("floor", "half_up", "ceil")):
    if b is None or v in b.allowed:
        return v
    return next((c for c in order if c in b.allowed), v)


CHOICE_VALUES = ["half_up", "ceil", "floor", "ceil"]
CHOICE_BOUNDS = [("floor", "half_up", "ceil"), ("floor", "half_up"), ("half_up", "ceil"), ("floor",)]


@each_combo
def test_bounded_choice(has_value, locked, bounded):
    setting = reg.REGISTRY["quota.rounding"]
    layers = [Layer(IDS[i], bool(has_value[i]), CHOICE_VALUES[i] if has_value[i] else None, 0, bool(locked[i]), 0,
                    Bounds(allowed=CHOICE_BOUNDS[i]) if bounded[i] else None) for i in range(LEVELS)]
    value, prov = resolve_key(setting, layers)
    exp_value, exp_source, exp_lock, _ = _walk(
        setting.default, [CHOICE_VALUES[i] if has_value[i] else None for i in range(LEVELS)], locked,
        [ChoiceBounds(CHOICE_BOUNDS[i]) if bounded[i] else None for i in range(LEVELS)], fit_choice)
    assert (value, prov.source, prov.locked_by) == (exp_value, exp_source, exp_lock)


TABLES = [
    {"youxiu": 0.2, "lianghao": 0.15, "yiban": 0.12, "jiaocha": 0.10, "major_contribution": 0.30},
    {"youxiu": 0.25, "lianghao": 0.2, "yiban": 0.1, "jiaocha": 0.05, "major_contribution": 0.3},
    {"youxiu": 0.3, "lianghao": 0.2, "yiban": 0.2, "jiaocha": 0.2, "major_contribution": 0.3},
    {"youxiu": 0.18, "lianghao": 0.16, "yiban": 0.14, "jiaocha": 0.12, "major_contribution": 0.2},
]


@each_combo
def test_bounded_table(has_value, locked, bounded):
    """A table of rates: bounds apply to every entry."""
    setting = reg.REGISTRY["quota.rate_by_org_grade"]
    layers = [Layer(IDS[i], bool(has_value[i]), TABLES[i] if has_value[i] else None, 0, bool(locked[i]), 0,
                    Bounds(*NUM_BOUNDS[i]) if bounded[i] else None) for i in range(LEVELS)]
    value, prov = resolve_key(setting, layers)
    exp_value, exp_source, exp_lock, _ = _walk(
        setting.default, [TABLES[i] if has_value[i] else None for i in range(LEVELS)], locked,
        [NumBounds(*NUM_BOUNDS[i]) if bounded[i] else None for i in range(LEVELS)],
        lambda t, b: {k: fit_number(v, b) for k, v in t.items()})
    assert {k: Decimal(str(v)) for k, v in value.items()} == {k: Decimal(str(v)) for k, v in exp_value.items()}
    assert (prov.source, prov.locked_by) == (exp_source, exp_lock)


@each_combo
def test_inheritable_ignores_bounds(has_value, locked, bounded):
    setting = reg.REGISTRY["routine.low_streak"]
    vals = [2, 3, 4, 5]
    layers = [Layer(IDS[i], bool(has_value[i]), vals[i] if has_value[i] else None, 0, bool(locked[i]), 0,
                    Bounds(3, 4) if bounded[i] else None) for i in range(LEVELS)]
    value, prov = resolve_key(setting, layers)
    exp_value, exp_source, exp_lock, _ = _walk(setting.default, [vals[i] if has_value[i] else None
                                                                 for i in range(LEVELS)], locked,
                                               [None] * LEVELS, fit_number)
    assert (value, prov.source, prov.locked_by, prov.bounds) == (exp_value, exp_source, exp_lock, None)


@each_combo
def test_province_only(has_value, locked, bounded):
    """Only the province's value counts, whatever lower layers hold."""
    setting = reg.REGISTRY["quota.hard_max_rate"]
    vals = [0.25, 0.1, 0.2, 0.3]
    layers = [Layer(IDS[i], bool(has_value[i]), vals[i] if has_value[i] else None, 0, bool(locked[i]), 0,
                    Bounds(0.1, 0.2) if bounded[i] else None) for i in range(LEVELS)]
    value, prov = resolve_key(setting, layers)
    if has_value[0]:
        assert (value, prov.source) == (0.25, IDS[0])
    else:
        assert (value, prov.source) == (setting.default, None)
    assert prov.locked_by == (IDS[0] if locked[0] else None)


def _items(level):
    return {"add": [{"code": f"L{level}", "name": f"item {level}", "category": "ji", "mandatory": level == 0},
                    {"code": f"L{level}b", "name": f"item {level}b", "category": "de", "mandatory": False}],
            "remove": [f"L{level - 1}b", f"L{level - 1}"] if level else []}


@each_combo
def test_additive(has_value, locked, bounded):
    """Each level adds two items and tries to drop both of its parent's; a
    mandatory item (the province's first) always survives; a lock freezes
    the list at the locker."""
    setting = reg.REGISTRY["indicators.common"]
    layers = [Layer(IDS[i], bool(has_value[i]), _items(i) if has_value[i] else None, 0, bool(locked[i]), 0,
                    Bounds(1, 2) if bounded[i] else None) for i in range(LEVELS)]
    value, prov = resolve_key(setting, layers)
    # oracle: top-down, stopping after the first lock
    items, stop = [], False
    for i in range(LEVELS):
        if stop:
            break
        if has_value[i]:
            drop = set(_items(i)["remove"])
            items = [it for it in items if it[0] not in drop or it[1]]
            items += [(it["code"], it["mandatory"], IDS[i]) for it in _items(i)["add"]]
        stop = bool(locked[i])
    assert [(it["code"], it["mandatory"], it["source"]) for it in value] == items
    assert prov.locked_by == next((IDS[i] for i in range(LEVELS) if locked[i]), None)


class _Row:
    def __init__(self, year, has_value=False, value=None, locked=False, min_value=None, max_value=None,
                 allowed=None):
        self.year, self.has_value, self.value, self.locked = year, has_value, value, locked
        self.min_value, self.max_value, self.allowed = min_value, max_value, allowed


def test_year_row_wins_field_by_field():
    lay = merge_rows(1, [_Row(2026, True, 0.15), _Row(0, True, 0.2, locked=True, min_value=0.1, max_value=0.3)])
    assert (lay.value, lay.value_year, lay.locked, lay.lock_year) == (0.15, 2026, True, 0)
    assert (lay.bounds.min, lay.bounds.max) == (0.1, 0.3)
    lay = merge_rows(1, [_Row(0, True, 0.2, min_value=0.1, max_value=0.3), _Row(2026, min_value=0.15)])
    assert (lay.value, lay.value_year) == (0.2, 0)
    assert (lay.bounds.min, lay.bounds.max) == (0.15, 0.3)
    lay = merge_rows(1, [_Row(0, allowed=["floor", "ceil"]), _Row(2026, allowed=["ceil", "half_up"])])
    assert lay.bounds.allowed == ("floor", "ceil") or lay.bounds.allowed == ("ceil",)
    assert lay.bounds.allowed == ("ceil",)


def test_every_default_validates_and_every_key_has_text():
    for key, s in reg.REGISTRY.items():
        assert reg.validate_value(key, s.default) is not None or s.default is None
        assert s.zh and s.en and s.group in reg.GROUPS and s.kind in reg.KINDS
