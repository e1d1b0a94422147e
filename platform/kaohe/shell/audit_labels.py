"""The audit log in words (issue 16): what was done, to what, and the before /
after values as a list of labelled fields, in the page's language, instead
of action codes and raw JSON.  Codes without a label stay visible but are
marked as identifiers (the template puts them in translate="no")."""
from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from ..web.i18n import pick
from .labels import GRADES, STATES

ACTIONS: dict[str, tuple[str, str]] = {
    "annual.acknowledge": ("确认收到年度考核通知", "Annual notice acknowledged"),
    "annual.appeal.extend": ("延长申诉办理期限", "Appeal deadline extended"),
    "annual.appeal.filed": ("提出申诉", "Appeal filed"),
    "annual.appeal.review_filed": ("申请复核", "Review requested"),
    "annual.appeal.upheld": ("维持原决定", "Decision upheld"),
    "annual.appeal.reversed": ("改变原决定", "Decision reversed"),
    "annual.compute": ("计算年度考核结果", "Annual results computed"),
    "annual.confirm": ("确定年度考核等次", "Annual grades confirmed"),
    "annual.file": ("年度考核结果备案", "Annual results filed with the level above"),
    "annual.grade.adjust": ("考核委员会调整等次", "Grade set by the committee"),
    "annual.grade.appeal_change": ("申诉后变更等次", "Grade changed after an appeal"),
    "annual.notify": ("书面通知考核结果", "Results notified in writing"),
    "annual.open": ("开启年度考核", "Annual assessment opened"),
    "annual.org_grade": ("登记组织绩效等次", "Organisational grade recorded"),
    "annual.pay.change": ("绩效奖金变更", "Performance pay changed"),
    "annual.publicise": ("优秀等次人选公示", "Excellent candidates publicly posted"),
    "annual.record.investigation_closed": ("立案审查结案", "Investigation closed"),
    "annual.record.leave": ("登记病事假", "Leave recorded"),
    "annual.record.investigation": ("登记立案审查", "Investigation recorded"),
    "annual.record.sanction": ("登记处分或组织处理", "Sanction recorded"),
    "annual.record.refusal": ("登记不参加考核", "Refusal recorded"),
    "annual.reopen": ("重新开启年度考核", "Annual assessment reopened"),
    "annual.review": ("登记年度审核评鉴", "Annual review recorded"),
    "annual.special.close": ("关闭专项考核", "Special assessment closed"),
    "annual.special.create": ("新建专项考核", "Special assessment created"),
    "annual.special.result": ("登记专项考核结果", "Special assessment result recorded"),
    "annual.talk.record": ("登记谈话", "Talk recorded"),
    "auth.token_issued": ("签发接口令牌", "API token issued"),
    "auth.token_revoked": ("吊销接口令牌", "API token revoked"),
    "ballots.codes.issue": ("发放测评码", "Ballot codes issued"),
    "ballots.session.close": ("结束民主测评", "Ballot closed"),
    "ballots.session.open": ("开始民主测评", "Ballot opened"),
    "grant.create": ("授予权限", "Role granted"),
    "grant.revoke": ("收回权限", "Role revoked"),
    "notify.channel.add": ("添加通知渠道", "Notification channel added"),
    "notify.channel.remove": ("移除通知渠道", "Notification channel removed"),
    "notify.channel.test": ("测试通知渠道", "Notification channel tested"),
    "org.create": ("新建机构", "Organisation created"),
    "org.move": ("移动机构", "Organisation moved"),
    "org.update": ("修改机构", "Organisation changed"),
    "people.roster.changes": ("人员信息变更", "Roster changes"),
    "people.roster.charges": ("分管关系变更", "Leader charges changed"),
    "people.roster.import": ("导入花名册", "Roster imported"),
    "policy.allocation.release": ("收回名额分配", "Quota allocation released"),
    "policy.allocation.set": ("分配名额", "Quota allocated"),
    "policy.org_grade.clear": ("清除组织绩效等次", "Organisational grade cleared"),
    "policy.org_grade.set": ("设定组织绩效等次", "Organisational grade set"),
    "policy.pack.remove": ("移除政策配置包", "Policy pack removed"),
    "policy.pack.set": ("载入政策配置包", "Policy pack loaded"),
    "policy.quota_approval.approve": ("批准优秀比例", "Excellence rate approved"),
    "policy.quota_approval.revoke": ("撤销优秀比例批准", "Excellence rate approval revoked"),
    "policy.set": ("修改政策设置", "Policy setting changed"),
    "policy.clear": ("恢复继承的政策设置", "Policy setting reset to the inherited value"),
    "policy.lock": ("锁定政策设置", "Policy setting locked"),
    "policy.unlock": ("解除政策设置锁定", "Policy setting unlocked"),
    "policy.bound": ("设定下级取值范围", "Bounds set for the levels below"),
    "policy.unbound": ("取消下级取值范围", "Bounds removed for the levels below"),
    "routine.assignment.save": ("保存评价关系", "Rating assignments saved"),
    "routine.cap_tie.resolve": ("决定“好”等次名额并列", "Tie at the cap on Good decided"),
    "routine.attendance.sign": ("考勤签到签退", "Attendance signed"),
    "routine.correction.request": ("申请更正", "Correction requested"),
    "routine.correction.approve": ("批准更正", "Correction approved"),
    "routine.correction.reject": ("驳回更正", "Correction rejected"),
    "routine.event.record": ("登记加减分事项", "Add/subtract event recorded"),
    "routine.event.void": ("作废加减分事项", "Add/subtract event voided"),
    "routine.indicator.save": ("保存考核指标", "Indicators saved"),
    "routine.metric.import": ("导入量化指标", "Metrics imported"),
    "routine.peer_group.save": ("保存互评小组", "Peer group saved"),
    "routine.period.amend": ("补充更正考核周期", "Period amended"),
    "routine.period.compute": ("计算平时考核结果", "Routine results computed"),
    "routine.period.create": ("新建考核周期", "Period created"),
    "routine.period.transition": ("考核周期状态变更", "Period state changed"),
    "routine.rating.adjust": ("调整评价", "Rating adjusted"),
    "routine.rating.submit": ("提交评价", "Rating submitted"),
    "routine.result.feedback": ("反馈考核结果", "Result feedback given"),
    "routine.scheme.save": ("保存考核方案", "Scheme saved"),
    "routine.task.close": ("关闭评价任务", "Rating task closed"),
    "routine.work_record.comment": ("点评工作纪实", "Work record commented"),
    "supervision.reminder.acknowledge": ("确认督办提醒", "Reminder acknowledged"),
    "supervision.reminder.send": ("发送督办提醒", "Reminder sent"),
    "user.create": ("新建账号", "Account created"),
    "user.password": ("修改密码", "Password changed"),
    "user.update": ("修改账号", "Account changed"),
}

