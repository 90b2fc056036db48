"""Imports point one way: api -> workflows -> contracts <- activities. The API process
talks only to Temporal, so loading it must not load the database or the Cal.com client."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded_after(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("module", ["api.main", "workflows.call", "contracts.activities"])
def test_no_database_or_calcom_code_behind_the_api_and_the_workflows(module: str) -> None:
    loaded = loaded_after(module)
    for heavy in ("store", "sqlalchemy", "psycopg", "calcom", "activities"):
        assert heavy not in loaded, f"import {module} loads {heavy}"


def test_every_activity_interface_has_an_implementation_of_the_same_types() -> None:
    import inspect
    import typing
    from unittest.mock import MagicMock

    from temporalio import activity

    from contracts.activities import INTERFACES
    from worker import activities_for

    implemented = {
        activity._Definition.must_from_callable(f).name: f for f in activities_for(MagicMock())
    }
    for interface in INTERFACES:
        name = activity._Definition.must_from_callable(interface).name
        assert name in implemented, f"no implementation registered for {name}"
        want = typing.get_type_hints(interface)
        got = typing.get_type_hints(implemented[name])
        arg = next(iter(inspect.signature(interface).parameters))
        assert got[next(iter(inspect.signature(implemented[name]).parameters))] == want[arg]
        assert got["return"] == want["return"], name
    assert len(implemented) == len(INTERFACES)
