"""The arithmetic of routine assessment (平时考核): plain functions over plain
dicts, no Flask and no database, so a request scoring one person and a job
scoring a whole province run the same code.

Shapes used throughout (all JSON-serialisable, frozen into a period):

indicator  {"code", "name", "dimension", "kind", "max", ...kind fields}
  kind "graded":    "levels": {"you": 10, "liang": 8, "zhong": 6, "cha": 3}
  kind "scored":    "max": 10                 (a rater gives 0..max)
  kind "deduction": "max": 10, "per": 2, "cap": 10   (max minus occurrences × per, at most cap)
  kind "bonus":     "per": 1, "cap": 5, "max": 5      (occurrences × per, at most cap)
  kind "veto":      "veto": "zero" | "grade_cap", "cap_grade": "yiban"
  kind "data":      "max": 10, "formula": {"type": "linear"|"threshold"|"ratio", ...}
scheme     {"code", "basis": "points"|"weight", "total": 100, "sections": [...],
            "rater_weights": {...}, "leader_score_mode": "rated"|"derived"}
section    {"code", "name", "points" | "weight", "indicators": [codes],
            "personal": bool, "extra": bool, "raters": {...} (optional override)}
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable, Mapping, Sequence

DIMENSIONS = ("de", "neng", "qin", "ji", "lian", "zhengzhi")
DIMENSION_LABELS = {
    "de": ("德", "Integrity & ethics"), "neng": ("能", "Ability"), "qin": ("勤", "Diligence"),
    "ji": ("绩", "Performance"), "lian": ("廉", "Probity"), "zhengzhi": ("政治素质", "Political quality"),
}
KINDS = ("graded", "scored", "deduction", "bonus", "veto", "data")
KIND_LABELS = {
    "graded": ("等次评分", "Graded (Excellent / Good / Fair / Poor)"), "scored": ("直接打分", "Scored 0..max"),
    "deduction": ("扣分项", "Deduction per occurrence"), "bonus": ("加分项", "Bonus"),
    "veto": ("一票否决", "Veto"), "data": ("数据导入", "Data-fed"),
}
LEVELS = ("you", "liang", "zhong", "cha")
LEVEL_LABELS = {"you": ("优", "Excellent"), "liang": ("良", "Good"), "zhong": ("中", "Fair"), "cha": ("差", "Poor")}
RATER_KINDS = ("supervisor", "self", "peer", "democratic")
RATER_LABELS = {"supervisor": ("主管领导评价", "Supervisor"), "self": ("自评", "Self"),
                "peer": ("互评", "Peers"), "democratic": ("民主测评", "Democratic")}
ANONYMOUS_KINDS = ("peer", "democratic")
GRADES = ("hao", "jiaohao", "yiban", "jiaocha")   # best first
GRADE_LABELS = {"hao": ("好", "Good"), "jiaohao": ("较好", "Fairly good"), "yiban": ("一般", "Average"),
                "jiaocha": ("较差", "Poor")}
EVENT_KINDS = ("deduction", "bonus", "veto")

# National defaults of the routine policy keys (the policy registry is the
# source of truth once it exists; these are used for keys it does not know).
POLICY_DEFAULTS: dict[str, Any] = {
    "routine.cycle": "quarter",
    "routine.daily_log_required": False,
    "routine.grade_bands": {"hao": 90, "jiaohao": 80, "yiban": 60},
    "routine.grade_scale": None,   # None: the national 好/较好/一般/较差 (calc_grades.NATIONAL_SCALE)
    "routine.good_cap_rate": 0.40,
    "routine.good_cap_scope": "department",
    "routine.rater_weights": {"supervisor": 0.7, "self": 0.1, "peer": 0.1, "democratic": 0.1},
    "routine.min_anonymous_raters": 3,
    "routine.reveal_votes_to_admin": False,
    "routine.anonymous_below_minimum": "not_counted",
    "routine.rating_overlap": "every_relation",
    "routine.low_score": 60,
    "routine.high_score": 95,
    "routine.high_streak": 3,
    "routine.low_streak": 2,
    "routine.publicity_working_days": 3,
    "routine.leader_score_mode": "rated",
    "routine.deduction_free_occurrences": 0,
    "routine.period_pay_share": 0.0,
    "pay.amount_per_person": 2000,     # the annual amount; a period pays routine.period_pay_share of it
    "calendar.extra_holidays": [],
    "calendar.extra_workdays": [],
    "indicators.common": [],
}

EPS = 1e-6


def r2(x: float) -> float:
    """Round half up to two decimals (what people expect on a score sheet)."""
    return float(Decimal(str(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


class SpecError(ValueError):
    """A definition that breaks a rule: ``errors`` maps field → messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


