"""Bilingual labels for the domain terms the pages show as Chinese words
(grades, period states, job states).  The Chinese term is the point: a
clerk reads 好/较好/一般/较差 and 优秀/称职, so pages show it via pick(zh, en)
and the grade codes of CONVENTIONS.md map here in one place."""
from __future__ import annotations

from ..policy.calc import ROUNDING_LABELS
from ..web.i18n import pick

GRADES: dict[str, dict[str, tuple[str, str]]] = {
    "routine": {"hao": ("好", "Good"), "jiaohao": ("较好", "Fairly good"),
                "yiban": ("一般", "Average"), "jiaocha": ("较差", "Poor")},
    "annual": {"youxiu": ("优秀", "Excellent"), "chenzhi": ("称职", "Competent"),
               "jibenchenzhi": ("基本称职", "Basically competent"), "buchenzhi": ("不称职", "Incompetent"),
               "undetermined": ("不定等次", "Not graded")},
    "org": {"youxiu": ("优秀", "Excellent"), "lianghao": ("良好", "Good"),
            "yiban": ("一般", "Average"), "jiaocha": ("较差", "Poor"),
            "major_contribution": ("重大贡献", "Major contribution")},
}

# Tone of a grade badge: good news green, bad news red, the middle neutral.
GRADE_TONE = {"hao": "ok", "youxiu": "ok", "jiaohao": "info", "chenzhi": "info", "lianghao": "info",
              "yiban": "", "jibenchenzhi": "warn", "jiaocha": "bad", "buchenzhi": "bad",
              "major_contribution": "ok"}

STATES: dict[str, tuple[str, str]] = {
    "draft": ("草稿", "Draft"), "open": ("进行中", "Open"), "rating": ("评价中", "Rating"),
    "review": ("审核中", "Under review"), "publicised": ("公示中", "On public notice"),
    "final": ("已定档", "Final"), "closed": ("已关闭", "Closed"),
    "queued": ("排队中", "Queued"), "running": ("运行中", "Running"), "done": ("已完成", "Done"),
    "failed": ("失败", "Failed"),
}
STATE_TONE = {"open": "info", "rating": "info", "review": "warn", "publicised": "warn", "final": "ok",
              "done": "ok", "failed": "bad", "running": "info", "queued": ""}


# Quota pools of the excellence quota (quota.rank_group_pools): the whole
# unit, or one pool per rank group that may not borrow from the other.
POOLS: dict[str, tuple[str, str]] = {"all": ("全体", "All"), "leader": ("领导班子", "Leaders"),
                                     "staff": ("一般干部", "Staff")}


def pool_label(code: str | None) -> str:
    zh_en = POOLS.get(code or "")
    return pick(*zh_en) if zh_en else str(code or "")


# How a unit's excellence quota was computed (annual.calc.quota_rate and
# policy quota.rounding / quota.denominator), in words.
QUOTA_WHY: dict[str, tuple[str, str]] = {
    "base_rate": ("基准比例", "base rate"), "major_contribution": ("重大贡献单位比例", "major-contribution rate"),
    "approval": ("上级批准的比例", "rate approved by the level above"),
    "youxiu": ("组织绩效优秀", "organisational grade Excellent"), "lianghao": ("组织绩效良好", "organisational grade Good"),
    "yiban": ("组织绩效一般", "organisational grade Average"), "jiaocha": ("组织绩效较差", "organisational grade Poor"),
}
QUOTA_WHY_SUFFIX: dict[str, tuple[str, str]] = {
    "needs_approval": ("超过无需审批的上限，待上级批准", "held at the ceiling until the level above approves"),
    "capped": ("不超过最高比例", "capped at the maximum rate"),
}
ROUNDING: dict[str, tuple[str, str]] = ROUNDING_LABELS   # the quota explanation's own words
DENOMINATOR: dict[str, tuple[str, str]] = {"participants": ("参加定等人数", "people graded"),
                                         "all": ("全体应参加考核人数", "everyone on the roster")}


def quota_why_label(why: str | None) -> str:
    if not why:
        return ""
    main, *suffixes = str(why).split(":")
    parts = [pick(*QUOTA_WHY[main]) if main in QUOTA_WHY else main]
    parts += [pick(*QUOTA_WHY_SUFFIX[x]) if x in QUOTA_WHY_SUFFIX else x for x in suffixes]
    return pick("，", ", ").join(parts)


def rounding_label(code: str | None) -> str:
    return pick(*ROUNDING[code]) if code in ROUNDING else str(code or "")


def denominator_label(code: str | None) -> str:
    return pick(*DENOMINATOR[code]) if code in DENOMINATOR else str(code or "")


def grade_label(code: str | None, scheme: str = "routine") -> str:
    if not code:
        return ""
    zh_en = GRADES.get(scheme, {}).get(code)
    return pick(*zh_en) if zh_en else str(code)


