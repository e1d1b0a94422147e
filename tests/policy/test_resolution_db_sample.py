"""A sample of the truth table resolved through the database on both
backends: rows stored on P1 → C1 → K1 → T1 (all years and year-specific),
loaded with the one-query resolver, must give what the pure function gives
for the same layers, with provenance."""
from __future__ import annotations

import itertools
import random

from kaohe.extensions import db
from kaohe.policy import registry as reg
from kaohe.policy.models import PolicySetting
from kaohe.policy.resolve import Bounds, Layer, bump_version, effective_policy, resolve_key

from .conftest import node

KEYS = ["quota.base_rate", "quota.rounding", "routine.low_streak", "quota.hard_max_rate"]
VALUES = {"quota.base_rate": [0.25, 0.15, 0.35, 0.05], "quota.rounding": ["half_up", "ceil", "floor", "ceil"],
          "routine.low_streak": [2, 3, 4, 5], "quota.hard_max_rate": [0.25, 0.2, 0.3, 0.1]}
BOUNDS = {"quota.base_rate": [(0.10, 0.30), (0.12, 0.28), (0.18, 0.40), (0.20, 0.22)],
          "quota.rounding": [("floor", "half_up", "ceil"), ("floor", "half_up"), ("half_up", "ceil"), ("floor",)]}


def test_db_resolution_matches_pure_truth_table(world, sys_ctx):
    rnd = random.Random(7)
    combos = list(itertools.product(itertools.product((0, 1), repeat=4), repeat=3))
    sample = rnd.sample(combos, 24)
    with sys_ctx():
        path = [node(world, k) for k in ("P1-P", "P1-C1", "P1-K1", "P1-T1")]
        for has_value, locked, bounded in sample:
            db.session.query(PolicySetting).delete()
            expected = {}
            for key in KEYS:
                setting = reg.REGISTRY[key]
                layers = []
                for i, n in enumerate(path):
                    b = None
                    if bounded[i] and key in BOUNDS:
                        b = Bounds(allowed=BOUNDS[key][i]) if setting.bound == reg.BOUND_CHOICE else Bounds(*BOUNDS[key][i])
                    # the value is stored for 2026 only on odd levels, for all years on even ones
                    year = 2026 if i % 2 else 0
                    layers.append(Layer(n.id, bool(has_value[i]), VALUES[key][i] if has_value[i] else None, year,
                                        bool(locked[i]), 0, b))
                    if has_value[i] or locked[i] or b:
                        if has_value[i]:
                            db.session.add(PolicySetting(root_id=n.root_id, org_id=n.id, key=key, year=year,
                                                         has_value=True, value=VALUES[key][i]))
                        if locked[i] or b:
                            row = PolicySetting(root_id=n.root_id, org_id=n.id, key=key, year=0 if year else 2026,
                                                has_value=False, locked=bool(locked[i]))
                            if b is not None:
                                row.min_value, row.max_value = b.min, b.max
                                row.allowed = list(b.allowed) if b.allowed else None
                            db.session.add(row)
                expected[key] = resolve_key(setting, layers)
            db.session.flush()
            bump_version(path[0].root_id)
            db.session.commit()
            pol = effective_policy(node(world, "P1-T1"), 2026)
            for key, (value, prov) in expected.items():
                assert pol[key] == value, (key, has_value, locked, bounded)
                got = pol.provenance(key)
                assert (got["source"], got["locked_by"], got["bounds"]) == (prov.source, prov.locked_by, prov.bounds), \
                    (key, has_value, locked, bounded)
            # another year does not see the 2026-only rows
            other = effective_policy(node(world, "P1-T1"), 2025)
            for key in KEYS:
                src = other.provenance(key)["source"]
                assert src is None or src in {path[0].id, path[2].id} or other.provenance(key)["locked_by"]
