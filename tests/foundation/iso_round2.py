"""Isolation cases of the routes added in the second round: accounts and
activation (issue 13), job retry (issue 14), routine exemptions (issue 12),
alert lists, registration forms and the unit report (issue 17).  Own subtree
answers one of ``ok``; sibling, cousin, other city and other province 404."""
from .iso_routine import API, REVIEW, T


def cases(case, annual):
    """``annual``: the targets that make the 2026 assessment and its objects at each unit."""
    return [
        # -- accounts: one's own password, activation (no login), provisioning, person links ----
        case("accounts.password_change", "GET", "/account/password", actor="t1admin", ok=200, leak=True),
        case("accounts.password_change", "POST", "/account/password", actor="t1admin", ok=(200, 302, 422),
             body={}, leak=True),
        case("activation.activate", "GET", "/activate", public=True, ok=200, leak=True),
        case("activation.activate", "POST", "/activate", public=True, ok=(200, 302, 422), body={}, leak=True),
        case("accounts.unit_accounts", "GET", "/units/{org}/accounts", actor="t1admin", ok=200,
             denied=("t1staff",)),
        case("accounts.unit_accounts", "POST", "/units/{org}/accounts", actor="t1admin", ok=(200, 302, 422),
             body={}, denied=("t1staff",)),
        case("accounts_provision.provision_api", "POST", "/api/v1/people/units/{org}/accounts", actor="t1admin",
             ok=(201, 200, 422), body={"mode": "code"}, denied=("t1staff",)),
        case("people_accounts.user_person_link", "PUT", "/api/v1/users/{user}/person", actor="t1admin",
             ok=(200, 409, 422), body={"person_id": "{person}"}),
        case("people_accounts.user_person_unlink", "DELETE", "/api/v1/users/{user}/person", actor="t1admin",
             ok=(200, 204, 409, 422)),
        # -- jobs: retry (only a failed job; this one is not) --------------------------------------
        case("jobs.job_retry", "POST", "/api/v1/jobs/{job}/retry", actor="t1admin", ok=(201, 409), body={}),
        # -- routine: a per-person exemption from the page ------------------------------------------
        case("routine.period_exempt", "POST", REVIEW + "/exemptions", actor="t1admin", ok=(302, 422),
             body={"person_id": "{person}", "reason": "病假，无法评价"}, denied=("countysup", "t1staff"),
             targets=T("period_review")),
        case("routine_api.Exemptions", "GET", API + "/periods/{period_review}/exemptions", actor="t1admin", ok=200,
             denied=("t1staff",), targets=T("period_review")),
        case("routine_api.Exemptions", "POST", API + "/periods/{period_review}/exemptions", actor="t1admin",
             ok=(201, 409, 422), body={"person_id": "{person}", "reason": "病假，无法评价"}, denied=("t1staff",),
             targets=T("period_review")),
        case("routine_api.exemption_revoke", "POST", API + "/periods/{period_review}/exemptions/{person}/revoke",
             actor="t1admin", ok=(200, 201, 204, 409, 422), body={"reason": "已补评"}, denied=("t1staff",),
             targets=T("period_review")),
        case("routine_api.period_inputs", "GET", API + "/periods/{period_review}/inputs", actor="t1admin", ok=200,
             denied=("t1staff",), targets=T("period_review")),
        # -- routine: the talk record of a talk task ---------------------------------------------
        case("routine.task_page", "GET", "/routine/tasks/{task}", actor="t1staff", ok=200, targets=T("task")),
        case("routine.task_page", "POST", "/routine/tasks/{task}", actor="t1staff", ok=(200, 302, 422), body={},
             targets=T("task")),
        case("routine_api.task_talk_get", "GET", API + "/tasks/{task}/talk", actor="t1staff", ok=(200, 404),
             targets=T("task")),
        case("routine_api.task_talk", "POST", API + "/tasks/{task}/talk", actor="t1staff", ok=(201, 200, 409, 422),
             body={"talked_on": "2026-01-05", "talked_by": "李分管", "content": "谈话内容"}, targets=T("task")),
        # -- pages: retry a job, link an account to a person ----------------------------------------
        case("web.job_retry_page", "POST", "/jobs/{job}/retry", actor="t1admin", ok=302, body={}),
        case("web.user_person", "POST", "/users/{user}/person", actor="t1admin", ok=302, body={"action": "unlink"}),
        # -- annual: alert lists and the registration forms ----------------------------------------
        case("annual.alerts_page", "GET", "/annual/alerts/{org}", actor="t1admin", ok=200, denied=("t1staff",)),
        case("annual.alerts_xlsx", "GET", "/annual/alerts/{org}.xlsx", actor="t1admin", ok=200, denied=("t1staff",)),
        case("annual_api.alerts_get", "GET", "/api/v1/annual/alerts/{org}", actor="t1admin", ok=200,
             denied=("t1staff",)),
        case("annual.regform_page", "GET", "/annual/unit/{org}/2026/regform/{person}", actor="t1admin", ok=200, targets=annual),
        case("annual.regform_docx", "GET", "/annual/unit/{org}/2026/regform/{person}.docx", actor="t1admin", ok=200, targets=annual),
        case("annual.regforms_page", "GET", "/annual/unit/{org}/2026/regforms", actor="t1admin", ok=200,
             denied=("t1staff",), targets=annual),
        case("annual.regforms_docx", "GET", "/annual/unit/{org}/2026/regforms.docx", actor="t1admin", ok=200,
             denied=("t1staff",), targets=annual),
        # -- supervision: the one-page unit report --------------------------------------------------
        case("supervision.unit_report_page", "GET", "/supervision/report/{org}", actor="t1admin", ok=200,
             denied=("t1staff",)),
        case("supervision.unit_report_xlsx", "GET", "/supervision/report/{org}.xlsx", actor="t1admin", ok=200,
             denied=("t1staff",)),
    ]
