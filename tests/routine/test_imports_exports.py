"""xlsx in: values for data-fed indicators (the results export is the
supervision slice's `routine.results`)."""
from __future__ import annotations

import io

from openpyxl import Workbook

API = "/api/v1/routine"


def _xlsx(rows):
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def test_metrics_xlsx(rt):
    url = f"{API}/periods/{rt.period_id}/metrics.xlsx"
    resp = rt.client.post(url, data={"file": (_xlsx([["who", "what"], [1, 2]]), "m.xlsx")},
                          headers=rt.h("admin"), content_type="multipart/form-data")
    assert resp.status_code == 422 and "staff_no" in resp.get_json()["errors"]["file"][0]
    resp = rt.client.post(url, data={"file": (io.BytesIO(b"not a workbook"), "m.xlsx")},
                          headers=rt.h("admin"), content_type="multipart/form-data")
    assert resp.status_code == 422 and "file" in resp.get_json()["errors"]
    resp = rt.client.post(url, data={"file": (_xlsx([["staff_no", "indicator_code", "value"],
                                                    ["d1staff", "work", 5]]), "m.xlsx")},
                          headers=rt.h("admin"), content_type="multipart/form-data")
    assert resp.status_code == 422 and "rows.0.indicator_code" in resp.get_json()["errors"]
