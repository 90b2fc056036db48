"""Workflow id helpers, next to the API that uses them."""

from __future__ import annotations

PREFIX = "call-"


def call_workflow_id(call_id: str) -> str:
    """The one workflow id of a Retell call: ``call-<call_id>``."""
    return f"{PREFIX}{call_id}"


def call_id_from_workflow_id(workflow_id: str) -> str:
    return workflow_id.removeprefix(PREFIX)
