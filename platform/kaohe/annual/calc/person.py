"""One person's inputs to the annual computation and their result."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Sequence


@dataclass
class Sanction:
    kind: str
    year: int            # the year the measure was decided


@dataclass
class PersonInput:
    person_id: int
    rank_group: str = "staff"
    routine: Sequence[tuple[float | None, str | None]] = ()   # per period in order: (score, grade)
    leader_score: float | None = None
    democratic: dict | None = None                # vote counts {"youxiu": n, ...}
    special_points: Sequence[float] = ()           # add/subtract points (signed)
    special_scores: Sequence[float] = ()           # 0..100 scores (weighted mode)
    probation_end: dt.date | None = None
    hire_date: dt.date | None = None
    leave_days: int = 0
    investigation_open: bool = False
    investigation_closed_retro: bool = False       # closed after the year: graded retroactively (补定)
    sanctions: Sequence[Sanction] = ()
    refused: bool = False
    routine_no_youxiu: bool = False                # the routine slice's "not 优秀 this year" flag (routine.feed)
    # leave from date ranges (calc.leave): leave_days is then their calendar days; None = only a legacy count
    leave_workdays: int | None = None
    year_workdays: int | None = None               # the year's working days (the unit's calendar)


@dataclass
class PersonResult:
    person_id: int
    rank_group: str
    score: float | None
    grade: str | None
    code: str
    eligible_youxiu: bool
    rules: list[dict] = field(default_factory=list)      # [{"rule": key, "effect": ..., "detail": ...}]
    components: dict = field(default_factory=dict)
    rank: int | None = None
    flags: list[str] = field(default_factory=list)       # "tie_at_line", "priority", "retroactive"
    talks: list[str] = field(default_factory=list)       # "criticism", "reminder"

    def as_row(self) -> dict:
        return {"person_id": self.person_id, "rank_group": self.rank_group, "score": self.score,
                "grade": self.grade, "code": self.code, "eligible_youxiu": self.eligible_youxiu,
                "rank": self.rank, "flags": list(self.flags), "talks": list(self.talks),
                "explain": {"components": self.components, "rules": self.rules}}
