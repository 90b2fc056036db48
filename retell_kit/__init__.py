"""Retell agent kit: the booking tools, the German agent prompt, ``booking retell-setup``."""

from retell_kit.prompt import agent_prompt
from retell_kit.setup import AgentSetup, RetellSetupError, apply_to_agent, definitions_json, run
from retell_kit.tools import (
    TOOL_NAMES,
    ToolTimeouts,
    calcom_webhook_url,
    functions_url,
    inbound_webhook_url,
    tool_definitions,
    webhook_url,
)

__all__ = [
    "TOOL_NAMES",
    "AgentSetup",
    "RetellSetupError",
    "ToolTimeouts",
    "agent_prompt",
    "apply_to_agent",
    "calcom_webhook_url",
    "definitions_json",
    "functions_url",
    "inbound_webhook_url",
    "run",
    "tool_definitions",
    "webhook_url",
]
