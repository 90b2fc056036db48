"""Customer data in Temporal: a booked call's history, read with the real ``temporal``
CLI and no codec, holds neither the customer's name nor phone in any readable form;
``booking codec-server`` decrypts it for the holder of ``OPS_TOKEN`` and nobody else, also
after a key rotation. Real Temporal, worker, PostgreSQL, Cal.com simulator; the keys are
the suite's public TEST keys."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from codec_server.auth import ui_path_key
from contracts.messages import CallEnded, Customer, StartBooking
from tests.harness import TEST_KEY_1, TEST_KEY_2, call_stack, free_port, next_open_day, unique
from tests.harness import with_codec as client_with_keys
from workflows.call import CallWorkflow

BIN = Path(sys.executable).parent
OPS_TOKEN = "ops_test_codec_3c2b1a0f9e8d"
NAME = ("Friedhelm", "Oberdorfer")
PHONE = "+491712345678"  # the caller's number and the booking's
PHONE_DIGITS = "1712345678"  # national significant number: in any format it contains this
EMAIL = "f.oberdorfer@example.org"


def readable(history_json: str) -> set[str]:
    """Which pieces of the customer's data can be read from a history as stored: in the
    JSON text, or in any string of it that is base64 (payload data is)."""
    texts = [history_json]

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)
        elif isinstance(node, str):
            yield node

    try:
        document = json.loads(history_json)
    except json.JSONDecodeError:  # an error message, say
        document = None
    for text in walk(document):
        try:
            texts.append(base64.b64decode(text, validate=True).decode("utf-8", "replace"))
        except (binascii.Error, ValueError):
            pass
    found = set()
    for text in texts:
        digits = re.sub(r"\D", "", text)
        found |= {part for part in (*NAME, EMAIL) if part in text}
        if PHONE_DIGITS in digits:
            found.add("phone")
    return found


def temporal_cli(client: Any, *args: str) -> subprocess.CompletedProcess[str]:
    address = client.service_client.config.target_host
    return subprocess.run(
        [str(BIN / "temporal"), *args, "--address", address, "--namespace", client.namespace],
        capture_output=True,
        text=True,
        timeout=60,
    )


def show(client: Any, workflow_id: str, *codec: str) -> subprocess.CompletedProcess[str]:
    return temporal_cli(client, "workflow", "show", "-w", workflow_id, "-o", "json", *codec)


async def booked_call(client: Any, database_url: str, simulator: Any, *, hour: int) -> str:
    """A call that held and booked a slot for the customer, then hung up; its id."""
    call_id = unique("codec")
    async with call_stack(client, database_url, simulator, from_number=PHONE) as stack:
        assert (await stack.check(call_id, "Föhnen", next_open_day(hour=hour))).available
        handle = stack.handle(call_id)
        customer = Customer(name=" ".join(NAME), phone=PHONE, email=EMAIL)
        result = await handle.execute_update(
            CallWorkflow.start_booking, StartBooking(customer=customer)
        )
        assert result.booked
        await handle.signal(CallWorkflow.call_ended, CallEnded())
        await handle.result()
    return f"call-{call_id}"


@pytest.fixture(scope="module")
def codec_server() -> Iterator[str]:
    """``booking codec-server`` after a rotation: key 2 encrypts, key 1 still decrypts."""
    port = free_port()
    env = {
        **os.environ,
        "OPS_TOKEN": OPS_TOKEN,
        "PAYLOAD_ENCRYPTION_KEYS": f"{TEST_KEY_2},{TEST_KEY_1}",
        "LOG_JSON": "true",
    }
    proc = subprocess.Popen(
        [str(BIN / "booking"), "codec-server", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "codec server did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode()
        # Its logs carry neither the token, its UI key, nor any customer data.
        for secret in (OPS_TOKEN, ui_path_key(OPS_TOKEN), *NAME, PHONE_DIGITS):
            assert secret not in out


async def test_a_booked_calls_history_holds_no_readable_customer_data(
    temporal_client, database_url, simulator, sim
):
    # Control: without encryption the same search finds everything (it is not blind).
    plain = await booked_call(temporal_client, database_url, simulator, hour=10)
    shown = show(temporal_client, plain)
    assert shown.returncode == 0, shown.stderr
    assert readable(shown.stdout) == {*NAME, "phone", EMAIL}

    encrypted = await booked_call(
        client_with_keys(temporal_client, TEST_KEY_1), database_url, simulator, hour=11
    )
    shown = show(temporal_client, encrypted)
    assert shown.returncode == 0, shown.stderr
    assert readable(shown.stdout) == set()
    assert '"binary/encrypted"' in shown.stdout or "YmluYXJ5L2VuY3J5cHRlZA" in shown.stdout
    # Search attributes are indexed in clear: they hold ids, status, service, time and the
    # stylist's catalog key only.
    described = temporal_cli(temporal_client, "workflow", "describe", "-w", encrypted, "-o", "json")
    assert described.returncode == 0 and readable(described.stdout) == set()
    attributes = (
        await temporal_client.get_workflow_handle(encrypted).describe()
    ).typed_search_attributes
    values = {pair.key.name: pair.value for pair in attributes}
    assert values["ServiceName"] == "Föhnen" and values["BookingStatus"] == "booked"
    allowed = {"CallId", "BookingStatus", "ServiceName", "SlotStart", "Stylist"}
    # Set by the SDK itself: BuildIds, and TemporalChangeVersion (the workflow.patched ids
    # the run took, e.g. "check-with-claim": code versions, no customer data).
    assert set(values) - {"BuildIds", "TemporalChangeVersion"} <= allowed
    assert readable(json.dumps({k: str(v) for k, v in values.items()})) == set()


async def test_the_codec_server_decrypts_for_the_token_holder_only(
    temporal_client, database_url, simulator, sim, codec_server
):
    # Written with key 1; the codec server has rotated to key 2 first and still reads it.
    workflow_id = await booked_call(
        client_with_keys(temporal_client, TEST_KEY_1), database_url, simulator, hour=12
    )
    bearer = f"Bearer {OPS_TOKEN}"
    decoded = show(
        temporal_client, workflow_id, "--codec-endpoint", codec_server, "--codec-auth", bearer
    )
    assert decoded.returncode == 0, decoded.stderr
    assert readable(decoded.stdout) == {*NAME, "phone", EMAIL}
    refused = show(
        temporal_client,
        workflow_id,
        *("--codec-endpoint", codec_server, "--codec-auth", "Bearer wrong-token"),
        *("--command-timeout", "5s"),
    )
    assert refused.returncode != 0 and readable(refused.stdout + refused.stderr) == set()

    # The protocol as a browser UI speaks it: protobuf JSON, from the UI's origin.
    history = json.loads(show(temporal_client, workflow_id).stdout)
    payloads = [
        p
        for event in history["events"]
        for p in (event.get("workflowExecutionUpdateAcceptedEventAttributes") or {})
        .get("acceptedRequest", {})
        .get("input", {})
        .get("args", {})
        .get("payloads", [])
    ]
    assert payloads, "the update arguments are in the history"
    body = {"payloads": payloads}
    ui = {"Origin": "http://localhost:8233", "X-Namespace": "default"}
    async with httpx.AsyncClient(base_url=codec_server) as http:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": OPS_TOKEN}):
            answer = await http.post("/decode", json=body, headers={**ui, **headers})
            assert answer.status_code == 401 and readable(answer.text) == set()
        wrong_key = await http.post("/ui-00000000000000000000000000000000/decode", json=body)
        assert wrong_key.status_code == 401

        answer = await http.post("/decode", json=body, headers={**ui, "Authorization": bearer})
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "http://localhost:8233"
        assert {"Friedhelm", "Oberdorfer"} <= readable(answer.text)
        via_ui_key = await http.post(f"/{ui_path_key(OPS_TOKEN)}/decode", json=body, headers=ui)
        assert via_ui_key.status_code == 200 and via_ui_key.json() == answer.json()
        mounted = await http.post(
            "/codec/default/decode", json=body, headers={"Authorization": bearer}
        )
        assert mounted.status_code == 200 and mounted.json() == answer.json()
        not_a_codec_call = await http.post("/codec/default/list", json=body, headers=ui)
        assert not_a_codec_call.status_code in (404, 422)

        encoded = await http.post(
            "/encode", json=answer.json(), headers={**ui, "Authorization": bearer}
        )
        assert encoded.status_code == 200 and readable(encoded.text) == set()
        key_ids = {
            base64.b64decode(p["metadata"]["encryption-key-id"]) for p in encoded.json()["payloads"]
        }
        assert key_ids == {b"test-2"}  # the first key of the list encrypts

        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
        }
        allowed = await http.options("/decode", headers={**preflight, "Origin": ui["Origin"]})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ui["Origin"]
        other = await http.options(
            "/decode", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers


async def test_a_worker_with_rotated_keys_serves_a_call_started_under_the_old_key(
    temporal_client, database_url, simulator, sim
):
    call_id = unique("rotate")
    old = client_with_keys(temporal_client, TEST_KEY_1)
    async with call_stack(old, database_url, simulator) as stack:
        held = await stack.check(call_id, "Föhnen", next_open_day(hour=16))
        assert held.available
        task_queue = stack.task_queue
    rotated = client_with_keys(temporal_client, f"{TEST_KEY_2},{TEST_KEY_1}")
    async with call_stack(rotated, database_url, simulator, task_queue=task_queue) as stack:
        handle = stack.handle(call_id)
        customer = Customer(name=" ".join(NAME), phone=PHONE)
        booked = await handle.execute_update(
            CallWorkflow.start_booking, StartBooking(customer=customer)
        )
        assert booked.booked
        await handle.signal(CallWorkflow.call_ended, CallEnded())
        await handle.result()
    key_ids = set()
    async for event in handle.fetch_history_events():
        attrs = event.workflow_execution_update_accepted_event_attributes
        for payload in attrs.accepted_request.input.args.payloads:
            key_ids.add(payload.metadata["encryption-key-id"])
    assert key_ids == {b"test-1", b"test-2"}  # the check under key 1, the booking under 2
    # Nobody holding only the old key reads what was written after the rotation.
    only_old = client_with_keys(temporal_client, TEST_KEY_1)
    with pytest.raises(Exception, match="test-2"):
        await only_old.get_workflow_handle(f"call-{call_id}").result()


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("PAYLOAD_ENCRYPTION_KEYS", "nothing to decrypt"),
        ("OPS_TOKEN", "would refuse every request"),
    ],
)
def test_the_codec_server_does_not_start_without_keys_or_token(missing: str, message: str):
    env = {**os.environ, "OPS_TOKEN": OPS_TOKEN, "PAYLOAD_ENCRYPTION_KEYS": TEST_KEY_1}
    del env[missing]
    done = subprocess.run(
        [str(BIN / "booking"), "codec-server", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and f"{missing} is not set" in done.stderr
    assert message in done.stderr
