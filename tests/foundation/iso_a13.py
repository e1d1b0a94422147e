"""Isolation cases of the routes of issue 13's second branch: a person's
page and transfer, the earlier years' grades import, and the platform
operator's provinces page (unscoped: operator only, anyone else 403)."""

OTHERS = ("k1policy", "t1admin", "countysup")


def cases(case):
    return [
        # -- a person's page and the transfer (roster permission on both units) --------------------
        case("person.transfer_page", "GET", "/people/persons/{person}/transfer", actor="t1admin", ok=200,
             denied=("t1staff",)),
        case("person.transfer_page", "POST", "/people/persons/{person}/transfer", actor="t1admin", ok=(302, 422),
             body={"target": "{org}:{org}", "reason": "调动"}, denied=("t1staff",)),
        case("people_transfer.person_transfer", "POST", "/api/v1/people/{person}/transfer", actor="t1admin",
             ok=(201, 422), body={"to_unit_id": "{org}", "reason": "调动"}, denied=("t1staff",)),
        # -- earlier years' annual grades ---------------------------------------------------------
        case("annual.history_page", "GET", "/annual/unit/{org}/history", actor="t1admin", ok=200, denied=("t1staff",)),
        case("annual.history_page", "POST", "/annual/unit/{org}/history", actor="t1admin", ok=422, body={},
             denied=("t1staff",)),
        case("annual.history_template_page", "GET", "/annual/unit/{org}/history-template.xlsx", actor="t1admin",
             ok=200, denied=("t1staff",)),
        case("annual_history.history_template", "GET", "/api/v1/annual/units/{org}/history-template",
             actor="t1admin", ok=200, denied=("t1staff",)),
        case("annual_history.history_upload", "POST", "/api/v1/annual/units/{org}/history", actor="t1admin",
             ok=422, denied=("t1staff",)),
        # -- the operator's provinces (no tenant object in the URL: operator or 403) -----------------
        case("provinces.provinces_page", "GET", "/platform/provinces", actor="operator", ok=200, denied=OTHERS),
        case("provinces.provinces_load", "POST", "/platform/provinces/load", actor="operator", ok=422,
             body={"pack": "no-such-pack"}, denied=OTHERS),
        case("provinces.province_admin_page", "POST", "/platform/provinces/1/admins", actor="operator",
             ok=(404, 422), body={}, denied=OTHERS),
        case("provinces_api.packs_get", "GET", "/api/v1/platform/packs", actor="operator", ok=200, denied=OTHERS),
        case("provinces_api.packs_load", "POST", "/api/v1/platform/packs/load", actor="operator", ok=422,
             body={"pack": "no-such-pack"}, denied=OTHERS),
        case("provinces_api.province_admin_create", "POST", "/api/v1/platform/provinces/1/admins", actor="operator",
             ok=(201, 404), body={"username": "iso-{uniq}", "display_name": "省管理员"}, denied=OTHERS),
    ]
