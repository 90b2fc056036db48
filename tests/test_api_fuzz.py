"""Bad input never gets a 500: random bodies, envelopes, arguments and signatures
(hypothesis, about 2,600 cases). Temporal is unreachable here on purpose, so every
well-formed call also exercises the 'pending' path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from retell.lib.webhook_auth import symmetric

from api.functions import FUNCTIONS
from api.main import create_app
from config import Settings

KEY = "key_test_fuzz_0123456789"
ERRORS = {
    None,
    "unknown_service",
    "invalid_date",
    "invalid_time",
    "in_the_past",
    "closed_day",
    "outside_opening_hours",
}
BOOKING_STATUSES = {
    "booked",
    "pending",
    "slot_taken",
    "hold_expired",
    "failed",
    "invalid_input",
    "no_booking",
}
FUZZ = settings(
    max_examples=700,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def client():
    app = create_app(
        Settings.model_validate(
            {
                "retell_api_key": KEY,
                "temporal_address": "127.0.0.1:1",  # nobody listens: Temporal is "down"
                "check_budget_seconds": 0.05,
                "booking_budget_seconds": 0.05,
            }
        )
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def post_signed(client: TestClient, payload: Any, path: str = "/retell/functions"):
    body = json.dumps(payload, ensure_ascii=False)
    return client.post(
        path,
        content=body.encode(),
        headers={"X-Retell-Signature": symmetric["sign"](body, KEY)},
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
spoken = st.sampled_from(
    [
        "morgen",
        "übermorgen",
        "heute",
        "Mittwoch",
        "nächsten Dienstag",
        "26.11.",
        "31.02.2026",
        "2026-13-01",
        "halb elf",
        "viertel vor zwölf",
        "25 Uhr",
        "10:75",
        "Dauerwelle",
        "Färben",
        "Faerben",
        "eine Dauerwelle bitte",
        "Maniküre",
        "",
        " ",
        "S C H M I D T",
        "Siegfried Cäsar Heinrich",
        "0",
        "-1",
        "1e309",
        "\x00",
        "🙂",
    ]
)
arg_value = spoken | st.text(max_size=60) | st.integers() | st.none() | st.booleans()
arg_keys = st.sampled_from(
    [
        "service",
        "date",
        "time",
        "dienstleistung",
        "datum",
        "uhrzeit",
        "customer_name",
        "customer_phone",
        "customer_email",
        "seconds",
        "unknown",
    ]
)


@FUZZ
@given(payload=json_values)
def test_any_signed_json_body_is_answered_without_500(client, payload):
    response = post_signed(client, payload)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.json()["detail"]


@FUZZ
@given(
    name=st.sampled_from(FUNCTIONS),
    args=st.dictionaries(arg_keys, arg_value, max_size=6),
    call_id=st.text(min_size=1, max_size=40).filter(str.strip),
)
def test_any_arguments_get_a_documented_german_answer(client, name, args, call_id):
    response = post_signed(client, {"name": name, "args": args, "call": {"call_id": call_id}})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert isinstance(answer["message"], str) and answer["message"].strip()
    if "available" in answer:
        assert answer["error"] in ERRORS
        assert answer["available"] is False  # Temporal is down: nothing can be held
    else:
        assert answer["status"] in BOOKING_STATUSES
        assert answer["booked"] is False


@FUZZ
@given(body=st.binary(max_size=200), header=st.none() | st.text(max_size=90))
def test_garbage_bytes_and_signatures_are_rejected_cleanly(client, body, header):
    headers = {} if header is None else {"X-Retell-Signature": header}
    for path in ("/retell/functions", "/retell/webhook"):
        try:
            response = client.post(path, content=body, headers=headers)
        except UnicodeEncodeError:
            return  # httpx refuses a non-latin-1 header before it is sent
        assert response.status_code == 401


@settings(max_examples=500, deadline=None)
@given(payload=json_values)
def test_any_signed_webhook_body_is_acknowledged_or_rejected_without_500(client, payload):
    response = post_signed(client, payload, "/retell/webhook")
    assert response.status_code in (204, 422), response.text