TARGETS: dict[str, tuple[str, str]] = {
    "person": ("人员", "person"), "annual_assessment": ("年度考核", "annual assessment"),
    "routine_period": ("考核周期", "period"), "user": ("账号", "account"), "org": ("机构", "organisation"),
    "org_node": ("机构", "organisation"), "annual_appeal": ("复核申诉", "review or appeal"),
    "roster_import": ("花名册导入", "roster import"), "policy_setting": ("政策设置", "policy setting"),
    "notify_channel": ("通知渠道", "notification channel"), "ballot_session": ("民主测评", "ballot"),
    "special_campaign": ("专项考核", "special assessment"), "routine_rating": ("评价", "rating"),
    "routine_event": ("加减分事项", "add/subtract event"), "routine_correction": ("更正申请", "correction"),
    "reminder": ("督办提醒", "reminder"), "quota_approval": ("优秀比例批准", "excellence-rate approval"),
    "quota_allocation": ("名额分配", "quota allocation"),
    "org_performance_grade": ("组织绩效等次", "organisational grade"), "api_token": ("接口令牌", "API token"),
    "routine_attendance": ("考勤记录", "attendance record"),
    "routine_work_record": ("工作纪实", "work record"), "routine_task": ("评价任务", "rating task"),
    "routine_scheme": ("考核方案", "scheme"), "routine_result": ("平时考核结果", "routine result"),
    "routine_peer_group": ("互评小组", "peer group"), "routine_indicator": ("考核指标", "indicator"),
    "audit_lane": ("审计日志", "audit log"), "annual_outcome": ("年度考核结果", "annual result"),
}

