"""``python -m bench.simulator``: the Cal.com simulator as a process of its own, without
access logs (so the load generator and the simulator do not share one interpreter, and
logging is not measured)."""

from __future__ import annotations

import argparse

import uvicorn

from calsim.app import create_app
from config.settings import DEMO_CATALOG_PATH
from domain.catalog import load_catalog


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.simulator")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--rate-limit", type=int, default=0, help="per minute; 0: off")
    args = parser.parse_args()
    app = create_app(
        load_catalog(DEMO_CATALOG_PATH),
        api_keys={args.api_key},
        rate_limit_per_minute=args.rate_limit or None,
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
