"""Routine warning rules of seed 000 (talks due, no 优秀 this year, priority) and
the labels of every result flag.  Pure functions."""
from __future__ import annotations

from typing import Sequence

from .calc import EPS


def streak_flags(history: Sequence[float], *, low: float, high: float, low_streak: int, high_streak: int) -> list[str]:
    """Flags from a person's consecutive period scores, oldest first, the
    current period last.  'criticism_talk': this score ≤ low; 'reminder_talk'
    and 'no_youxiu': the last low_streak scores all ≤ low; 'priority': the
    last high_streak scores all ≥ high."""
    flags: list[str] = []
    if not history:
        return flags
    if history[-1] <= low + EPS:
        flags.append("criticism_talk")
    if low_streak > 0 and len(history) >= low_streak and all(s <= low + EPS for s in history[-low_streak:]):
        flags += ["reminder_talk", "no_youxiu"]
    if high_streak > 0 and len(history) >= high_streak and all(s >= high - EPS for s in history[-high_streak:]):
        flags.append("priority")
    return flags


FLAG_LABELS = {
    "criticism_talk": ("批评谈话", "Criticism talk due"),
    "reminder_talk": ("提醒/诫勉谈话", "Reminder talk due"),
    "no_youxiu": ("本年度不得评优秀", "Not eligible for Excellent this year"),
    "priority": ("年度优秀优先", "Priority for Excellent"),
    "cap_tie": ("好等次名额并列待定", "Tie at the cap line for Good"),
    "veto": ("一票否决", "Veto"),
    "incomplete": ("未完成", "Inputs incomplete: no grade"),
    "exempted": ("已豁免", "Exempted from complete inputs"),
    "derived": ("按所分管平均", "Derived from those led"),
}
