"""The production-like deployment: docker-compose.yml, the Dockerfile, the Temporal set-up.

No Docker engine runs here, so the compose file is checked for what would break a real
`docker compose up`: the compose-spec schema, env names the settings class does not read,
missing health checks, a wrong start-up order, ports, bind mounts of files that do not
exist. The Temporal set-up script runs for real against the suite's Temporal dev server.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import os
import re
import tomllib
import uuid
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
import yaml
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from booking_cli.main import app
from config.settings import PROJECT_ROOT, Settings
from tests.harness import temporal_cli_path
from workflows.search_attributes import ALL_KEYS

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
SETUP_SCRIPT = PROJECT_ROOT / "deploy" / "temporal" / "setup.sh"
APP_SERVICES = ("migrate", "worker", "api", "codec-server")
SECRETS = (
    "RETELL_API_KEY",
    "CALCOM_API_KEY",
    "CALCOM_WEBHOOK_SECRET",
    "POSTGRES_PASSWORD",
    "OPS_TOKEN",
    "PAYLOAD_ENCRYPTION_KEYS",
)
TYPE_NAMES = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _service(name: str) -> dict[str, Any]:
    return _compose()["services"][name]


def _env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in _service(service)["environment"].items()}


def _published(service: str) -> dict[int, int]:
    """Container port -> host port of a service's ``ports`` ("[ip:]host:container")."""
    out: dict[int, int] = {}
    for entry in _service(service).get("ports", []):
        *_, host, container = str(entry).split(":")
        out[int(container)] = int(host)
    return out


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendor / "compose-spec.json").read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_compose())]
    assert errors == []


def test_every_part_of_the_system_is_a_service() -> None:
    assert set(_compose()["services"]) >= {
        "postgresql",
        "temporal-schema",
        "temporal",
        "temporal-setup",
        "temporal-ui",
        "migrate",
        "worker",
        "api",
        "prometheus",
        "grafana",
    }


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_pass_only_variables_the_settings_class_reads(service: str) -> None:
    fields = set(Settings.model_fields)
    unknown = [name for name in _env(service) if name.lower() not in fields]
    assert unknown == []


def test_app_services_reach_temporal_and_postgresql_inside_the_compose_network() -> None:
    for service in ("worker", "api"):
        env = _env(service)
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert "@postgresql:5432/" in env["DATABASE_URL"]
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert _env("migrate")["DATABASE_URL"] == _env("api")["DATABASE_URL"]


def test_secrets_are_required_from_the_environment_never_written_down() -> None:
    text = COMPOSE_FILE.read_text()
    passed = {**_env("worker"), **_env("api"), **_env("postgresql")}
    for name in SECRETS:
        assert re.search(rf"\$\{{{name}:-", text) is None, f"{name} has a default"
    for name in ("RETELL_API_KEY", "CALCOM_API_KEY", "CALCOM_WEBHOOK_SECRET", "OPS_TOKEN"):
        assert re.fullmatch(rf"\$\{{{name}:\?.+\}}", passed[name]), name
    for service in ("worker", "api", "codec-server"):  # all of them read or write payloads
        keys = _env(service)["PAYLOAD_ENCRYPTION_KEYS"]
        assert re.fullmatch(r"\$\{PAYLOAD_ENCRYPTION_KEYS:\?.+\}", keys), service
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:\?.+\}", passed["POSTGRES_PASSWORD"])


@pytest.mark.parametrize("service", ["postgresql", "temporal", "worker", "api", "prometheus"])
def test_long_running_services_have_a_health_check(service: str) -> None:
    check = _service(service).get("healthcheck", {})
    assert check.get("test") and not check.get("disable", False)


def _depends(service: str) -> dict[str, str]:
    return {name: spec["condition"] for name, spec in _service(service)["depends_on"].items()}


def test_start_up_order() -> None:
    assert _depends("temporal") == {
        "postgresql": "service_healthy",
        "temporal-schema": "service_completed_successfully",
    }
    assert _depends("temporal-schema") == {"postgresql": "service_healthy"}
    assert _depends("temporal-setup") == {"temporal": "service_healthy"}
    assert _depends("migrate") == {"postgresql": "service_healthy"}
    for service in ("worker", "api"):
        assert _depends(service) == {
            "temporal": "service_healthy",
            "temporal-setup": "service_completed_successfully",
            "migrate": "service_completed_successfully",
        }
    for one_shot in ("temporal-schema", "temporal-setup", "migrate"):
        assert _service(one_shot)["restart"] == "no"


def test_published_ports() -> None:
    assert _published("api") == {8000: 8000}
    assert _published("temporal-ui") == {8080: 8233}
    assert _published("temporal") == {7233: 7233}
    assert int(_env("api")["API_PORT"]) == 8000
    assert "localhost:8000/healthz" in " ".join(_service("api")["healthcheck"]["test"])


def test_worker_exposes_both_metrics_ports() -> None:
    port = int(_env("worker")["WORKER_METRICS_PORT"])
    assert {int(p) for p in _service("worker")["expose"]} == {port, port + 1}
    assert f"localhost:{port}/metrics" in " ".join(_service("worker")["healthcheck"]["test"])