# -- indicators ---------------------------------------------------------------

def indicator_max(ind: Mapping) -> float:
    """Points an indicator contributes to its section's total."""
    kind = ind["kind"]
    if kind == "graded":
        return float(max(ind.get("levels", {}).values() or [0]))
    if kind in ("veto", "bonus"):
        return 0.0   # a veto has no points; bonuses sit on top, capped separately
    return float(ind.get("max", 0))


def validate_indicator(ind: Mapping) -> dict[str, list[str]]:
    """Field → messages for an indicator definition (empty when valid)."""
    errs: dict[str, list[str]] = {}
    kind = ind.get("kind")
    if kind not in KINDS:
        return {"kind": [f"Unknown kind; one of {', '.join(KINDS)}."]}
    if ind.get("dimension") not in DIMENSIONS:
        errs["dimension"] = [f"Unknown dimension; one of {', '.join(DIMENSIONS)}."]
    if kind == "graded":
        levels = ind.get("levels") or {}
        if set(levels) != set(LEVELS):
            errs["levels"] = ["A graded indicator needs points for each of 优/良/中/差 (you, liang, zhong, cha)."]
        else:
            vals = [float(levels[k]) for k in LEVELS]
            if any(v < 0 for v in vals) or vals != sorted(vals, reverse=True):
                errs["levels"] = ["Points must be non-negative and not increase from 优 to 差."]
    elif kind in ("scored", "data", "deduction"):
        if not _num(ind.get("max")) or float(ind["max"]) <= 0:
            errs["max"] = ["Maximum points must be a positive number."]
    if kind in ("deduction", "bonus"):
        if not _num(ind.get("per")) or float(ind["per"]) <= 0:
            errs["per"] = ["Points per occurrence must be a positive number."]
        if not _num(ind.get("cap")) or float(ind["cap"]) <= 0:
            errs["cap"] = ["The cap must be a positive number."]
        elif kind == "deduction" and _num(ind.get("max")) and float(ind["cap"]) > float(ind["max"]) + EPS:
            errs["cap"] = ["A deduction cap cannot exceed the indicator's maximum points."]
    if kind == "veto":
        if ind.get("veto") not in ("zero", "grade_cap"):
            errs["veto"] = ["A veto either sets the total to 0 ('zero') or caps the grade ('grade_cap')."]
        elif ind["veto"] == "grade_cap" and ind.get("cap_grade") not in GRADES:
            errs["cap_grade"] = [f"The capped grade must be one of {', '.join(GRADES)}."]
    if kind == "data":
        try:
            validate_formula(ind.get("formula"))
        except SpecError as exc:
            errs.update({f"formula.{k}" if not k.startswith("formula") else k: v for k, v in exc.errors.items()})
    return errs


