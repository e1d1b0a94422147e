"""Dashboard arithmetic: pure functions over per-unit rows (no Flask, no
database).  Completion shares, overdue items, roll-ups from units to the
children of a node, and the flags that deserve a supervisor's look, each
with the reason it fired."""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable
from ..core.clock import local_day, local_today


def N_(text: str) -> str:
    """Marks a string for the translation catalog; translated when shown."""
    return text


ROUTINE_GRADES = ("hao", "jiaohao", "yiban", "jiaocha")
ANNUAL_GRADES = ("youxiu", "chenzhi", "jibenchenzhi", "buchenzhi")
GRADE_LABELS = {
    "hao": ("好", "Good"), "jiaohao": ("较好", "Fairly good"), "yiban": ("一般", "Average"),
    "jiaocha": ("较差", "Poor"), "youxiu": ("优秀", "Excellent"), "chenzhi": ("称职", "Competent"),
    "jibenchenzhi": ("基本称职", "Basically competent"), "buchenzhi": ("不称职", "Incompetent"),
    "none": ("未定等次", "No grade"),
}

BURST_MIN_RATINGS = 10          # at least this many ratings by one rater ...
BURST_MAX_SECONDS = 300         # ... all within five minutes
MIN_PEOPLE_FOR_PATTERN = 3      # identical / all-high flags need at least this many results

FLAG_TEXT = {
    "same_people_at_cap": N_("Good went to the same %(people)s people in all %(periods)s computed periods this year, "
                            "always at the cap (%(rate)s of about %(participants)s participants). Rotation may be "
                            "fine, but a fixed list suggests grades decided in advance."),
    "identical_scores": N_("All %(n)s people have the same score (%(score)s) this period: the ratings do not tell "
                          "anyone apart."),
    "all_high": N_("All %(n)s scores are %(high)s or more this period (lowest %(low)s): check whether the "
                  "standards were applied."),
    "computed_not_publicised": N_("Results were computed on %(computed)s but the publicity has not started after "
                                 "%(days)s days."),
    "annual_not_publicised": N_("Annual grades were computed but the publicity of the Excellent candidates has not started."),
    "ratings_burst": N_("%(n)s ratings were entered by %(rater)s within %(seconds)s seconds: were they really "
                       "assessed one by one?"),
}

OVERDUE_TEXT = {
    "not_opened": N_("no period opened"),
    "period_overdue": N_("period ended %(days)s days ago and is not final"),
    "ratings_missing": N_("%(n)s people not rated after the period ended"),
    "publicity_done_not_final": N_("Publicity ended, results not final"),
    "appeals_overdue": N_("%(n)s appeal(s) past their decision deadline"),
    "talks_overdue": N_("%(n)s talk(s) overdue"),
}


def share(part: int | float, whole: int | float) -> float | None:
    return None if not whole else round(float(part) / float(whole), 4)


