"""Fixtures for the simulator's own tests: a simulator over a fixed catalog
(tests/catalogs/simulator.toml), so their expected slot grids do not follow the demo
catalog. Import ``demo_catalog`` and ``simulator`` into a test module to use them there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.catalog import Catalog, load_catalog

CATALOG_PATH = Path(__file__).parent / "catalogs" / "simulator.toml"


@pytest.fixture(scope="module")
def demo_catalog() -> Catalog:
    return load_catalog(CATALOG_PATH)


@pytest.fixture(scope="module")
def simulator(demo_catalog: Catalog) -> Iterator[Any]:
    from calsim.server import SimulatorServer

    with SimulatorServer(demo_catalog) as server:
        yield server