def _num(v: Any) -> bool:
    try:
        return v is not None and not isinstance(v, bool) and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def validate_formula(spec: Any) -> None:
    """Formulas are declarative (never eval): linear, threshold steps or ratio."""
    if not isinstance(spec, Mapping):
        raise SpecError({"formula": ["A data-fed indicator needs a formula (linear, threshold or ratio)."]})
    t = spec.get("type")
    if t == "linear":
        for k in ("slope", "intercept"):
            if not _num(spec.get(k)):
                raise SpecError({f"formula.{k}": ["A number is required."]})
    elif t == "threshold":
        steps = spec.get("steps")
        if not isinstance(steps, list) or not steps or not all(
                isinstance(s, (list, tuple)) and len(s) == 2 and _num(s[0]) and _num(s[1]) for s in steps):
            raise SpecError({"formula.steps": ["Steps are a list of [minimum value, points] pairs."]})
    elif t == "ratio":
        if not _num(spec.get("target")) or float(spec["target"]) <= 0:
            raise SpecError({"formula.target": ["The target must be a positive number."]})
    else:
        raise SpecError({"formula.type": ["The formula type must be linear, threshold or ratio."]})


def apply_formula(spec: Mapping, value: float, max_points: float) -> float:
    """Points for a data value, clamped to 0..max_points."""
    t = spec["type"]
    value = float(value)
    if t == "linear":
        pts = float(spec["slope"]) * value + float(spec["intercept"])
    elif t == "threshold":
        pts = 0.0
        for minimum, points in sorted(spec["steps"], key=lambda s: float(s[0])):
            if value >= float(minimum) - EPS:
                pts = float(points)
    elif t == "ratio":
        pts = max_points * value / float(spec["target"])
    else:  # pragma: no cover - validated before
        raise SpecError({"formula.type": ["Unknown formula type."]})
    return min(max(pts, 0.0), max_points)


def rated_value_points(ind: Mapping, value: Any) -> float:
    """Points for one rater's value of a rated indicator (graded or scored);
    raises SpecError naming the rule when the value is outside the range."""
    code = ind["code"]
    if ind["kind"] == "graded":
        levels = ind["levels"]
        if value not in levels:
            raise SpecError({code: [f"Choose one of 优/良/中/差 ({', '.join(LEVELS)})."]})
        return float(levels[value])
    if ind["kind"] == "scored":
        if not _num(value):
            raise SpecError({code: ["A number is required."]})
        v, mx = float(value), float(ind["max"])
        if v < -EPS or v > mx + EPS:
            raise SpecError({code: [f"The score must be between 0 and {mx:g} (the indicator's maximum)."]})
        return v
    raise SpecError({code: ["This indicator is not rated by people (it comes from events or data)."]})


def event_points(ind: Mapping, occurrences: Sequence[float]) -> tuple[float, dict]:
    """(points, details) for deduction and bonus indicators.  Each occurrence
    carries its own points (default: the indicator's per-occurrence value);
    a deduction's first ``free`` occurrences are recorded but not counted
    (seed 003: 季迟到满N次后); the sum is limited by the cap, and every
    occurrence beyond it stays on record as evidence."""
    free = int(ind.get("free") or 0) if ind["kind"] == "deduction" else 0
    counted = [float(x) for x in occurrences][free:]
    raw = sum(counted)
    cap = float(ind["cap"])
    applied = min(raw, cap)
    detail = {"occurrences": len(occurrences), "raw": r2(raw), "applied": r2(applied), "capped": raw > cap + EPS}
    if free:
        detail["free"] = min(free, len(occurrences))
    if ind["kind"] == "deduction":
        return max(float(ind["max"]) - applied, 0.0), detail
    return applied, detail


def check_event(ind: Mapping, existing: Sequence[float], points: float) -> None:
    """Refuse an event that breaks its indicator's rules.  An occurrence past
    the cap is not refused: it is evidence, recorded, and the points stop at
    the cap when the period is computed."""
    kind = ind["kind"]
    if kind not in EVENT_KINDS:
        raise SpecError({"indicator": ["Events are recorded only for deduction, bonus and veto indicators."]})
    if kind == "veto":
        return
    if points <= 0:
        raise SpecError({"points": ["Points must be positive."]})