FIELDS: dict[str, tuple[str, str]] = {
    "year": ("年度", "year"), "units": ("单位数", "units"), "people": ("人数", "people"),
    "skipped": ("未改动的单位", "units left unchanged"), "runs": ("计算批次", "runs"),
    "person": ("人员", "person"), "ratee": ("被评价人", "person rated"), "rater": ("评价人", "rater"),
    "grade": ("等次", "grade"), "new_grade": ("新等次", "new grade"), "old_grade": ("原等次", "previous grade"),
    "proposed_grade": ("建议等次", "proposed grade"), "recommended_grade": ("建议等次", "recommended grade"),
    "score": ("分数", "score"), "pay_cents": ("绩效奖金（元）", "performance pay (yuan)"),
    "decide_by": ("办理期限", "decide by"), "decided_on": ("决定日期", "decided on"),
    "filed_on": ("提出日期", "filed on"), "decider": ("受理机构", "deciding body"), "route": ("途径", "route"),
    "stage": ("环节", "stage"), "status": ("状态", "status"), "state": ("状态", "state"),
    "from": ("原状态", "from"), "to": ("新状态", "to"), "kind": ("类别", "kind"), "period": ("考核周期", "period"),
    "comment": ("评语", "comment"), "scores": ("各项评价", "scores"), "scores_digest": ("评价摘要", "scores (digest)"),
    "reason": ("理由", "reason"), "name": ("名称", "name"), "name_en": ("英文名称", "English name"),
    "code": ("代码", "code"), "parent": ("上级", "parent"), "value": ("值", "value"), "locked": ("锁定", "locked"),
    "bounds": ("取值范围", "bounds"), "username": ("用户名", "username"), "role": ("角色", "role"),
    "org": ("机构", "organisation"), "active": ("有效", "active"), "rate": ("比例", "rate"),
    "quota": ("名额", "quota"), "count": ("数量", "count"), "created": ("新增", "created"),
    "updated": ("更新", "updated"), "unchanged": ("未变", "unchanged"), "rows": ("行数", "rows"),
    "topic": ("事项", "topic"), "message": ("内容", "message"), "version": ("版本", "version"),
    "points": ("分值", "points"), "occurred_on": ("发生日期", "date"), "days": ("天数", "days"),
    "sign_in_at": ("签到时间", "signed in at"), "sign_out_at": ("签退时间", "signed out at"),
    "notice_on": ("通知日期", "notice date"), "start": ("开始日期", "start"), "until": ("截止日期", "until"),
}

FIELDS.update({
    # the indicator library and schemes (policy.indicators, routine schemes)
    "indicators": ("指标", "indicators"), "category": ("类别", "category"), "dimension": ("维度", "dimension"),
    "mandatory": ("必选", "mandatory"), "max": ("最高分", "maximum"), "levels": ("各档分值", "points per level"),
    "per": ("每次分值", "points per occurrence"), "cap": ("上限", "cap"), "veto": ("否决效果", "veto effect"),
    "cap_grade": ("封顶等次", "capped grade"), "type": ("方式", "type"), "target": ("目标值", "target"),
    "steps": ("分段", "steps"), "slope": ("斜率", "slope"), "intercept": ("截距", "intercept"),
    "basis": ("计分方式", "basis"), "total": ("总分", "total"), "sections": ("板块", "sections"),
    "weight": ("权重", "weight"), "free": ("免计次数", "free occurrences"), "extra": ("附加", "extra"),
    "you": ("优", "Excellent"), "liang": ("良", "Good"), "zhong": ("中", "Fair"), "cha": ("差", "Poor"),
})
FIELDS.update({
    "amount_per_person": ("每人标准（元）", "amount per person (yuan)"), "formula": ("分配办法", "formula"),
    "paid": ("发放人数", "people paid"), "unit_value": ("每分金额（元）", "value of a point (yuan)"),
    "rounding": ("取整方式", "rounding"), "execution": ("执行力", "execution"),
})
VALUES: dict[str, tuple[str, str]] = {
    "score_share": ("按分值分配", "share of the score pool"), "grade_coefficient": ("按等次系数", "grade coefficient"),
    "largest_remainder": ("最大余数法", "largest remainder"), "bonus": ("加分", "bonus"), "deduction": ("减分", "deduction"),
    "you": ("优", "Excellent"), "liang": ("良", "Good"), "zhong": ("中", "Fair"), "cha": ("差", "Poor"),
}
# codes of the indicator library (policy.indicators) and of schemes
VALUES.update({
    "graded": ("等次评分", "graded"), "scored": ("直接打分", "scored"), "veto": ("一票否决", "veto"),
    "data": ("数据导入", "data-fed"), "zero": ("总分计零", "total set to 0"), "grade_cap": ("等次封顶", "grade capped"),
    "ratio": ("按目标比例", "ratio to target"), "threshold": ("分段计分", "steps"), "linear": ("线性计分", "linear"),
    "points": ("按分值", "by points"), "weight": ("按权重", "by weight"),
})
ROUTES = {"after_review": ("复核后申诉", "after a review"), "direct": ("直接申诉", "directly")}
STAGES = {"review": ("复核", "review"), "appeal": ("申诉", "appeal")}