def test_bind_mounts_point_at_files_in_the_repository() -> None:
    sources = [
        re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", volume).split(":")[0]
        for service in _compose()["services"].values()
        for volume in service.get("volumes", [])
    ]
    host_paths = [source for source in sources if source.startswith("./")]
    assert len(host_paths) >= 6
    missing = [p for p in host_paths if not (PROJECT_ROOT / p).exists()]
    assert missing == []


def test_temporal_reads_the_dynamic_config_it_mounts() -> None:
    temporal = _service("temporal")
    relative = _env("temporal")["DYNAMIC_CONFIG_FILE_PATH"]
    host_dir, container_dir, _ = temporal["volumes"][0].split(":")
    assert f"/etc/temporal/{relative}".startswith(container_dir)
    assert (PROJECT_ROOT / host_dir / Path(relative).name).is_file()


def _compose_search_attributes() -> dict[str, str]:
    pairs = _env("temporal-setup")["SEARCH_ATTRIBUTES"].split()
    return dict(pair.split("=", 1) for pair in pairs)


def test_temporal_setup_registers_exactly_the_workflows_search_attributes() -> None:
    expected = {key.name: TYPE_NAMES[key.indexed_value_type.name] for key in ALL_KEYS}
    assert _compose_search_attributes() == expected
    assert _env("temporal-setup")["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert _env("temporal-setup")["TEMPORAL_NAMESPACE"] == _env("worker")["TEMPORAL_NAMESPACE"]


async def _run_setup(env: WorkflowEnvironment, namespace: str, attributes: str, home: Path) -> str:
    """Run deploy/temporal/setup.sh against the dev server; its output, or fail."""
    setup = _env("temporal-setup")
    proc = await asyncio.create_subprocess_exec(
        "/bin/sh",
        str(SETUP_SCRIPT),
        env={
            "PATH": f"{temporal_cli_path().parent}{os.pathsep}{os.defpath}",
            "HOME": str(home),  # the CLI looks for its config file there
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": namespace,
            "TEMPORAL_NAMESPACE_RETENTION": setup["TEMPORAL_NAMESPACE_RETENTION"],
            "SEARCH_ATTRIBUTES": attributes,
            "SETUP_SLEEP_SECONDS": "0.5",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise AssertionError(f"setup.sh exited {proc.returncode}:\n{out.decode()}")
    return out.decode()


async def test_setup_script_creates_the_namespace_and_registers_the_attributes(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = temporal_env.client
    namespace = f"deploy-{uuid.uuid4().hex[:8]}"
    with pytest.raises(RPCError):
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )
    attributes = _env("temporal-setup")["SEARCH_ATTRIBUTES"]

    await _run_setup(temporal_env, namespace, attributes, tmp_path)
    await _run_setup(temporal_env, namespace, attributes, tmp_path)  # every `up` runs it

    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    assert dict(listed.custom_attributes) == {
        key.name: int(key.indexed_value_type) for key in ALL_KEYS
    }
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace)
    )
    assert described.config.workflow_execution_retention_ttl.ToTimedelta() == timedelta(days=30)


async def test_setup_script_fails_when_an_attribute_exists_with_another_type(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    namespace = f"deploy-{uuid.uuid4().hex[:8]}"
    attributes = _env("temporal-setup")["SEARCH_ATTRIBUTES"]
    await _run_setup(temporal_env, namespace, "CallId=Datetime", tmp_path)
    with pytest.raises(AssertionError, match="CallId"):
        await _run_setup(temporal_env, namespace, attributes, tmp_path)


def _dockerfile_instructions() -> list[tuple[str, str]]:
    lines = DOCKERFILE.read_text().replace("\\\n", " ").splitlines()
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
        for line in lines
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_dockerfile_runs_the_projects_console_script_as_a_non_root_user() -> None:
    instructions = _dockerfile_instructions()
    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    final_stage = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM") :]
    bases = [arg for op, arg in instructions if op == "FROM"]
    assert all(re.match(r"python:3\.11(\.\d+)?-slim", base) for base in bases)
    assert any(
        op == "RUN" and re.search(r"\bpip install \.(\s|$)", arg) for op, arg in instructions
    )
    users = [arg for op, arg in final_stage if op == "USER"]
    assert users and users[-1] not in {"root", "0"}
    cmd = json.loads(next(arg for op, arg in reversed(final_stage) if op == "CMD"))
    assert cmd == ["booking", "api"]
    assert cmd[0] in scripts


def test_compose_commands_are_commands_of_the_booking_script() -> None:
    commands = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    for service in APP_SERVICES:
        program, command, *_options = _service(service)["command"]
        assert program == "booking"
        assert command in commands
    assert _service("worker")["command"] == ["booking", "worker"]
    assert _service("migrate")["command"] == ["booking", "migrate"]


def test_build_context_keeps_what_pip_install_needs_and_drops_local_state() -> None:
    patterns = [
        line.strip()
        for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = ["pyproject.toml", "README.md", "worker.py", "config/settings.py"]
    needed += ["domain/demo_catalog.toml", "workflows/call.py", "booking_cli/main.py"]
    dropped = [  # a pattern drops the path itself or a directory above it
        path
        for path in needed
        for part in [path, *(str(parent) for parent in Path(path).parents)]
        if any(fnmatch.fnmatch(part, pattern) for pattern in patterns)
    ]
    assert dropped == []
    assert {".git", ".venv", ".data", ".env"} <= set(patterns)