def combine_raters(values_by_kind: Mapping[str, Sequence[float]], weights: Mapping[str, float],
                   min_anonymous: int = 0) -> tuple[float | None, dict]:
    """Weighted combination of the rater kinds present.  Each kind's value is
    the mean of its raters; weights are renormalised over the kinds that
    responded, and the kinds missing are reported (never silently zero).

    Anonymity: an anonymous kind (peers, democratic vote) with fewer than
    ``min_anonymous`` raters is *withheld*: not counted at all, its weight
    going to the kinds that are counted, exactly as if it had not answered.
    Its mean is shown nowhere, so it must not be in the value either: were it
    counted, the value and the shown means (supervisor, self) would determine
    it.  The result carries no trace of a withheld kind but its name."""
    present = {k: vals for k, vals in values_by_kind.items() if vals and float(weights.get(k, 0)) > 0}
    withheld = sorted(k for k, vals in present.items() if k in ANONYMOUS_KINDS and len(vals) < min_anonymous)
    for k in withheld:
        del present[k]
    expected = [k for k, w in weights.items() if float(w) > 0]
    missing = [k for k in expected if k not in present and k not in withheld]
    if not present:
        return None, {"missing": missing, "means": {}, "withheld": withheld}
    total_w = sum(float(weights[k]) for k in present)
    means = {k: sum(v) / len(v) for k, v in present.items()}
    value = sum(means[k] * float(weights[k]) for k in present) / total_w
    return value, {"missing": missing, "means": {k: r2(v) for k, v in means.items()},
                   "counts": {k: len(v) for k, v in present.items()}, "withheld": withheld}


# -- schemes ------------------------------------------------------------------

def missing_mandatory(scheme: Mapping, library: Mapping[str, Mapping]) -> list[str]:
    """The mandatory common indicators of the library (handed down by the
    province with ``mandatory: true``) that no counted section of the scheme
    rates: a scheme missing any of them cannot be active."""
    used = {c for s in scheme.get("sections") or [] if not s.get("extra") for c in s.get("indicators") or []}
    return sorted(c for c, ind in library.items() if ind.get("mandatory") and c not in used)


def mandatory_error(missing: Sequence[str], library: Mapping[str, Mapping]) -> dict[str, list[str]]:
    names = "、".join(f"{c} {library[c].get('name') or ''}".strip() for c in missing)
    return {"sections": [f"The province's mandatory common indicators are missing: {names}. "
                         "Add them to a section before the scheme can be active."]}


def validate_scheme(scheme: Mapping, library: Mapping[str, Mapping]) -> None:
    """Raise SpecError naming the section whose points or weights do not add up."""
    errs: dict[str, list[str]] = {}
    basis = scheme.get("basis")
    total = float(scheme.get("total") or 100)
    sections = scheme.get("sections") or []
    if basis not in ("points", "weight"):
        raise SpecError({"basis": ["The basis is either 'points' (e.g. 20/60/20) or 'weight' (e.g. 90%/10%)."]})
    if not sections:
        raise SpecError({"sections": ["A scheme needs at least one section."]})
    codes = [s.get("code") for s in sections]
    if len(set(codes)) != len(codes) or not all(codes):
        errs["sections"] = ["Every section needs a unique code."]
    counted = [s for s in sections if not s.get("extra")]
    key = "points" if basis == "points" else "weight"
    for i, s in enumerate(sections):
        name = s.get("code") or f"#{i + 1}"
        if not s.get("extra") and (not _num(s.get(key)) or float(s[key]) <= 0):
            errs[f"sections.{name}.{key}"] = [f"Section {name} needs a positive {key}."]
        section_total = float(s.get("points", 0)) if basis == "points" else 100.0
        inds = s.get("indicators") or []
        for code in inds:
            if code not in library:
                errs.setdefault(f"sections.{name}.indicators", []).append(f"Unknown indicator {code}.")
        if errs.get(f"sections.{name}.indicators"):
            continue
        if s.get("personal"):
            continue   # personal sections are checked against each person's letter
        if not inds:
            errs[f"sections.{name}.indicators"] = [f"Section {name} has no indicators."]
            continue
        if s.get("extra"):
            continue
        pts = sum(indicator_max(library[c]) for c in inds)
        if inds and abs(pts - section_total) > EPS:
            errs[f"sections.{name}.indicators"] = [
                f"The indicators of section {name} add up to {pts:g} points, not the section's {section_total:g}."]
        if s.get("raters") is not None:
            e = validate_rater_weights(s["raters"])
            if e:
                errs[f"sections.{name}.raters"] = e
    if not any(k.startswith("sections.") and k.endswith(("points", "weight")) for k in errs):
        if basis == "points":
            got = sum(float(s["points"]) for s in counted)
            if abs(got - total) > EPS:
                errs["sections"] = [f"Section points add up to {got:g}, not the scheme total {total:g}."]
        else:
            got = sum(float(s["weight"]) for s in counted)
            if abs(got - 1.0) > 1e-4:
                errs["sections"] = [f"Section weights add up to {got:g}, not 1 (100%)."]
    e = validate_rater_weights(scheme.get("rater_weights") or {})
    if e:
        errs["rater_weights"] = e
    if errs:
        raise SpecError(errs)


