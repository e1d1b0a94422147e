"""The fast paths of the annual arithmetic against their definitions:
``r2`` against the Decimal rounding (bit for bit, over hundreds of thousands
of values around every kind of half), the unit computation's inline score
against ``annual_score``, and ``in_probation``'s shortcut against the
date arithmetic it replaces."""
import datetime as dt
import math
import random
import struct
from array import array

import pytest

from kaohe.annual.calc.eligibility import in_probation
from kaohe.annual.calc.person import PersonInput
from kaohe.annual.calc.score import annual_score, r2, r2_decimal
from kaohe.annual.calc.unit import compute_unit

from .test_calc_golden import random_person, random_policy


def _bits(x):
    return struct.pack("<d", x)


def _check_all(values):
    """r2 and r2_decimal give the same float, bit for bit (sign of zero included)."""
    values = array("d", values)
    fast = array("d", map(r2, values))
    ref = array("d", map(r2_decimal, values))
    if fast.tobytes() != ref.tobytes():
        bad = [(x, a, b) for x, a, b in zip(values, fast, ref) if _bits(a) != _bits(b)]
        raise AssertionError(f"r2 differs from the Decimal rounding: {bad[:10]}")


def test_r2_every_thousandth_and_ten_thousandth():
    # every x.xx0 … x.xx9 from -200 to 200 (all the .xx5 cases around the 100-point scale)
    _check_all([k / 1000 for k in range(-200_000, 200_001)])
    # every 4-decimal value on 0..100 (means of 1-decimal scores, weighted sums)
    _check_all([k / 10_000 for k in range(0, 1_000_001)])


def test_r2_halves_and_their_float_neighbours():
    values = []
    nextafter, inf = math.nextafter, math.inf
    for k in range(-30_000, 30_000):
        h = (k + 0.5) / 100                    # the float nearest to a decimal half
        up = down = h
        values.append(h)
        for _ in range(3):                     # and the floats just around it
            up, down = nextafter(up, inf), nextafter(down, -inf)
            values += (up, down)
    for k in range(0, 10**6, 997):             # large magnitudes up to the fast path's limit
        h = k + 0.005
        values += (h, nextafter(h, inf), nextafter(h, -inf), -h)
    _check_all(values)


def test_r2_arithmetic_results_and_random_floats():
    rng = random.Random(20261201)
    values = []
    for _ in range(50_000):
        a, b = round(rng.uniform(40, 100), 1), round(rng.uniform(40, 100), 1)
        values += (0.5 * a + 0.5 * b, 0.6 * a + 0.4 * b, (a + b + a + b) / 4, 0.7 * a + 0.3 * b, 0.1 * a,
                   (0.4 * a + 0.2 * b) / 0.6)
    values += [rng.uniform(-1e6, 1e6) for _ in range(50_000)]
    values += [rng.uniform(-1, 1) for _ in range(20_000)]
    values += [rng.uniform(-1e15, 1e15) for _ in range(2_000)]
    _check_all(values)


def _same_or_same_error(f, g, *args):
    try:
        want = g(*args)
    except Exception as exc:  # noqa: BLE001
        with pytest.raises(type(exc)):
            f(*args)
        return
    got = f(*args)
    assert type(got) is type(want)
    if isinstance(want, float):
        assert _bits(got) == _bits(want) or (math.isnan(got) and math.isnan(want)), args
    else:
        assert got == want, args


def test_r2_edges():
    for x in (0.0, -0.0, -0.001, -0.005, 0.005, 0.004999999999999999, 1.005, 84.125, 84.135, -84.125, 1e-320,
              -1e-320, 5e-324, 999_999.995, 999_999.994, 1e6, -1e6, 1e6 + 0.005, 1e15, 1e22, 1e300,
              math.inf, -math.inf, math.nan, 2.675, 0.125, 0.375, 1e-7,
              0, 1, 85, -3, True, 10**20):            # not floats: the Decimal path
        _same_or_same_error(r2, r2_decimal, x)
    assert r2(84.125) == 84.13 and r2(1.005) == 1.01 and r2(-84.125) == -84.13
    assert math.copysign(1, r2(-0.001)) == -1          # Decimal's "-0.00"


def _probation_reference(p, year):
    year_end = dt.date(year, 12, 31)
    end = p.probation_end
    if end is None and p.hire_date is not None:
        try:
            end = p.hire_date.replace(year=p.hire_date.year + 1)
        except ValueError:
            end = p.hire_date + dt.timedelta(days=365)
    return end is not None and end > year_end and (p.hire_date is None or p.hire_date <= year_end)


def test_in_probation_every_hire_day():
    day = dt.date(2020, 1, 1)
    while day <= dt.date(2030, 12, 31):
        for probation_end in (None, day + dt.timedelta(days=200), dt.date(2026, 12, 31), dt.date(2027, 1, 1)):
            p = PersonInput(1, hire_date=day, probation_end=probation_end)
            for year in (2024, 2025, 2026, 2027):
                assert in_probation(p, year) == _probation_reference(p, year), (day, probation_end, year)
        day += dt.timedelta(days=1)
    for p in (PersonInput(1), PersonInput(1, probation_end=dt.date(2027, 1, 1)),
              PersonInput(1, hire_date=dt.date(9999, 3, 1)), PersonInput(1, hire_date=dt.date(2024, 2, 29)),
              PersonInput(1, hire_date=dt.datetime(2026, 3, 1, 8, 0))):   # datetime: an error both ways
        for year in (2024, 2025, 2026, 9999):
            _same_or_same_error(in_probation, _probation_reference, p, year)


@pytest.mark.parametrize("seed", range(12))
def test_unit_scores_match_annual_score(seed):
    """compute_unit scores inline; annual_score is the readable definition."""
    rng = random.Random(seed)
    for u in range(40):
        pol = random_policy(rng)
        pol["routine.min_anonymous_raters"] = rng.choice([0, 3, 10])
        people = [random_person(rng, i, rng.random() < 0.2) for i in range(rng.choice([1, 5, 30]))]
        out = compute_unit(people, pol, 2026)
        weights = pol.get("annual.weights") or {"routine": 0.5, "review": 0.5}
        mode = pol.get("annual.special_mode", "add_subtract")
        sw = float(pol.get("annual.special_weight", 0.0) or 0.0)
        for p, r in zip(people, out.results):
            score, explain = annual_score(p, weights, mode, sw, int(pol.get("routine.min_anonymous_raters", 3)))
            got = dict(r.components)
            got.pop("quota_pool")
            assert r.score == score and (score is None or _bits(r.score) == _bits(score))
            assert repr(got) == repr(explain)
            assert list(got) == list(explain)
