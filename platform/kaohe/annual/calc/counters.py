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