def validate_rater_weights(weights: Mapping) -> list[str]:
    unknown = [k for k in weights if k not in RATER_KINDS]
    if unknown:
        return [f"Unknown rater kind {', '.join(unknown)}; one of {', '.join(RATER_KINDS)}."]
    if any(not _num(v) or float(v) < 0 for v in weights.values()):
        return ["Rater weights must be non-negative numbers."]
    got = sum(float(v) for v in weights.values())
    if abs(got - 1.0) > 1e-4:
        return [f"Rater weights add up to {got:g}, not 1."]
    return []


def validate_personal(section: Mapping, personal: Sequence[Mapping], basis: str) -> dict[str, list[str]]:
    """Personal indicators (from the target responsibility letter) must fill
    their section exactly."""
    errs: dict[str, list[str]] = {}
    for i, ind in enumerate(personal):
        e = validate_indicator(ind)
        for k, v in e.items():
            errs[f"personal.{i}.{k}"] = v
    if errs:
        return errs
    want = float(section.get("points", 0)) if basis == "points" else 100.0
    got = sum(indicator_max(i) for i in personal)
    if abs(got - want) > EPS:
        errs["personal"] = [f"Personal indicators add up to {got:g} points; section {section['code']} needs {want:g}."]
    return errs


@dataclass
class PersonInput:
    """Everything that goes into one person's score."""

    person_id: int
    scheme: Mapping
    library: Mapping[str, Mapping]           # code → indicator (common + unit + personal)
    ratings: Sequence[tuple[str, Mapping]] = ()   # (rater kind, {code: value})
    events: Mapping[str, Sequence[float]] = field(default_factory=dict)   # code → points per occurrence
    vetoes: Sequence[str] = ()               # indicator codes with a recorded veto event
    metrics: Mapping[str, float] = field(default_factory=dict)
    personal: Sequence[Mapping] = ()
    min_anonymous: int = 0                   # routine.min_anonymous_raters: fewer anonymous raters are withheld


