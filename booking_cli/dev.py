"""``booking dev``: the whole system on one laptop, on embedded defaults.

Starts the Temporal dev server (UI on :8233, state in ``.data/``), an embedded PostgreSQL
(``.data/postgres``, migrated), the Cal.com simulator (unless ``CALCOM_API_URL`` is set),
the codec server (when ``PAYLOAD_ENCRYPTION_KEYS`` is set; the UI decrypts through it),
the worker and the API; waits for health, prints the URLs and streams the children's logs.
``RETELL_API_KEY`` and ``OPS_TOKEN``, when unset, are generated once and kept in ``.data/``.
Ctrl-C (or SIGTERM) stops every child within a few seconds and leaves none behind.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from codec_server.auth import ui_endpoint
from config import Settings
from store.embedded import EmbeddedPostgres
from workflows.search_attributes import cli_flags

console = Console(stderr=True)
BIN = Path(sys.executable).parent
STOP_GRACE_SECONDS = 8.0
DEV_DATABASE = "booking"
DEV_CALCOM_KEY = "cal_test_dev_simulator"


@dataclass
class Supervisor:
    """Child processes in their own process groups, stopped in reverse start order."""

    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(args, env=env, start_new_session=True)
        self.children.append((name, proc))
        return proc

    def failed(self) -> str | None:
        for name, proc in self.children:
            if proc.poll() is not None:
                return f"{name} exited with code {proc.returncode}"
        return None

    def stop(self) -> None:
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                with _suppress():
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, proc in reversed(self.children):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                console.print(f"[yellow]{name} did not stop in time; killing it[/]")
                with _suppress():
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], ProcessLookupError)  # type: ignore[arg-type]


def _wait_http(url: str, what: str, sup: Supervisor, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if problem := sup.failed():
            raise RuntimeError(f"{what} did not come up: {problem}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer at {url} within {timeout:.0f} s")


def _ensure_database(admin_url: str, name: str) -> str:
    conninfo = make_url(admin_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _dev_secret(settings: Settings, filename: str, prefix: str, *, create: bool) -> str | None:
    """A development secret generated once and kept (mode 600) in .data/."""
    path = settings.data_dir / filename
    if path.exists():
        return path.read_text().strip()
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    value = f"{prefix}{secrets.token_hex(16)}"
    path.write_text(value)
    path.chmod(0o600)
    return value


def dev_retell_key(settings: Settings) -> str:
    """The configured key, else a development key generated once and kept in .data/."""
    if settings.retell_api_key:
        return settings.retell_api_key.get_secret_value()
    key = _dev_secret(settings, "retell_api_key", "key_dev_", create=True)
    assert key is not None
    return key


def dev_ops_token(settings: Settings, *, create: bool = True) -> str | None:
    """The configured ``OPS_TOKEN``, else the development token kept in .data/ (made on
    first use when ``create``; ``booking call`` only reads it)."""
    if settings.ops_token:
        return settings.ops_token.get_secret_value()
    return _dev_secret(settings, "ops_token", "ops_dev_", create=create)


def _codec_server_args(settings: Settings, env: dict[str, str]) -> tuple[list[str], str] | None:
    """The codec server's command and the UI's codec endpoint; None without keys."""
    if settings.payload_key_ring is None:
        return None
    ui = settings.temporal_ui_port
    # The UI may be opened as localhost or 127.0.0.1: both origins may call the server.
    env.setdefault("CODEC_CORS_ORIGINS", f"http://localhost:{ui},http://127.0.0.1:{ui}")
    port = settings.codec_server_port
    args = [str(BIN / "booking"), "codec-server", "--port", str(port)]
    return args, ui_endpoint(f"http://127.0.0.1:{port}", env["OPS_TOKEN"])


def run_dev(settings: Settings) -> int:
    """Run everything until Ctrl-C; returns the exit code."""
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    sup = Supervisor()
    pg: EmbeddedPostgres | None = None
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    # Explicit for SIGINT too: a shell's background job starts with SIGINT ignored.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    env = dict(os.environ)  # children inherit the user's configuration
    env.setdefault("LOG_JSON", "false")
    ops_token = dev_ops_token(settings)
    assert ops_token is not None
    env["OPS_TOKEN"] = ops_token
    codec = _codec_server_args(settings, env)
    if codec is None:
        console.print(
            "[yellow]PAYLOAD_ENCRYPTION_KEYS is not set: customer names and phone numbers "
            "are stored in Temporal in clear (fine for a demo; README, Configuration).[/]"
        )
    started = time.monotonic()
    try:
        host, _, port = settings.temporal_address.rpartition(":")
        console.print("[bold]starting Temporal dev server[/] ...")
        sup.start(
            "temporal",
            [
                str(BIN / "temporal"),
                "server",
                "start-dev",
                "--db-filename",
                str(data / "temporal.db"),
                "--ip",
                host or "127.0.0.1",
                "--port",
                port or "7233",
                "--ui-port",
                str(settings.temporal_ui_port),
                "--log-level",
                "warn",
                *cli_flags(),
                *(["--ui-codec-endpoint", codec[1]] if codec else []),
            ],
            env,
        )
        if codec:
            console.print("[bold]starting the codec server[/] (the UI decrypts through it) ...")
            sup.start("codec-server", codec[0], env)
            _wait_http(
                f"http://127.0.0.1:{settings.codec_server_port}/healthz", "codec server", sup
            )
        if settings.database_url:
            database_url = settings.database_url
        else:
            console.print("[bold]starting embedded PostgreSQL[/] (.data/postgres) ...")
            pg = EmbeddedPostgres(data / "postgres")
            database_url = _ensure_database(pg.start(), DEV_DATABASE)
        env["DATABASE_URL"] = database_url
        from store.schema import upgrade_to_head

        upgrade_to_head(database_url)

        if not settings.calcom_api_url:
            console.print("[bold]starting the Cal.com simulator[/] ...")
            env["CALCOM_API_URL"] = f"http://127.0.0.1:{settings.calsim_port}"
            env.setdefault("CALCOM_API_KEY", DEV_CALCOM_KEY)
            env.setdefault(
                "CALSIM_WEBHOOK_URL", f"http://127.0.0.1:{settings.api_port}/calcom/webhook"
            )
            sup.start("calsim", [str(BIN / "booking"), "calsim"], env)
            _wait_http(f"{env['CALCOM_API_URL']}/_sim/state", "Cal.com simulator", sup)
        env["RETELL_API_KEY"] = dev_retell_key(settings)

        _wait_http(f"http://127.0.0.1:{settings.temporal_ui_port}/", "Temporal UI", sup)
        sup.start("worker", [sys.executable, str(Path(__file__).parent.parent / "worker.py")], env)
        sup.start("api", [str(BIN / "booking"), "api"], env)
        api = f"http://127.0.0.1:{settings.api_port}"
        _wait_http(f"{api}/healthz", "API", sup)
        _print_ready(settings, env, time.monotonic() - started, codec=codec is not None)
        while not stopping:
            if problem := sup.failed():
                console.print(f"[red]{problem}; stopping[/]")
                return 1
            time.sleep(0.5)
        return 0
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    finally:
        console.print("[bold]stopping[/] ...")
        sup.stop()
        if pg is not None:
            pg.stop()
        console.print("all processes stopped")


def _print_ready(settings: Settings, env: dict[str, str], seconds: float, *, codec: bool) -> None:
    api = f"http://127.0.0.1:{settings.api_port}"
    table = Table(title=f"booking dev is up ({seconds:.1f} s)", show_header=False)
    table.add_row("API docs", f"{api}/docs (user: any, password: OPS_TOKEN)")
    table.add_row("Temporal UI", f"http://localhost:{settings.temporal_ui_port}")
    table.add_row(
        "Codec server",
        f"http://127.0.0.1:{settings.codec_server_port} (the UI shows payloads decrypted)"
        if codec
        else "off: PAYLOAD_ENCRYPTION_KEYS is not set, payloads are stored in clear",
    )
    table.add_row("API metrics", f"{api}/metrics (Bearer OPS_TOKEN)")
    table.add_row(
        "Worker metrics",
        f"http://127.0.0.1:{settings.worker_metrics_port}/metrics (app), "
        f":{settings.worker_metrics_port + 1}/metrics (Temporal SDK)",
    )
    table.add_row("Cal.com", env.get("CALCOM_API_URL", settings.calcom_base_url))
    table.add_row("RETELL_API_KEY", env["RETELL_API_KEY"])
    table.add_row("OPS_TOKEN", env["OPS_TOKEN"])
    console.print(table)
    console.print("Next: in another terminal run [bold]booking call[/] (.venv/bin/booking call).")