def action_label(code: str | None) -> str | None:
    """The action in words, or None when there is no label (the page then shows the code)."""
    zh_en = ACTIONS.get(code or "")
    return pick(*zh_en) if zh_en else None


def target_label(code: str | None) -> str | None:
    zh_en = TARGETS.get(code or "")
    return pick(*zh_en) if zh_en else None


def _grade(v: str) -> str | None:
    for table in GRADES.values():
        if v in table:
            return pick(*table[v])
    return None


def _value(key: str, v: Any, names: dict[int, str]) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return pick("是", "yes") if v else pick("否", "no")
    if key.endswith("_cents") and isinstance(v, (int, float)):
        return f"{v / 100:,.2f}"
    if key in ("person", "ratee", "rater") and isinstance(v, int):
        return names.get(v, f"#{v}")
    if isinstance(v, str):
        if key == "route" and v in ROUTES:
            return pick(*ROUTES[v])
        if key in ("stage",) and v in STAGES:
            return pick(*STAGES[v])
        if key in ("state", "status", "from", "to") and v in STATES:
            return pick(*STATES[v])
        if key == "kind":
            from ..routine.calc import RATER_LABELS

            if v in RATER_LABELS:
                return pick(*RATER_LABELS[v])
            from ..tenancy.models import KIND_LABELS, OrgKind

            if v in OrgKind._value2member_map_:   # an org node's kind (agency, township ...)
                return pick(*KIND_LABELS[OrgKind(v)])
        if key in ("role", "roles"):
            from ..auth.roles import ROLE_LABELS, Role

            if v in Role._value2member_map_:
                return pick(*ROLE_LABELS[Role(v)])
        if key in ("category", "dimension"):
            from ..routine.calc import DIMENSION_LABELS

            if v in DIMENSION_LABELS:
                return pick(*DIMENSION_LABELS[v])
        if v in VALUES:
            return pick(*VALUES[v])
        from ..policy.registry import CHOICE_LABELS

        if v in CHOICE_LABELS:   # a policy setting's choice (e.g. pay.contributors: paid / assessed)
            return pick(*CHOICE_LABELS[v])
        g = _grade(v) if "grade" in key or key in ("value",) else None
        return g or v
    if isinstance(v, dict):  # nested: grade tallies, indicator scores, pay parameters
        parts = []
        for k, x in v.items():
            label, known = field_label(k)
            g = _grade(k)
            head = escape(g) if g else (escape(label) if known else Markup('<code translate="no">{}</code>').format(k))
            parts.append(head + Markup(" ") + escape(_value(k, x, names)))
        return Markup(escape(pick("；", "; "))).join(parts)
    if isinstance(v, (list, tuple)):
        # Markup join: a nested entry's marked-up codes stay markup, not visible tags
        return Markup(escape(pick("、", ", "))).join(_value(key, x, names) for x in v) or "—"
    return str(v)


def field_label(key: str) -> tuple[str, bool]:
    """(label, known): an unknown key is returned as it is, flagged so the page marks it as a code."""
    zh_en = FIELDS.get(key)
    return (pick(*zh_en), True) if zh_en else (key, False)


def fields(data: Any, names: dict[int, str] | None = None) -> list[dict]:
    """A before/after value as rows {label, known, value} for the page."""
    names = names or {}
    if data is None:
        return []
    if not isinstance(data, dict):
        return [{"label": "", "known": True, "value": _value("value", data, names)}]
    rows = []
    for k, v in data.items():
        if k in RECONCILE_ONLY:
            continue
        if k == "audited" and isinstance(v, dict):
            # the per-person after-state kept for `kaohe audit reconcile`: its size, not its ids
            rows.append({"label": pick("逐人结果", "results per person"), "known": True,
                         "value": pick(f"{len(v)} 人", f"{len(v)} people")})
            continue
        label, known = field_label(k)
        rows.append({"label": label, "known": known, "value": _value(k, v, names)})
    return rows


# Keys an entry carries for `kaohe audit reconcile` (which row it describes), not for reading.
RECONCILE_ONLY = frozenset({"assessment_id"})


def person_ids(entries) -> set[int]:
    """Person ids named in the entries' before/after (for one name query)."""
    ids: set[int] = set()
    for e in entries:
        if e.target_type == "person" and str(e.target_id or "").isdigit():
            ids.add(int(e.target_id))
        for d in (e.before, e.after):
            if isinstance(d, dict):
                ids.update(v for k, v in d.items() if k in ("person", "ratee", "rater") and isinstance(v, int))
    return ids
