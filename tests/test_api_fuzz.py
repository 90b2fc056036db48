"""Bad input never gets a 500: random bodies, envelopes, arguments and signatures, raw
bytes and text, deep nesting, duplicate keys, oversized bodies, broken headers
(hypothesis, about 6,000 cases). Temporal is unreachable here on purpose, so every
well-formed call also exercises the 'pending' path."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from retell.lib.webhook_auth import symmetric

from api.envelope import FUNCTIONS
from api.main import create_app
from config import Settings

KEY = "key_test_fuzz_0123456789"
CALCOM_SECRET = "whsec_fuzz"
LIMIT = 16384  # API_MAX_BODY_BYTES here: oversized bodies stay cheap to generate
POST_ROUTES = ("/retell/functions", "/retell/webhook", "/calcom/webhook")
ERRORS = {
    None,
    "unknown_service",
    "invalid_date",
    "invalid_time",
    "in_the_past",
    "closed_day",
    "outside_opening_hours",
    "too_far_ahead",
    # check_availability with an appointment_id
    "unknown_appointment",
    "too_late",
    "unknown_stylist",
}
BOOKING_STATUSES = {
    "booked",
    "pending",
    "slot_taken",
    "hold_expired",
    "failed",
    "invalid_input",
    "no_booking",
    # reschedule_appointment
    "too_late",
    "not_found",
    "ambiguous",
}
CANCEL_STATUSES = {"cancelled", "not_found", "ambiguous", "too_late", "failed", "pending"}
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
                "api_max_body_bytes": LIMIT,
                "calcom_webhook_secret": CALCOM_SECRET,
            }
        )
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def post_signed(client: TestClient, payload: Any, path: str = "/retell/functions"):
    return post_text(client, json.dumps(payload, ensure_ascii=False), path)


def post_text(client: TestClient, body: str, path: str = "/retell/functions", **headers: str):
    """``body`` signed as Retell signs it (Cal.com's signature too on its route)."""
    raw = body.encode()
    signature = hmac.new(CALCOM_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return client.post(
        path,
        content=raw,
        headers={
            "X-Retell-Signature": symmetric["sign"](body, KEY),
            "X-Cal-Signature-256": signature,
            **headers,
        },
    )


def assert_json_problem(response: Any, status: int, phrase: str = "") -> None:
    """A refusal the sender can read: the status, JSON ``{"detail": ...}``."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str) and phrase in detail, detail


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
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
        "bei Anna",
        "egal",
        "Bernd",
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
        "stylist",
        "friseur",
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
    call_id=st.text(min_size=1, max_size=40).filter(
        lambda t: bool(t.strip()) and t.strip().isprintable()
    ),
)
def test_any_arguments_get_a_documented_german_answer(client, name, args, call_id):
    response = post_signed(client, {"name": name, "args": args, "call": {"call_id": call_id}})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert isinstance(answer["message"], str) and answer["message"].strip()
    # Temporal is down: nothing is held, booked, found or cancelled.
    if "available" in answer:
        assert answer["error"] in ERRORS
        assert answer["available"] is False
    elif name == "find_appointments":
        assert answer["appointments"] == []
    elif name == "cancel_appointment":
        assert answer["status"] in CANCEL_STATUSES and answer["cancelled"] is False
    else:
        assert answer["status"] in BOOKING_STATUSES
        assert answer["booked"] is False
        if name == "reschedule_appointment":
            assert "previous_appointment_id" in answer


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


# ---------------------------------------------------------------- raw bodies
@FUZZ
@given(text=st.text(max_size=300))
def test_any_signed_text_is_answered_with_json_never_500(client, text):
    """Signed, so it passes the signature: whatever the text, a JSON answer."""
    for path in POST_ROUTES:
        response = post_text(client, text, path)
        assert response.status_code in (200, 204, 400, 422), (path, response.text)
        if response.status_code in (400, 422):
            assert response.json()["detail"]


@FUZZ
@given(text=st.text(max_size=300) | json_values.map(json.dumps))
def test_the_inbound_webhook_answers_any_signed_body_with_unknown(client, text):
    """Retell takes the call anyway after a failure: never fail this webhook. With
    Temporal down, every signed body gets 200 and the unknown caller's variables."""
    response = post_text(client, text, "/retell/inbound")
    assert response.status_code == 200, response.text
    variables = response.json()["call_inbound"]["dynamic_variables"]
    assert variables["customer_known"] == "false"
    assert all(isinstance(v, str) for v in variables.values())


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300))
def test_garbage_bytes_at_the_calcom_webhook_are_401_or_a_json_refusal(client, body):
    signature = hmac.new(CALCOM_SECRET.encode(), body, hashlib.sha256).hexdigest()
    unsigned = client.post("/calcom/webhook", content=body)
    assert_json_problem(unsigned, 401, "X-Cal-Signature-256")
    signed = client.post(
        "/calcom/webhook", content=body, headers={"X-Cal-Signature-256": signature}
    )
    assert signed.status_code in (200, 400, 422), signed.text
    if signed.status_code != 200:
        assert signed.json()["detail"]


