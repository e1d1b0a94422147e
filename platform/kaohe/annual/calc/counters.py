"""Multi-year counters: salary steps, 级别, merit and the 不称职 streak."""
from __future__ import annotations

from typing import Sequence


def counters(history: Sequence[tuple[int, str | None]]) -> dict:
    """Counters from a person's yearly grades [(year, grade or None)], oldest first.

    称职 or better: 2 cumulative years → a salary step, 5 → a 级别 (the count
    runs on after each step; 不称职 resets it — the person is demoted).
    Consecutive 优秀: 3 → third-class merit (三等功).  Consecutive 不称职:
    1 → warning, 2 → dismissal (辞退).  Years without a grade neither count nor
    break a streak of 优秀/不称职 (a 5A/6A year interrupts nothing)."""
    good = 0
    youxiu_streak = 0
    bad_streak = 0
    for _year, grade in sorted(history):
        if grade is None:
            continue
        if grade in ("youxiu", "chenzhi"):
            good += 1
        if grade == "buchenzhi":
            good = 0
        youxiu_streak = youxiu_streak + 1 if grade == "youxiu" else 0
        bad_streak = bad_streak + 1 if grade == "buchenzhi" else 0
    last_grade = next((g for _y, g in sorted(history, reverse=True) if g is not None), None)
    alerts = []
    if last_grade in ("youxiu", "chenzhi") and good and good % 2 == 0:
        alerts.append("salary_step")
    if last_grade in ("youxiu", "chenzhi") and good and good % 5 == 0:
        alerts.append("level")
    if youxiu_streak and youxiu_streak % 3 == 0:
        alerts.append("merit_third_class")
    if bad_streak == 1:
        alerts.append("buchenzhi_warning")
    elif bad_streak >= 2:
        alerts.append("dismissal")
    return {"good_years": good, "toward_step": good % 2, "step_every": 2, "toward_level": good % 5, "level_every": 5,
            "youxiu_streak": youxiu_streak, "merit_every": 3, "buchenzhi_streak": bad_streak, "alerts": alerts}


# What a list of the year shows (issue 17): due this year, or at risk.
DUE_KINDS = ("salary_step", "level", "merit_third_class", "dismissal")
RISK_KINDS = ("dismissal_risk", "merit_next", "regrade")


def year_alerts(history: Sequence[tuple[int, str | None]], year: int, *, graded_this_year: bool,
                pending_regrade: bool = False) -> list[str]:
    """The alerts of ``year`` for one person from their grades up to that year.

    Due (the year's grade completes a count): ``salary_step``, ``level``,
    ``merit_third_class``, ``dismissal``.  At risk: ``dismissal_risk`` (不称职
    last year and no grade yet this year: a second one means dismissal),
    ``merit_next`` (优秀 in the two years before, no grade yet: a third gives
    三等功), ``regrade`` (the year's result awaits 补定)."""
    upto = [(y, g) for y, g in history if y <= year]
    out: list[str] = []
    if graded_this_year:
        out.extend(a for a in counters(upto)["alerts"] if a in DUE_KINDS)
    else:
        before = counters([(y, g) for y, g in upto if y < year])
        last = dict(upto).get(year - 1)
        if last == "buchenzhi":
            out.append("dismissal_risk")
        if before["youxiu_streak"] and before["youxiu_streak"] % 3 == 2 and last == "youxiu":
            out.append("merit_next")
    if pending_regrade:
        out.append("regrade")
    return out
