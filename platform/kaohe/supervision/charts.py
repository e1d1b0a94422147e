"""ECharts options built on the server from dashboard data, embedded in the
page as JSON (no network needed) and drawn by static/supervision/charts.js.
Also the data of a person's own score history, for the staff result pages."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ..annual.models import AnnualOutcome
from ..extensions import db
from ..routine.models import Period, Result
from ..web.i18n import pick
from .calc import GRADE_LABELS

PALETTE = {"hao": "#2e7d32", "jiaohao": "#7cb342", "yiban": "#f9a825", "jiaocha": "#c62828",
           "youxiu": "#1565c0", "chenzhi": "#42a5f5", "jibenchenzhi": "#ffb300", "buchenzhi": "#c62828"}


def grade_label(code: str) -> str:
    zh, en = GRADE_LABELS.get(code, (code, code))
    return pick(zh, en)


def stacked_bar(data: dict, title: str, *, grades: bool = True, percent: bool = False, horizontal: bool = False) -> dict:
    series = []
    for key, values in data.get("series", {}).items():
        s: dict[str, Any] = {"name": grade_label(key) if grades else key, "type": "bar", "data": values,
                             "emphasis": {"focus": "series"}}
        if grades:
            s["stack"] = "total"
            if key in PALETTE:
                s["itemStyle"] = {"color": PALETTE[key]}
        series.append(s)
    cat_axis = {"type": "category", "data": data.get("categories", []), "axisLabel": {"interval": 0, "rotate": 0 if horizontal else 30}}
    val_axis: dict[str, Any] = {"type": "value"}
    if percent:  # values are whole percentages 0-100, never fractions
        val_axis.update(min=0, max=100, axisLabel={"formatter": "{value}%"})
    return {
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"bottom": 0, "type": "scroll"},
        "grid": {"left": 50, "right": 20, "top": 40, "bottom": 80, "containLabel": True},
        "xAxis": val_axis if horizontal else cat_axis,
        "yAxis": cat_axis if horizontal else val_axis,
        "series": series,
        "aria": {"enabled": True},
    }


def line(data: dict, title: str, names: dict[str, str] | None = None, *, grades: bool = False) -> dict:
    names = names or {}
    series = []
    for key, values in data.get("series", {}).items():
        s = {"name": grade_label(key) if grades else names.get(key, key), "type": "line", "data": values,
             "smooth": False, "connectNulls": True, "symbolSize": 8}
        if grades and key in PALETTE:
            s["itemStyle"] = {"color": PALETTE[key]}
        series.append(s)
    return {
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0, "type": "scroll"},
        "grid": {"left": 50, "right": 20, "top": 40, "bottom": 60, "containLabel": True},
        "xAxis": {"type": "category", "data": data.get("categories", [])},
        "yAxis": {"type": "value"},
        "series": series,
        "aria": {"enabled": True},
    }


def dashboard_options(charts: dict, period_label=None) -> dict[str, dict]:
    """The charts of the dashboard page, by element id."""
    out = {}
    if charts.get("completion", {}).get("categories"):
        names = {"work_records": _("Work records"), "ratings": _("Ratings"), "computed": _("Computed"),
                 "publicised": _("Publicity started"), "final": _("Final")}
        data = {"categories": charts["completion"]["categories"],
                "series": {names[k]: [None if v is None else round(v * 100) for v in vals]
                           for k, vals in charts["completion"]["series"].items()}}
        opt = stacked_bar(data, _("Completion by unit (%)"), grades=False, percent=True)
        out["chart-completion"] = opt
    if any(sum(v) for v in charts.get("routine_grades", {}).get("series", {}).values()):
        out["chart-routine-grades"] = stacked_bar(charts["routine_grades"], _("Routine grades by unit"))
    if any(sum(v) for v in charts.get("annual_grades", {}).get("series", {}).values()):
        out["chart-annual-grades"] = stacked_bar(charts["annual_grades"], _("Annual grades by unit"))
    if charts.get("score_histogram") and sum(charts["score_histogram"]["series"]["people"]):
        hist = charts["score_histogram"]
        opt = stacked_bar({"categories": hist["categories"], "series": {_("People"): hist["series"]["people"]}},
                          _("Score distribution (5-point bins)"), grades=False)
        opt["legend"] = {"show": False}
        opt["xAxis"]["axisLabel"] = {"interval": 1, "rotate": 0}
        opt["xAxis"]["name"] = _("Score")
        out["chart-scores"] = opt
    if charts.get("over_time", {}).get("categories"):
        # percentages of the units that opened the period, like the completion chart (never fractions or counts)
        names = {"computed": _("Computed"), "publicised": _("Publicity started"), "final": _("Final")}
        over = dict(charts["over_time"])
        opened = over["series"].get("units", [])
        over["series"] = {k: [None if not n else round(100 * v / n) for v, n in zip(vals, opened)]
                          for k, vals in over["series"].items() if k != "units"}
        if period_label is not None:
            over["categories"] = [period_label(k) for k in over["categories"]]
        opt = line(over, _("Completion over the year: share of the units with the period"), names)
        opt["yAxis"].update(min=0, max=100, axisLabel={"formatter": "{value}%"})
        out["chart-over-time"] = opt
    if charts.get("annual_trend", {}).get("categories"):
        out["chart-annual-trend"] = line(charts["annual_trend"], _("Annual grades, year over year"), grades=True)
    return out


# -- a person's own history (for the staff result pages) ---------------------------


def person_history(person_id: int, years: int = 5) -> dict:
    """Routine scores by period and annual grades by year of one person,
    read in the caller's scope (two queries)."""
    data: dict[str, Any] = {"periods": [], "scores": [], "grades": [], "years": [], "annual": []}
    rows = db.session.execute(
        select(Period.year, Period.cycle, Period.seq, Result.score, Result.grade)
        .join(Period, (Period.root_id == Result.root_id) & (Period.id == Result.period_id))
        .where(Result.person_id == person_id, Period.state.in_(("publicised", "final")))
        .order_by(Period.starts_on).limit(48)).all()
    for y, cycle, seq, score, grade in rows:
        label = f"{y}Q{seq}" if cycle == "quarter" else (f"{y}-{seq:02d}" if cycle == "month" else f"{y}H{seq}")
        data["periods"].append(label)
        data["scores"].append(None if score is None else round(float(score), 1))
        data["grades"].append(grade)
    rows = db.session.execute(
        select(AnnualOutcome.year, AnnualOutcome.grade, AnnualOutcome.score)
        .where(AnnualOutcome.person_id == person_id).order_by(AnnualOutcome.year.desc()).limit(years)).all()
    for y, grade, score in reversed(rows):
        data["years"].append(str(y))
        data["annual"].append({"grade": grade, "label": grade_label(grade) if grade else "",
                               "score": None if score is None else round(float(score), 1)})
    return data


def person_history_option(history: dict) -> dict | None:
    if not history["periods"]:
        return None
    marks = [{"coord": [p, s], "value": grade_label(g) if g else "", "itemStyle": {"color": PALETTE.get(g, "#999")}}
             for p, s, g in zip(history["periods"], history["scores"], history["grades"]) if s is not None]
    return {
        "title": {"text": _("My routine scores"), "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 40, "right": 16, "top": 40, "bottom": 30, "containLabel": True},
        "xAxis": {"type": "category", "data": history["periods"]},
        "yAxis": {"type": "value", "min": "dataMin"},
        "series": [{"name": _("Score"), "type": "line", "data": history["scores"], "symbolSize": 9,
                    "markPoint": {"symbol": "pin", "symbolSize": 36, "data": marks,
                                  "label": {"fontSize": 10}}}],
        "aria": {"enabled": True},
    }
