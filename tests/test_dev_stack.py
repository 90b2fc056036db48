"""The front door: ``booking dev`` runs the whole system on embedded defaults, ``booking
call`` books a demo appointment through it (and reads the call's state with the
generated ``OPS_TOKEN``), the workflow is found in Temporal by ``BookingStatus="booked"``,
its payloads are encrypted and the Temporal UI decrypts them through the codec server,
the ``reschedule`` and ``cancel`` demos move and cancel an appointment of a recognised
caller, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
from google.protobuf import json_format
from temporalio.client import Client

from tests.harness import TEST_KEY_1, assert_eventually, free_port

BIN = Path(sys.executable).parent


async def _booked_workflows(address: str) -> list[str]:
    """Workflow ids found by ``BookingStatus="booked"`` (visibility may lag a moment)."""
    client = await Client.connect(address)

    async def found() -> list[str]:
        ids = [w.id async for w in client.list_workflows('BookingStatus="booked"')]
        assert ids
        return ids

    return await assert_eventually(found, timeout=20)


async def _update_payloads(address: str, workflow_id: str) -> list[dict]:
    """The update arguments of a workflow as stored (fetched without any codec)."""
    client = await Client.connect(address)
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    accepted = [
        event.workflow_execution_update_accepted_event_attributes.accepted_request
        for event in history.events
        if event.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    return [json_format.MessageToDict(p) for a in accepted for p in a.input.args.payloads]


def _customer_readable(payloads: list[dict]) -> bool:
    import base64

    raw = b"".join(base64.b64decode(p.get("data", "")) for p in payloads)
    return "Müller".encode() in raw


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"booking dev exited with {proc.returncode}"
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def test_booking_dev_then_booking_call_books_and_ctrl_c_leaves_nothing(tmp_path):
    temporal_port, api_port, calsim_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "TEMPORAL_UI_PORT": str(free_port()),
        "API_PORT": str(api_port),
        "CALSIM_PORT": str(calsim_port),
        "WORKER_METRICS_PORT": str(free_port(pair=True)),
        "CODEC_SERVER_PORT": str(free_port()),
        "PAYLOAD_ENCRYPTION_KEYS": TEST_KEY_1,  # the suite's public TEST key
    }
    inherited = ("DATABASE_URL", "CALCOM_API_URL", "CALCOM_API_KEY", "RETELL_API_KEY", "OPS_TOKEN")
    for name in (*inherited, "CODEC_CORS_ORIGINS"):
        env.pop(name, None)  # embedded defaults, as on a fresh laptop
    log = (tmp_path / "dev.log").open("wb")
    dev = subprocess.Popen([str(BIN / "booking"), "dev"], env=env, stdout=log, stderr=log)
    children: list[psutil.Process] = []
    try:
        _wait_ready(f"http://127.0.0.1:{api_port}/readyz", dev)
        children = psutil.Process(dev.pid).children(recursive=True)
        assert len(children) >= 4  # temporal, postgres, calsim, worker, api

        call = subprocess.run(
            [str(BIN / "booking"), "call", "--think", "0.5"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert call.returncode == 0, call.stdout + call.stderr
        assert "booked" in call.stdout
        assert "Temporal UI: http://localhost:" in call.stdout
        # booking call found the token booking dev generated, and the API accepted it.
        assert "): booked, appointment apt_" in call.stdout, call.stdout
        token = (tmp_path / "data" / "ops_token").read_text().strip()
        metrics = f"http://127.0.0.1:{api_port}/metrics"
        assert httpx.get(metrics).status_code == 401
        assert httpx.get(metrics, headers={"Authorization": f"Bearer {token}"}).status_code == 200

        address = f"127.0.0.1:{temporal_port}"
        booked = asyncio.run(_booked_workflows(address))
        assert len(booked) == 1 and booked[0].startswith("call-call_demo_")
        stored = asyncio.run(_update_payloads(address, booked[0]))
        assert stored and not _customer_readable(stored)  # encrypted in Temporal
        # The UI was started with the codec endpoint and may call it from its origin.
        ui = f"http://localhost:{env['TEMPORAL_UI_PORT']}"
        settings = httpx.get(f"http://127.0.0.1:{env['TEMPORAL_UI_PORT']}/api/v1/settings")
        endpoint = settings.json()["Codec"]["Endpoint"]
        assert endpoint.startswith(f"http://127.0.0.1:{env['CODEC_SERVER_PORT']}/ui-")
        decoded = httpx.post(
            f"{endpoint}/decode",
            json={"payloads": stored},
            headers={"Origin": ui, "X-Namespace": "default"},
        )
        assert decoded.status_code == 200 and decoded.headers["access-control-allow-origin"] == ui
        assert _customer_readable(decoded.json()["payloads"])

        # The same number calls again: recognised, it moves (or cancels) its appointment.
        for scenario, number, said in (
            ("reschedule", "+4915100000001", "Termin verschoben"),
            ("cancel", "+4915100000002", "abgesagt"),
        ):
            args = ["--scenario", scenario, "--phone", number, "--name", "Frau Erika Mustermann"]
            demo = subprocess.run(
                [str(BIN / "booking"), "call", "--think", "0.5", *args],
                env={**env, "COLUMNS": "300"},  # rich wraps nothing we look for
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert demo.returncode == 0, demo.stdout + demo.stderr
            assert "Spreche ich mit Frau Erika Mustermann?" in demo.stdout
            assert said in demo.stdout
    finally:
        dev.send_signal(signal.SIGINT)  # what Ctrl-C sends
        code = dev.wait(timeout=60)
        log.close()
    assert code == 0, (tmp_path / "dev.log").read_text(errors="replace")[-3000:]
    time.sleep(0.5)
    alive = [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], [p.cmdline() for p in alive]