def score_person(inp: PersonInput) -> dict:
    """Score with a breakdown by section and indicator, and the veto effects.

    Returns {"score", "sections": [...], "veto": None|{"code","mode","cap_grade"},
    "missing_raters": [...], "unrated": [...], "withheld": [anonymous kinds below the minimum]}"""
    scheme = inp.scheme
    basis = scheme["basis"]
    library = dict(inp.library)
    for ind in inp.personal:
        library[ind["code"]] = ind
    default_weights = scheme.get("rater_weights") or POLICY_DEFAULTS["routine.rater_weights"]
    # rater values per indicator per kind
    values: dict[str, dict[str, list[float]]] = {}
    for kind, scores in inp.ratings:
        for code, value in (scores or {}).items():
            ind = library.get(code)
            if ind is None or ind["kind"] not in ("graded", "scored"):
                continue
            values.setdefault(code, {}).setdefault(kind, []).append(rated_value_points(ind, value))
    sections_out = []
    missing: set[str] = set()
    withheld: set[str] = set()
    unrated: list[str] = []
    total = 0.0
    extra = 0.0
    for s in scheme["sections"]:
        codes = [i["code"] for i in inp.personal if i.get("section") == s["code"]] if s.get("personal") \
            else list(s.get("indicators") or [])
        weights = s.get("raters") or default_weights
        items = []
        pts = 0.0
        for code in codes:
            ind = library[code]
            kind = ind["kind"]
            item: dict[str, Any] = {"code": code, "name": ind.get("name"), "dimension": ind.get("dimension"),
                                    "kind": kind, "max": indicator_max(ind)}
            if kind in ("graded", "scored"):
                v, info = combine_raters(values.get(code, {}), weights, inp.min_anonymous)
                missing.update(info["missing"])
                withheld.update(info["withheld"])
                if v is None:
                    unrated.append(code)
                    v = 0.0
                item.update(points=r2(v), raters=info["means"], counts=info.get("counts", {}))
                if info["withheld"]:
                    item["withheld"] = info["withheld"]
            elif kind in ("deduction", "bonus"):
                v, info = event_points(ind, inp.events.get(code, ()))
                item.update(points=r2(v), **info)
            elif kind == "data":
                raw = inp.metrics.get(code)
                v = apply_formula(ind["formula"], raw, float(ind["max"])) if raw is not None else 0.0
                if raw is None:
                    unrated.append(code)
                item.update(points=r2(v), value=raw)
            else:  # veto
                v = 0.0
                item.update(points=0, triggered=code in inp.vetoes)
            pts += v if kind != "deduction" or not s.get("extra") else -(float(ind["max"]) - v)
            items.append(item)
        if s.get("extra"):
            section_score = pts
            extra += section_score
            sections_out.append({"code": s["code"], "name": s.get("name"), "extra": True,
                                 "score": r2(section_score), "items": items})
            continue
        if basis == "points":
            cap = float(s["points"])
            section_score = min(max(pts, 0.0), cap)
            contrib = section_score
        else:
            section_score = min(max(pts, 0.0), 100.0)
            contrib = section_score * float(s["weight"])
        total += contrib
        sections_out.append({"code": s["code"], "name": s.get("name"), "score": r2(section_score),
                             "contribution": r2(contrib),
                             **({"points": s["points"]} if basis == "points" else {"weight": s["weight"]}),
                             "items": items})
    score = total + extra
    veto = None
    for code in inp.vetoes:
        ind = library.get(code)
        if ind is None or ind["kind"] != "veto":
            continue
        if ind["veto"] == "zero":
            veto = {"code": code, "mode": "zero"}
            break
        if veto is None or GRADES.index(ind["cap_grade"]) > GRADES.index(veto.get("cap_grade", "hao")):
            veto = {"code": code, "mode": "grade_cap", "cap_grade": ind["cap_grade"]}
    if veto and veto["mode"] == "zero":
        score = 0.0
    return {"score": r2(max(score, 0.0)), "sections": sections_out, "veto": veto,
            "missing_raters": sorted(missing), "unrated": sorted(set(unrated)), "withheld": sorted(withheld)}


# -- leaders (seed 003) -------------------------------------------------------

def derived_leader_scores(staff_scores: Mapping[int, float], dept_of: Mapping[int, int],
                          charges: Mapping[int, Iterable[int]], head_ids: Iterable[int]) -> dict[int, float | None]:
    """A deputy's score = the mean of everyone in the departments in their
    charge; the head's = the mean of the deputies' scores.  None when there
    is nobody to average (shown, never invented)."""
    by_dept: dict[int, list[float]] = {}
    for pid, score in staff_scores.items():
        d = dept_of.get(pid)
        if d is not None:
            by_dept.setdefault(d, []).append(float(score))
    out: dict[int, float | None] = {}
    for leader, depts in charges.items():
        vals = [v for d in depts for v in by_dept.get(d, [])]
        out[leader] = r2(sum(vals) / len(vals)) if vals else None
    deputy_vals = [v for v in out.values() if v is not None]
    for h in head_ids:
        out[h] = r2(sum(deputy_vals) / len(deputy_vals)) if deputy_vals else None
    return out