def _nested(depth: int, kinds: list[bool]) -> str:
    """``depth`` levels of arrays and objects (``kinds``: True for an object level)."""
    opening = "".join('{"a":' if kinds[i % len(kinds)] else "[" for i in range(depth))
    closing = "".join("}" if kinds[i % len(kinds)] else "]" for i in reversed(range(depth)))
    return opening + "1" + closing


@settings(max_examples=200, deadline=None)
@given(depth=st.integers(33, 2000), kinds=st.lists(st.booleans(), min_size=1, max_size=5))
def test_json_nested_deeper_than_32_levels_is_400(client, depth, kinds):
    nested = _nested(depth, kinds)
    envelope = f'{{"name":"booking_status","args":{{}},"call":{{"call_id":"c","x":{nested}}}}}'
    for path in POST_ROUTES:
        assert_json_problem(post_text(client, nested, path), 400, "deeper than 32")
        assert_json_problem(post_text(client, envelope, path), 400, "deeper than 32")


@settings(max_examples=100, deadline=None)
@given(depth=st.integers(1, 29), kinds=st.lists(st.booleans(), min_size=1, max_size=5))
def test_json_nested_up_to_32_levels_is_read(client, depth, kinds):
    envelope = (
        '{"name":"booking_status","args":{},'
        f'"call":{{"call_id":"c-depth","x":{_nested(depth, kinds)}}}}}'
    )
    assert post_text(client, envelope).status_code == 200


@FUZZ
@given(
    envelope=st.fixed_dictionaries(
        {
            "name": st.sampled_from(FUNCTIONS),
            "args": st.dictionaries(arg_keys, arg_value, max_size=4),
            "call": st.fixed_dictionaries({"call_id": st.just("c-dup")}),
        }
    ),
    where=st.sampled_from(["top", "args", "call"]),
    key=st.sampled_from(["name", "args", "call", "service", "call_id"]),
    value=json_values,
)
def test_a_key_repeated_in_any_object_is_400_not_the_last_one_wins(
    client, envelope, where, key, value
):
    def obj(d: dict[str, Any], extra: str) -> str:
        items = [f"{json.dumps(k)}:{json.dumps(v, ensure_ascii=False)}" for k, v in d.items()]
        return "{" + ",".join([*items, extra]) + "}"

    repeated = f"{json.dumps(key)}:{json.dumps(value, ensure_ascii=False)}"
    top, args, call = dict(envelope), envelope["args"], envelope["call"]
    inner = {"args": args, "call": call}
    if where == "top":
        body = obj(top, repeated) if key in top else obj(top, repeated + "," + repeated)
    else:
        target = inner[where]
        twice = repeated if key in target else repeated + "," + repeated
        rest = {k: v for k, v in top.items() if k != where}
        body = obj(rest, f'"{where}":{obj(target, twice)}')
    for path in POST_ROUTES:
        assert_json_problem(post_text(client, body, path), 400, "duplicate key")


@settings(max_examples=200, deadline=None)
@given(
    literal=st.sampled_from(
        ["NaN", "Infinity", "-Infinity", "1" * 4301, '"\\ud800"', '"\\udfff x"', '"a\\ud83d"']
    ),
    path=st.sampled_from(POST_ROUTES),
)
def test_numbers_and_escapes_python_cannot_carry_are_400(client, literal, path):
    body = (
        f'{{"name":"check_availability","args":{{"seconds":{literal}}},"call":{{"call_id":"c"}}}}'
    )
    assert_json_problem(post_text(client, body, path), 400)


@settings(max_examples=100, deadline=None)
@given(
    function=st.sampled_from(FUNCTIONS),
    number=st.sampled_from(["1e400", "-1e400", "1" * 4000, "1e-400", "123456789012345678901"]),
)
def test_huge_but_valid_numbers_in_arguments_get_an_answer(client, function, number):
    body = (
        f'{{"name":"{function}","args":{{"seconds":{number},"date":{number},'
        f'"customer_name":{number},"customer_phone":{number}}},"call":{{"call_id":"c-num"}}}}'
    )
    response = post_text(client, body)
    assert response.status_code == 200, response.text
    assert response.json()["message"]


