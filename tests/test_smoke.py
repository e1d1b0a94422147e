"""First checks that the harness and the core wiring hold on both databases."""


def test_login_home_tree(world, login, backend):
    import re

    b = login("t1admin")
    html = b.get("/").get_data(as_text=True)
    # What the page shows, without attribute values (a CSRF token may well
    # contain "T2" by chance).
    shown = re.sub(r'\s[\w:-]+="[^"]*"', "", html)
    assert re.search(r">T1<", shown)
    assert not re.search(r"\bT2\b", shown)  # the sibling township is invisible


def test_sibling_is_404(world, login, backend):
    b = login("t1admin")
    assert b.get(f"/orgs/{world.ids['P1-T1']}").status_code == 200
    assert b.get(f"/orgs/{world.ids['P1-T2']}").status_code == 404
    assert b.get(f"/orgs/{world.ids['P2-T1']}").status_code == 404


def test_api_token_and_scope(world, client, api_token, backend):
    h = api_token("countysup")
    ids = {o["code"] for o in client.get("/api/v1/orgs", headers=h).get_json()}
    assert {"K1", "T1", "T2", "T1-D1"} <= ids
    assert not ids & {"K2", "T3", "T4", "P2-T1", "C2"}
    assert client.get(f"/api/v1/orgs/{world.ids['P1-T3']}", headers=h).status_code == 404
    assert client.get("/api/v1/orgs").status_code == 401