def unit_figures(*, people: int, routine: dict | None, annual: dict | None, appeals: dict | None,
                 talks: dict | None, reminders: dict | None, today: dt.date, settings: dict) -> dict:
    """Everything the dashboard shows about one assessment unit."""
    r = routine or {}
    a = annual or {}
    grace = int(settings.get("grace_days", 15))
    participants = int(r.get("participants", 0))
    overdue: list[dict] = []
    ended = r.get("ends_on") is not None and r["ends_on"] < today
    if routine is not None and ended and not r.get("final"):
        days = (today - r["ends_on"]).days
        if days > grace:
            overdue.append({"code": "period_overdue", "params": {"days": days}})
    if routine is not None and ended and participants and r.get("rated", 0) < participants:
        overdue.append({"code": "ratings_missing", "params": {"n": participants - r.get("rated", 0)}})
    pub_until = r.get("publicity_until")
    if routine is not None and pub_until is not None and pub_until < today and not r.get("final"):
        overdue.append({"code": "publicity_done_not_final", "params": {}})
    ap = appeals or {}
    if ap.get("overdue"):
        overdue.append({"code": "appeals_overdue", "params": {"n": ap["overdue"]}})
    tk = talks or {}
    if tk.get("overdue"):
        overdue.append({"code": "talks_overdue", "params": {"n": tk["overdue"]}})
    grades = dict(r.get("grades") or {})
    agrades = dict(a.get("grades") or {})
    publicised = bool(r.get("publicity_from") and r["publicity_from"] <= today) or r.get("state") in ("publicised", "final")
    return {
        "units": 1, "people": int(people or 0),
        "has_period": routine is not None, "period_state": r.get("state"), "period_id": r.get("period_id"),
        "ends_on": r.get("ends_on"), "computed_at": r.get("computed_at"),
        "publicity_from": r.get("publicity_from"), "publicity_until": pub_until,
        "participants": participants, "work_records": int(r.get("work_records", 0)),
        "rated": int(r.get("rated", 0)), "computed": int(bool(r.get("computed"))),
        "publicised": int(publicised),
        "publicity_ended": int(bool(pub_until and pub_until < today)), "final": int(bool(r.get("final"))),
        "results": int(r.get("results", 0)), "routine_grades": grades,
        "score_min": r.get("score_min"), "score_max": r.get("score_max"), "score_avg": r.get("score_avg"),
        "high": int(r.get("high", 0)),
        "has_annual": annual is not None, "annual_status": a.get("status"),
        "annual_computed": int(bool(a.get("computed"))), "annual_confirmed": int(bool(a.get("confirmed"))),
        "annual_publicised": int(bool(a.get("publicity_start") and a["publicity_start"] <= today)),
        "annual_filed": int(bool(a.get("filed"))),
        "annual_grades": agrades, "youxiu": int(agrades.get("youxiu", 0)),
        "youxiu_quota": a.get("quota"), "annual_people": int(a.get("people", 0)),
        "appeals_open": int(ap.get("open", 0)), "appeals_overdue": int(ap.get("overdue", 0)),
        "next_deadline": ap.get("next_deadline"),
        "talks_due": int(tk.get("due", 0)), "talks_overdue": int(tk.get("overdue", 0)),
        "overdue": overdue,
        "reminders_sent": int((reminders or {}).get("sent", 0)),
        "reminders_unread": int((reminders or {}).get("unread", 0)),
        "last_reminder": (reminders or {}).get("last"),
    }


_SUM_KEYS = ("units", "people", "participants", "work_records", "rated", "computed", "publicised",
             "publicity_ended", "final", "results", "high", "annual_computed", "annual_confirmed",
             "annual_publicised", "annual_filed", "youxiu", "annual_people", "appeals_open", "appeals_overdue",
             "talks_due", "talks_overdue", "reminders_sent", "reminders_unread")


def roll_up(units: Iterable[dict]) -> dict:
    """Sum unit figures into one row (a child of the node, or the total)."""
    units = list(units)
    out: dict[str, Any] = {k: sum(u[k] for u in units) for k in _SUM_KEYS}
    out["with_period"] = sum(1 for u in units if u["has_period"])
    out["with_annual"] = sum(1 for u in units if u["has_annual"])
    out["not_opened"] = out["units"] - out["with_period"]
    rg: dict[str, int] = {}
    ag: dict[str, int] = {}
    for u in units:
        for g, n in u["routine_grades"].items():
            rg[g] = rg.get(g, 0) + n
        for g, n in u["annual_grades"].items():
            ag[g] = ag.get(g, 0) + n
    out["routine_grades"], out["annual_grades"] = rg, ag
    quotas = [u["youxiu_quota"] for u in units if u["youxiu_quota"] is not None]
    out["youxiu_quota"] = sum(quotas) if quotas else None
    out["hao_share"] = share(rg.get("hao", 0), out["results"])
    out["youxiu_share"] = share(out["youxiu"], out["annual_people"])
    deadlines = [u["next_deadline"] for u in units if u["next_deadline"]]
    out["next_deadline"] = min(deadlines) if deadlines else None
    reminders = [u["last_reminder"] for u in units if u["last_reminder"]]
    out["last_reminder"] = max(reminders) if reminders else None
    out["overdue"] = [o for u in units for o in u["overdue"]]
    out["overdue_count"] = len(out["overdue"])
    wp = out["with_period"]
    out["completion"] = {
        "work_records": share(out["work_records"], out["participants"]),
        "ratings": share(out["rated"], out["participants"]),
        "computed": share(out["computed"], wp),
        "publicised": share(out["publicised"], wp),
        "final": share(out["final"], wp),
    }
    if len(units) == 1:
        u = units[0]
        out.update(period_state=u["period_state"], period_id=u["period_id"], ends_on=u["ends_on"],
                   publicity_from=u["publicity_from"], publicity_until=u["publicity_until"],
                   annual_status=u["annual_status"], score_min=u["score_min"], score_max=u["score_max"],
                   score_avg=u["score_avg"])
    return out


