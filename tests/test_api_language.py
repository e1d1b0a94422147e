"""Issue 16: an API answer's messages are in the request's language (the
session's choice for a page's script, else Accept-Language, else English)."""
from __future__ import annotations

YEAR = 2026


def test_api_errors_in_the_request_language(client, world, api_token):
    hdr = api_token("countysup")
    url = f"/api/v1/annual/units/{world.ids['P1-K1']}/{YEAR}"   # a county: not an assessment unit

    en = client.get(url, headers=hdr)
    assert en.status_code == 422
    assert en.get_json()["errors"]["org_id"] == ["This node is not an assessment unit."]
    assert en.get_json()["message"] == "The input is not valid."

    zh = client.get(url, headers={**hdr, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert zh.status_code == 422
    assert zh.get_json()["errors"]["org_id"] == ["该节点不是考核单位（本机关）。"]
    assert zh.get_json()["message"] == "输入内容不符合要求。"

    # an English-speaking client keeps English; the field keys stay codes (they are the API's contract)
    assert client.get(url, headers={**hdr, "Accept-Language": "en-GB,en;q=0.8"}).get_json() == en.get_json()


def test_marshmallow_messages_follow_the_request_language(client, world, api_token):
    hdr = {**api_token("t1admin"), "Accept-Language": "zh"}
    r = client.post(f"/api/v1/annual/units/{world.ids['P1-T1']}/{YEAR}/adjustments", json={}, headers=hdr)
    assert r.status_code == 422, r.get_json()
    msgs = [m for ms in r.get_json()["errors"].values() for m in ms]
    assert msgs and all(not any("a" <= ch.lower() <= "z" for ch in m) for m in msgs), msgs