# -- grades, caps, ranks ------------------------------------------------------

def grade_for(score: float, bands: Mapping[str, float], cap_grade: str | None = None) -> str:
    if score >= float(bands["hao"]) - EPS:
        g = "hao"
    elif score >= float(bands["jiaohao"]) - EPS:
        g = "jiaohao"
    elif score >= float(bands["yiban"]) - EPS:
        g = "yiban"
    else:
        g = "jiaocha"
    if cap_grade and GRADES.index(cap_grade) > GRADES.index(g):
        g = cap_grade
    return g


def good_quota(n: int, rate: float) -> int:
    """好 places for a group of n (floor, never negative)."""
    return max(int(math.floor(n * float(rate) + 1e-9)), 0)


@dataclass
class CapOutcome:
    grades: dict[int, str]
    quota: int
    tie: dict | None      # {"line": score, "slots": k, "candidates": [ids]} when a human must decide


def apply_good_cap(group: Mapping[int, tuple[float, str]], rate: float,
                   decision: Sequence[int] | None = None, demote_to: str = "jiaohao") -> CapOutcome:
    """Limit 好 in a group to floor(rate × n).  People above the cap line keep
    好, those below drop to 较好.  When people with the same score straddle
    the line, nobody among them is decided here: they are returned as a tie
    (provisionally 较好) unless ``decision`` names exactly which of them get
    the remaining places."""
    n = len(group)
    quota = good_quota(n, rate)
    grades = {pid: g for pid, (s, g) in group.items()}
    good = sorted([(s, pid) for pid, (s, g) in group.items() if g == "hao"], key=lambda t: -t[0])
    if len(good) <= quota:
        return CapOutcome(grades, quota, None)
    if quota == 0:
        for _, pid in good:
            grades[pid] = demote_to
        return CapOutcome(grades, quota, None)
    line = good[quota - 1][0]
    above = [pid for s, pid in good if s > line + EPS]
    at_line = [pid for s, pid in good if abs(s - line) <= EPS]
    below = [pid for s, pid in good if s < line - EPS]
    slots = quota - len(above)
    for pid in below:
        grades[pid] = demote_to
    if len(at_line) <= slots:   # no tie straddles the line
        return CapOutcome(grades, quota, None)
    chosen = set(decision or ())
    if chosen and chosen <= set(at_line) and len(chosen) == slots:
        for pid in at_line:
            grades[pid] = "hao" if pid in chosen else demote_to
        return CapOutcome(grades, quota, {"line": r2(line), "slots": slots, "candidates": sorted(at_line),
                                          "resolved": True})
    for pid in at_line:
        grades[pid] = demote_to
    return CapOutcome(grades, quota, {"line": r2(line), "slots": slots, "candidates": sorted(at_line),
                                      "resolved": False})


def competition_ranks(scores: Mapping[int, float]) -> dict[int, int]:
    """1, 2, 2, 4 ranking (equal scores share a rank)."""
    ordered = sorted(scores.items(), key=lambda kv: -kv[1])
    ranks: dict[int, int] = {}
    prev, rank = None, 0
    for i, (pid, s) in enumerate(ordered, start=1):
        if prev is None or abs(s - prev) > EPS:
            rank = i
            prev = s
        ranks[pid] = rank
    return ranks


# the warning rules of seed 000 and the flags' labels live in calc_flags (re-exported here)
from .calc_flags import FLAG_LABELS, streak_flags  # noqa: E402,F401  (after EPS: calc_flags reads it)
