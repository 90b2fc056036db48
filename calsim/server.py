"""Run the simulator: in a background thread for tests and ``booking dev``
(:class:`SimulatorServer`), or in the foreground for ``booking calsim`` (:func:`serve`)."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from calsim.app import create_app
from calsim.event_types import SETTINGS_ENV, load_settings
from domain.catalog import Catalog, load_catalog

DEFAULT_API_KEY = "cal_test_simulator"
_START_TIMEOUT = 10.0


class SimulatorServer:
    """The simulator under uvicorn on 127.0.0.1, in a daemon thread.

    Use as a context manager (``with SimulatorServer(catalog) as sim: ...``) or with
    :meth:`start` / :meth:`stop`.

    Args:
        catalog: the salon's catalog (event types, hosts, opening hours).
        port: the port to listen on; None picks a free one.
        **create_app_kwargs: passed to :func:`calsim.app.create_app`.

    Attributes:
        url: base URL, e.g. ``http://127.0.0.1:54321`` (set once started).
        api_key: a key the simulator accepts.
        app: the FastAPI app.
    """

    def __init__(self, catalog: Catalog, *, port: int | None = None, **create_app_kwargs: Any):
        self.app = create_app(catalog, **create_app_kwargs)
        keys = create_app_kwargs.get("api_keys")
        self.api_key = sorted(keys)[0] if keys else DEFAULT_API_KEY
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> SimulatorServer:
        """Bind, start serving in the background, return once requests are answered.

        Raises:
            RuntimeError: the server did not come up within 10 seconds.
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port or 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="calsim", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Cal.com simulator did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    catalog_path: Path,
    port: int,
    rate_limit_per_minute: int | None,
    webhook_url: str | None,
    webhook_secret: str | None,
) -> None:
    """Serve the simulator on 127.0.0.1:``port`` until interrupted (``booking calsim``).

    Any API key starting with ``cal_`` is accepted. Controls: see ``docs/calsim.md``.
    Event types start at Cal.com's default settings, or at those of the TOML/JSON file
    named by ``CALSIM_EVENT_TYPES`` (format: :func:`calsim.event_types.load_settings`).
    """
    catalog = load_catalog(catalog_path)
    settings_path = os.environ.get(SETTINGS_ENV)
    app = create_app(
        catalog,
        rate_limit_per_minute=rate_limit_per_minute,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        event_type_settings=(
            load_settings(settings_path, catalog.event_types()) if settings_path else None
        ),
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info")