def state_label(code: str | None) -> str:
    if not code:
        return ""
    zh_en = STATES.get(code)
    return pick(*zh_en) if zh_en else str(code)


# What a background job does, in words (the job page shows this, not the code).
JOB_KINDS: dict[str, tuple[str, str]] = {
    "annual.compute": ("计算年度考核结果", "Computing the annual results"),
    "routine.compute": ("计算平时考核结果", "Computing the routine results"),
    "routine.remind": ("发送平时考核提醒", "Sending routine-assessment reminders"),
    "people.roster_check": ("校验花名册文件", "Checking the roster file"),
    "people.roster_import": ("导入花名册", "Importing the roster"),
    "supervision.export": ("生成 Excel 导出文件", "Preparing an Excel export"),
    "supervision.refresh_stats": ("更新督导统计数据", "Refreshing the supervision figures"),
    "demo.sleep": ("演示任务", "Demonstration task"),
}


def job_label(kind: str | None) -> str:
    zh_en = JOB_KINDS.get(kind or "")
    return pick(*zh_en) if zh_en else str(kind or "")


# Progress words the jobs report while running (stored as written by the worker, shown in words).
JOB_STEPS: dict[str, tuple[str, str]] = {
    "reading inputs": ("读取数据", "reading inputs"), "rows": ("行", "rows"), "checking": ("校验中", "checking"),
    "checked": ("已校验", "checked"),
}


def job_message(job: dict) -> str:
    """A finished job's outcome in the page's language, from the numbers it
    returned (the stored ``message`` is the worker's English summary and only
    the fallback for kinds without numbers)."""
    from flask_babel import gettext

    res = job.get("result") or {}
    kind = job.get("kind")
    if job.get("status") == "done" and res:
        if kind == "annual.compute" and "units" in res:
            text = gettext("%(units)s units and %(people)s people computed", units=res["units"], people=res.get("people", 0))
            if res.get("skipped"):
                text += pick("；", "; ") + gettext("%(n)s confirmed units left unchanged", n=len(res["skipped"]))
            return text
        if kind == "routine.compute" and "people" in res:
            return gettext("%(people)s people scored, %(ties)s ties to decide", people=res["people"], ties=res.get("ties", 0))
        if kind == "people.roster_check" and "rows" in res:
            return gettext("%(rows)s rows checked, %(errors)s problems found", rows=res["rows"], errors=res.get("errors", 0))
        if kind == "people.roster_import" and "created" in res:
            return gettext("%(created)s created, %(updated)s updated, %(unchanged)s unchanged", created=res["created"],
                           updated=res.get("updated", 0), unchanged=res.get("unchanged", 0))
        if kind == "supervision.export" and "rows" in res:
            return gettext("%(n)s rows written", n=res["rows"])
        if kind == "supervision.refresh_stats" and "units" in res:
            return gettext("%(n)s units refreshed in %(s)s s", n=res["units"], s=res.get("seconds", 0))
    msg = job.get("message") or ""
    return pick(*JOB_STEPS[msg]) if msg in JOB_STEPS else msg


def calendar_gap(start=None, end=None) -> str | None:
    """A warning when working days in [start, end] (default: today and the
    next 90 days, which covers a 公示 and the review/appeal periods) fall in a
    year whose public holidays neither the province entered nor the built-in
    calendar knows; None when every year is known, and None for everyone but
    the administrators it concerns: the province's policy administrators get
    a link to the page where they enter the holidays, unit administrators and
    supervisors are told whom to ask."""
    import datetime as dt

    from flask import url_for
    from flask_babel import gettext
    from markupsafe import Markup, escape

    from ..auth.roles import Perm
    from ..auth.service import has_perm
    from ..core.calendar import uncovered_years
    from ..core.clock import local_today
    from ..extensions import db
    from ..tenancy.models import OrgNode
    from ..tenancy.scope import current_scope

    root_id = current_scope().root_id
    root = db.session.get(OrgNode, root_id) if root_id else None
    province_admin = root is not None and has_perm(Perm.policy_edit, root)
    if not (province_admin or has_perm(Perm.unit_admin) or has_perm(Perm.supervise)):
        return None
    start = start or local_today()
    end = end or start + dt.timedelta(days=90)
    years = uncovered_years(start, end)
    if not years:
        return None
    names = "、".join(str(y) for y in years)
    text = escape(gettext("The public holidays of %(years)s have not been entered yet, so deadlines in that year "
                          "count only Saturdays and Sundays as rest days.", years=names))
    if province_admin:
        link = Markup(' <a href="{}">{}</a>').format(url_for("policy.holidays_year", year=years[0]),
                                                      gettext("Enter the public holidays and make-up working days"))
        return text + link
    return text + " " + escape(gettext("Ask your province's policy administrator to enter them."))
