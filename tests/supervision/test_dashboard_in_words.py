"""Issue 16, finding 9: the dashboard charts speak percentages (never
fractions) and put the periods in calendar order (11月 after 第2季度)."""
from __future__ import annotations

from kaohe.supervision.board import period_order
from kaohe.supervision.charts import dashboard_options


def test_periods_sort_chronologically_across_cycles():
    keys = ["month-11", "quarter-2", "half_year-1", "month-3", "quarter-1", "quarter-4"]
    assert sorted(keys, key=period_order) == ["month-3", "quarter-1", "quarter-2", "half_year-1", "month-11",
                                              "quarter-4"]


def test_charts_show_percentages_not_fractions(app, backend):
    charts = {
        "completion": {"categories": ["多巴镇"], "series": {"work_records": [0.51], "ratings": [0.333]}},
        "over_time": {"categories": ["quarter-2", "quarter-3"],
                      "series": {"units": [2, 2], "computed": [1, 2], "publicised": [1, 0], "final": [0, 0]}},
    }
    with app.test_request_context("/"):
        opts = dashboard_options(charts, lambda k: k)
    comp = opts["chart-completion"]
    assert [s["data"] for s in comp["series"]] == [[51], [33]]
    assert comp["yAxis"]["max"] == 100 and comp["yAxis"]["axisLabel"]["formatter"] == "{value}%"
    over = opts["chart-over-time"]
    assert {s["name"]: s["data"] for s in over["series"]} == {"Computed": [50, 100], "Publicity started": [50, 0],
                                                               "Final": [0, 0]} or \
        [s["data"] for s in over["series"]] == [[50, 100], [50, 0], [0, 0]]
    assert over["yAxis"]["max"] == 100 and over["yAxis"]["axisLabel"]["formatter"] == "{value}%"
