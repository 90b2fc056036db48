"""The operator endpoints behind ``OPS_TOKEN``: a call's state (it holds the customer's
name and phone), the API's docs and OpenAPI document, metrics. Probes stay open. Real
Temporal, worker, PostgreSQL and Cal.com simulator behind the API."""

from __future__ import annotations

import base64

from tests.harness import next_open_day, unique
from tests.test_api import OPS_TOKEN, api, fn, german_date, settings_for

PROTECTED = ("/calls/{call_id}", "/docs", "/openapi.json", "/metrics")


def basic(password: str, user: str = "ops") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


WRONG = {
    "no header": {},
    "wrong token": {"Authorization": "Bearer ops_wrong_token_1234567"},
    "token with a suffix": {"Authorization": f"Bearer {OPS_TOKEN}x"},
    "token prefix only": {"Authorization": f"Bearer {OPS_TOKEN[:-1]}"},
    "no scheme": {"Authorization": OPS_TOKEN},
    "other scheme": {"Authorization": f"Token {OPS_TOKEN}"},
    "basic, wrong password": basic("nope"),
    "empty bearer": {"Authorization": "Bearer "},
}


async def _booked_call(http) -> str:
    call_id = unique("api-ops")
    day = next_open_day(hour=12)
    args = {"service": "Föhnen", "date": german_date(day), "time": "12 Uhr"}
    assert (await fn(http, call_id, "check_availability", args))["available"]
    booked = await fn(http, call_id, "start_booking", {"customer_name": "Renate Quandt"})
    assert booked["booked"]
    return call_id


async def test_the_ops_endpoints_answer_only_with_the_token(stack, temporal_client):
    async with api(settings_for(stack.task_queue), temporal_client) as http:
        call_id = await _booked_call(http)
        paths = [p.format(call_id=call_id) for p in PROTECTED]
        for path in paths:
            for case, headers in WRONG.items():
                response = await http.get(path, headers=headers)
                assert response.status_code == 401, (path, case)
                assert "Bearer" in response.headers["www-authenticate"]
                assert "Quandt" not in response.text
        bearer = {"Authorization": f"Bearer {OPS_TOKEN}"}
        state = await http.get(paths[0], headers=bearer)
        assert (
            state.status_code == 200 and state.json()["booking"]["customer_name"] == "Renate Quandt"
        )
        docs = await http.get("/docs", headers=basic(OPS_TOKEN))  # what a browser sends
        assert docs.status_code == 200 and "swagger-ui" in docs.text
        document = await http.get("/openapi.json", headers=bearer)
        assert document.status_code == 200
        assert {"/calls/{call_id}", "/metrics", "/retell/functions"} <= set(
            document.json()["paths"]
        )
        assert "HTTPBearer" in document.json()["components"]["securitySchemes"]
        metrics = await http.get("/metrics", headers=bearer)
        assert metrics.status_code == 200 and "api_requests_total" in metrics.text
        for probe in ("/healthz", "/readyz"):
            assert (await http.get(probe)).status_code == 200, probe


async def test_without_a_configured_token_the_ops_endpoints_are_closed(stack, temporal_client):
    settings = settings_for(stack.task_queue, ops_token=None)
    async with api(settings, temporal_client) as http:
        call_id = await _booked_call(http)
        for path in (p.format(call_id=call_id) for p in PROTECTED):
            for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer None"}):
                response = await http.get(path, headers=headers)
                assert response.status_code == 401, path
                assert "OPS_TOKEN is not configured" in response.json()["detail"]
        assert (await http.get("/healthz")).status_code == 200