# ---------------------------------------------------------------- shapes
@FUZZ
@given(
    name=st.sampled_from(FUNCTIONS) | json_values,
    args=json_values,
    call=json_values | st.fixed_dictionaries({"call_id": json_values, "from_number": json_values}),
)
def test_any_type_in_any_envelope_field_is_answered_200_or_422(client, name, args, call):
    response = post_signed(client, {"name": name, "args": args, "call": call})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        assert response.json()["message"]
    else:
        assert response.json()["detail"]


@settings(max_examples=300, deadline=None)
@given(
    call_id=st.text(min_size=1, max_size=20).filter(
        lambda t: not t.strip() or not t.strip().isprintable()
    ),
    path=st.sampled_from(["/retell/functions", "/retell/webhook"]),
)
def test_call_ids_with_control_or_invisible_characters_are_422(client, call_id, path):
    payload = {"name": "booking_status", "event": "call_ended", "call": {"call_id": call_id}}
    try:
        response = post_signed(client, payload, path)
    except UnicodeEncodeError:
        return  # a lone surrogate cannot even be signed
    assert_json_problem(response, 422, "call_id")


@settings(max_examples=300, deadline=None)
@given(
    event=json_values,
    call=json_values
    | st.fixed_dictionaries(
        {"call_id": st.just("c-hook"), "call_analysis": json_values, "from_number": json_values}
    ),
)
def test_any_retell_webhook_shape_is_acknowledged_or_422(client, event, call):
    response = post_signed(client, {"event": event, "call": call}, "/retell/webhook")
    assert response.status_code in (204, 422), response.text


@settings(max_examples=300, deadline=None)
@given(
    trigger=st.sampled_from(["BOOKING_CREATED", "BOOKING_CANCELLED", "BOOKING_RESCHEDULED"])
    | json_values,
    payload=json_values
    | st.fixed_dictionaries(
        {
            "uid": json_values,
            "startTime": json_values | st.just("2026-11-26T10:00:00Z"),
            "endTime": json_values,
            "eventTypeId": json_values,
            "metadata": json_values,
        }
    ),
)
def test_any_calcom_webhook_shape_is_answered_with_json(client, trigger, payload):
    response = post_signed(client, {"triggerEvent": trigger, "payload": payload}, "/calcom/webhook")
    assert response.status_code in (200, 422, 503), response.text
    assert response.json()


# ---------------------------------------------------------------- sizes and headers
def _chunks(total: int, size: int = 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        chunk = b" " * min(size, total - sent)
        sent += len(chunk)
        yield chunk


@settings(max_examples=100, deadline=None)
@given(size=st.integers(LIMIT + 1, 4 * LIMIT), path=st.sampled_from(POST_ROUTES))
def test_bodies_over_the_limit_are_413_signed_or_not(client, size, path):
    body = '{"name":"booking_status","args":{},"call":{"call_id":"c"}}'.ljust(size)
    assert_json_problem(post_text(client, body, path), 413, str(LIMIT))
    assert_json_problem(client.post(path, content=body.encode()), 413, str(LIMIT))
    # Sent chunked, without a Content-Length: refused while reading.
    assert_json_problem(client.post(path, content=_chunks(size)), 413, str(LIMIT))


@settings(max_examples=200, deadline=None)
@given(
    declared=st.integers(0, 10**25).map(str)
    | st.text(max_size=12).filter(lambda t: t.isascii() and not t.strip().isdigit()),
    actual=st.integers(0, 300),
    path=st.sampled_from(POST_ROUTES),
)
def test_content_length_that_does_not_match_the_body_is_refused(client, declared, actual, path):
    body = b"x" * actual
    try:
        response = client.post(path, content=body, headers={"Content-Length": declared})
    except (ValueError, UnicodeEncodeError):
        return  # httpx refuses to send such a header
    if declared.strip().isdigit() and int(declared) > LIMIT:
        assert_json_problem(response, 413)
    elif declared.strip().isdigit() and int(declared) == actual:
        assert response.status_code in (400, 401, 422), response.text
    else:
        assert_json_problem(response, 400, "Content-Length")


@FUZZ
@given(
    header=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=120)
    | st.builds(
        lambda ts, digest: f"v={ts},d={digest}",
        st.integers(-(10**15), 10**15),
        st.text(alphabet="0123456789abcdefABCDEF", min_size=0, max_size=70),
    ),
)
def test_random_signature_headers_on_a_valid_body_are_401(client, header):
    body = json.dumps({"name": "booking_status", "args": {}, "call": {"call_id": "c-sig"}})
    for path in ("/retell/functions", "/retell/webhook"):
        response = client.post(path, content=body.encode(), headers={"X-Retell-Signature": header})
        assert_json_problem(response, 401, "X-Retell-Signature")
    calcom = client.post(
        "/calcom/webhook", content=body.encode(), headers={"X-Cal-Signature-256": header}
    )
    assert_json_problem(calcom, 401, "X-Cal-Signature-256")