def mark_not_opened(row: dict, any_period: bool) -> None:
    if any_period and row.get("not_opened"):
        row["overdue"] = list(row["overdue"]) + [{"code": "not_opened", "params": {"n": row["not_opened"]}}]
        row["overdue_count"] = len(row["overdue"])


def is_lagging(row: dict) -> bool:
    """A child needs a push when it has overdue items (including units that
    have not opened the period the others opened)."""
    return bool(row.get("overdue_count"))


# -- flags ---------------------------------------------------------------------


def _pct(rate: float) -> str:
    return f"{round(rate * 100)}%"


def flags_for_units(per_unit: dict[int, dict], settings: dict, today: dt.date | None = None) -> list[dict]:
    """Flags that follow from the per-unit figures alone."""
    today = today or local_today()
    out: list[dict] = []
    high = float(settings.get("high_score", 95))
    wait = int(settings.get("publicise_within_days", 7))
    for uid, u in per_unit.items():
        n = u["results"]
        if n >= MIN_PEOPLE_FOR_PATTERN and u["score_min"] is not None and u["score_min"] == u["score_max"]:
            out.append(_flag(uid, "identical_scores", n=n, score=_num(u["score_min"])))
        elif n >= MIN_PEOPLE_FOR_PATTERN and u["score_min"] is not None and u["score_min"] >= high:
            out.append(_flag(uid, "all_high", n=n, high=_num(high), low=_num(u["score_min"])))
        computed_at = u.get("computed_at")
        if u["computed"] and not u["publicised"] and computed_at is not None:
            day = local_day(computed_at) if isinstance(computed_at, dt.datetime) else computed_at
            if (today - day).days >= wait:
                out.append(_flag(uid, "computed_not_publicised", computed=day.isoformat(), days=(today - day).days))
        if u["annual_computed"] and u["annual_confirmed"] and not u["annual_publicised"]:
            out.append(_flag(uid, "annual_not_publicised"))
    return out


def flag_same_people_at_cap(periods_computed: int, periods_with_hao: int, hao_rows: int, hao_people: int,
                            avg_participants: float, cap_rate: float) -> dict | None:
    """好 to the very same people in every computed period (two or more), and
    as many as the cap allows each time."""
    if periods_computed < 2 or periods_with_hao != periods_computed or hao_people == 0:
        return None
    if hao_rows != hao_people * periods_computed:
        return None          # someone got 好 in some periods only: the list moves
    import math

    cap = math.floor(cap_rate * avg_participants + 1e-9)
    if hao_people < max(cap, 1):
        return None          # below the cap: no sign of a list filled up to the quota
    return _flag(None, "same_people_at_cap", people=hao_people, periods=periods_computed, rate=_pct(cap_rate),
                 participants=round(avg_participants))


def flag_burst(n: int, first: dt.datetime | None, last: dt.datetime | None) -> dict | None:
    if n < BURST_MIN_RATINGS or first is None or last is None:
        return None
    seconds = (last - first).total_seconds()
    if seconds > BURST_MAX_SECONDS:
        return None
    return _flag(None, "ratings_burst", n=n, seconds=int(seconds))


def _flag(unit_id, code, **params) -> dict:
    return {"unit_id": unit_id, "code": code, "params": params}


def _num(x) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:.1f}"


def flag_message(flag: dict, translate=lambda s: s) -> str:
    text = translate(FLAG_TEXT.get(flag["code"], flag["code"]))
    try:
        return text % flag.get("params", {})
    except (KeyError, TypeError, ValueError):
        return text


def overdue_message(item: dict, translate=lambda s: s) -> str:
    text = translate(OVERDUE_TEXT.get(item["code"], item["code"]))
    try:
        return text % item.get("params", {})
    except (KeyError, TypeError, ValueError):
        return text
