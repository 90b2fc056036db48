"""The front door: ``booking dev`` runs the whole system on embedded defaults, ``booking
call`` books a demo appointment through it, the workflow is found in Temporal by
``BookingStatus="booked"``, the ``reschedule`` and ``cancel`` demos move and cancel an
appointment of a recognised caller, and Ctrl-C leaves no process behind."""

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
from temporalio.client import Client

from tests.harness import assert_eventually, free_port

BIN = Path(sys.executable).parent


async def _booked_workflows(address: str) -> list[str]:
    """Workflow ids found by ``BookingStatus="booked"`` (visibility may lag a moment)."""
    client = await Client.connect(address)

    async def found() -> list[str]:
        ids = [w.id async for w in client.list_workflows('BookingStatus="booked"')]
        assert ids
        return ids

    return await assert_eventually(found, timeout=20)


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
    }
    for inherited in ("DATABASE_URL", "CALCOM_API_URL", "CALCOM_API_KEY", "RETELL_API_KEY"):
        env.pop(inherited, None)  # embedded defaults, as on a fresh laptop
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

        booked = asyncio.run(_booked_workflows(f"127.0.0.1:{temporal_port}"))
        assert len(booked) == 1 and booked[0].startswith("call-call_demo_")

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
