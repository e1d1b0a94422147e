"""Routine grades as a unit names them (policy ``routine.grade_scale``): pure
functions, no Flask and no database.

A scale lists 2 to 4 grades best first, each with its own code and names
(seed 001: 优秀/良好/及格/不及格) and the national rank it counts as
(``hao``/``jiaohao``/``yiban``/``jiaocha``; by order when a scale of four
states none).  Results store the rank, so the 好 cap, vetoes, supervision and
the annual rules (which read 好/一般/较差) keep working whatever the names;
pages and exports show the configured names through ``labels``.
"""
from __future__ import annotations

from typing import Mapping, Sequence

RANKS = ("hao", "jiaohao", "yiban", "jiaocha")   # best first
EPS = 1e-6

NATIONAL_SCALE = [
    {"code": "hao", "name": "好", "name_en": "Good", "rank": "hao"},
    {"code": "jiaohao", "name": "较好", "name_en": "Fairly good", "rank": "jiaohao"},
    {"code": "yiban", "name": "一般", "name_en": "Average", "rank": "yiban"},
    {"code": "jiaocha", "name": "较差", "name_en": "Poor", "rank": "jiaocha"},
]


def ranked(scale: Sequence[Mapping] | None) -> list[dict]:
    """The scale's entries with their rank filled in (by order for a scale of
    four without ranks); the national scale when none is given."""
    entries = [dict(e) for e in (scale or NATIONAL_SCALE)]
    if not all(e.get("rank") for e in entries):
        for e, rank in zip(entries, RANKS):
            e["rank"] = rank
    return entries


def thresholds(scale: Sequence[Mapping] | None, bands: Mapping[str, float]) -> list[tuple[str, float]]:
    """[(rank, lowest score)] best first; the last grade's lowest score is 0.
    Lowest scores come from the scale, or (none given) from the national
    thresholds ``routine.grade_bands`` of each rank."""
    entries = ranked(scale)
    own = any(e.get("min_score") is not None for e in entries[:-1])
    out = []
    for i, e in enumerate(entries):
        if i == len(entries) - 1:
            low = 0.0
        elif own:
            low = float(e["min_score"])
        else:
            low = float(bands[e["rank"]]) if e["rank"] in bands else 0.0
        out.append((e["rank"], low))
    return out


def grade(score: float, bands: Sequence[tuple[str, float]], cap_rank: str | None = None) -> str:
    """The rank of ``score`` on the scale; a veto's cap lowers it to the cap
    or, when the scale has no grade of that rank, to the next grade below."""
    g = bands[-1][0]
    for rank, low in bands:
        if score >= low - EPS:
            g = rank
            break
    if cap_rank and RANKS.index(cap_rank) > RANKS.index(g):
        present = [r for r, _ in bands]
        g = next((r for r in present if RANKS.index(r) >= RANKS.index(cap_rank)), present[-1])
    return g


def demotion_rank(bands: Sequence[tuple[str, float]]) -> str:
    """Where a 好 above the cap goes: the next grade of the scale."""
    present = [r for r, _ in bands]
    if present[0] != "hao" or len(present) < 2:
        return "jiaohao"
    return present[1]


def labels(scale: Sequence[Mapping] | None) -> dict[str, dict]:
    """rank → {"code", "name", "name_en"} of the configured grade."""
    return {e["rank"]: {"code": e["code"], "name": e["name"], "name_en": e.get("name_en") or e["name"]}
            for e in ranked(scale)}


def explain(scale: Sequence[Mapping] | None, bands: Mapping[str, float]) -> list[dict]:
    """The bands as a table: name, code, rank, lowest score (best first)."""
    lab = labels(scale)
    return [{**lab[rank], "rank": rank, "min_score": low} for rank, low in thresholds(scale, bands)]
