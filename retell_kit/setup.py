"""``booking retell-setup``: print the tool definitions, or install them on a Retell agent.

Installing goes through retell-sdk: read the agent, follow its response engine to its
Retell LLM, replace (or add) the eight tools in the LLM's ``general_tools`` by name while
keeping every other tool as it was, then point the agent's webhook at
``<base>/retell/webhook``. With a phone number, that number's inbound webhook (Retell asks
it who is calling before the call connects) is pointed at ``<base>/retell/inbound``.
Only agents driven by a Retell LLM carry ``general_tools``; conversation-flow and
custom-LLM agents are refused with a clear message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import retell
from pydantic import SecretStr
from retell.types.agent_response import ResponseEngineResponseEngineRetellLm
from retell.types.llm_update_params import GeneralTool
from rich.console import Console

from retell_kit.tools import (
    TOOL_NAMES,
    ToolTimeouts,
    calcom_webhook_url,
    inbound_webhook_url,
    tool_definitions,
    webhook_url,
)


class RetellSetupError(RuntimeError):
    """The agent cannot take the tools (e.g. it is not driven by a Retell LLM)."""


@dataclass(frozen=True)
class AgentSetup:
    """What :func:`apply_to_agent` changed on the agent."""

    agent_id: str
    llm_id: str
    llm_version: int | None
    created: tuple[str, ...]
    replaced: tuple[str, ...]
    kept: tuple[str, ...]
    webhook_url: str
    phone_number: str | None = None  # whose inbound webhook was set
    inbound_webhook_url: str | None = None


def definitions_json(base_url: str, *, timeouts: ToolTimeouts = ToolTimeouts()) -> str:
    """The tool definitions as pretty JSON, as Retell's API spells them.

    Args:
        base_url: Public base URL of the API (``https://...``).
        timeouts: Per-attempt tool timeouts (default: twice the default budgets).

    Returns:
        A JSON array of custom-tool objects, UTF-8 text (umlauts unescaped).
    """
    return json.dumps(_definitions(base_url, timeouts), ensure_ascii=False, indent=2)


def _definitions(base_url: str, timeouts: ToolTimeouts) -> list[dict[str, Any]]:
    return tool_definitions(
        base_url, check_timeout_ms=timeouts.check_ms, booking_timeout_ms=timeouts.booking_ms
    )


def merge_tools(
    existing: list[dict[str, Any]], ours: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], tuple[str, ...], tuple[str, ...]]:
    """Put ``ours`` into ``existing`` by tool name, keeping every other tool untouched.

    A tool of ours that already exists takes its place (so the dashboard order stays);
    the rest are appended in the order given.

    Args:
        existing: The LLM's current ``general_tools``.
        ours: The tools to install.

    Returns:
        The merged list, the names created and the names replaced.
    """
    by_name = {tool["name"]: tool for tool in ours}
    merged: list[dict[str, Any]] = []
    replaced: list[str] = []
    for tool in existing:
        name = tool.get("name")
        if isinstance(name, str) and name in by_name:
            if name not in replaced:
                merged.append(by_name[name])
                replaced.append(name)
            continue
        merged.append(tool)
    created = [tool["name"] for tool in ours if tool["name"] not in replaced]
    merged.extend(by_name[name] for name in created)
    return merged, tuple(created), tuple(replaced)


def apply_to_agent(
    client: retell.Retell,
    agent_id: str,
    base_url: str,
    *,
    timeouts: ToolTimeouts = ToolTimeouts(),
    phone_number: str | None = None,
) -> AgentSetup:
    """Install the tools and the call webhook on a Retell agent, and the inbound webhook
    on its phone number.

    Reads the agent (its latest version), then its Retell LLM at the version the agent
    uses, writes the merged ``general_tools`` back to that LLM version and sets the
    agent's ``webhook_url``. With ``phone_number``, sets that number's
    ``inbound_webhook_url``. Other tools and settings are left as they were.

    Args:
        client: A retell-sdk client authorised with the account's API key.
        agent_id: The agent to set up (``agent_...``).
        base_url: Public base URL of this service.
        timeouts: Per-attempt tool timeouts (default: twice the default budgets).
        phone_number: The Retell number (E.164) the salon's calls arrive on, or None to
            leave numbers alone.

    Returns:
        What was created, replaced and kept.

    Raises:
        RetellSetupError: The agent is not driven by a Retell LLM.
        retell.APIError: Retell refused or could not be reached (e.g. a published
            version cannot be edited).
    """
    agent = client.agent.retrieve(agent_id)
    engine = agent.response_engine
    if not isinstance(engine, ResponseEngineResponseEngineRetellLm):
        raise RetellSetupError(
            f"agent {agent_id} uses a {engine.type!r} response engine; the booking tools "
            "go into a Retell LLM's general_tools, so use a Retell LLM (single or "
            "multi-prompt) agent, or add the definitions from `booking retell-setup` "
            "by hand as custom function nodes"
        )
    version = int(engine.version) if engine.version is not None else None
    version_arg: Any = version if version is not None else retell.omit
    llm = client.llm.retrieve(engine.llm_id, version=version_arg)
    existing = [tool.to_dict(mode="json") for tool in llm.general_tools or []]
    merged, created, replaced = merge_tools(existing, _definitions(base_url, timeouts))
    client.llm.update(
        engine.llm_id, version=version_arg, general_tools=cast(list[GeneralTool], merged)
    )
    hook = webhook_url(base_url)
    client.agent.update(agent_id, webhook_url=hook)
    inbound = None
    if phone_number is not None:
        inbound = inbound_webhook_url(base_url)
        client.phone_number.update(phone_number, inbound_webhook_url=inbound)
    kept = tuple(str(tool.get("name")) for tool in existing if tool.get("name") not in TOOL_NAMES)
    return AgentSetup(
        agent_id=agent_id,
        llm_id=engine.llm_id,
        llm_version=version,
        created=created,
        replaced=replaced,
        kept=kept,
        webhook_url=hook,
        phone_number=phone_number,
        inbound_webhook_url=inbound,
    )


def base_url_problem(base_url: str) -> str | None:
    """Why ``base_url`` cannot be used for Retell, or ``None`` when it looks usable.

    Args:
        base_url: The public base URL given on the command line.

    Returns:
        A one-line reason (not an absolute http(s) URL, or carrying a query/fragment).
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"--base-url must be an absolute http(s) URL, got {base_url!r}"
    if parts.query or parts.fragment:
        return "--base-url must not carry a query or fragment"
    return None


def _unreachable_hint(base_url: str) -> str | None:
    host = urlsplit(base_url).hostname or ""
    if host in ("localhost", "127.0.0.1", "::1", "0.0.0.0") or host.endswith(".local"):
        return f"{host} is not reachable from Retell's servers; use a public URL (tunnel)"
    if urlsplit(base_url).scheme != "https":
        return "Retell should reach the API over https"
    return None


def run(
    base_url: str,
    agent_id: str | None,
    api_key: SecretStr | str | None,
    console: Console,
    *,
    timeouts: ToolTimeouts = ToolTimeouts(),
    client: retell.Retell | None = None,
    phone_number: str | None = None,
) -> int:
    """The body of ``booking retell-setup``.

    Without ``agent_id`` it prints the tool definitions as JSON (to paste into the
    dashboard or a script). With ``agent_id`` it installs them on that agent through
    retell-sdk and prints what changed.

    Args:
        base_url: Public base URL of this service.
        agent_id: The Retell agent to set up, or ``None`` to print JSON only.
        api_key: The Retell API key (``RETELL_API_KEY``); needed with ``agent_id``.
        console: Where to print.
        timeouts: Per-attempt tool timeouts; pass ``ToolTimeouts.from_budgets(...)`` with
            the configured response budgets.
        client: A ready retell-sdk client (tests); built from ``api_key`` otherwise.
        phone_number: The Retell number whose inbound webhook to set (with ``agent_id``).

    Returns:
        The process exit code: 0 done, 1 Retell refused or the agent does not fit,
        2 bad input (URL, missing key).
    """
    problem = base_url_problem(base_url)
    if problem is not None:
        _error(console, problem)
        return 2
    if agent_id is None:
        console.out(definitions_json(base_url, timeouts=timeouts), highlight=False)
        return 0
    if client is None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        if not key:
            _error(console, "RETELL_API_KEY is not set; it is needed with --agent-id.")
            return 2
        client = retell.Retell(api_key=key)
    hint = _unreachable_hint(base_url)
    if hint is not None:
        console.print(f"warning: {hint}", style="yellow", markup=False, highlight=False)
    try:
        setup = apply_to_agent(
            client, agent_id, base_url, timeouts=timeouts, phone_number=phone_number
        )
    except RetellSetupError as exc:
        _error(console, str(exc))
        return 1
    except retell.APIStatusError as exc:
        _error(
            console,
            f"Retell answered {exc.status_code} for {exc.request.method} "
            f"{exc.request.url.path}: {exc.message}",
        )
        return 1
    except retell.APIConnectionError as exc:
        _error(console, f"Retell could not be reached: {exc}")
        return 1
    _report(console, setup, base_url)
    return 0


def _error(console: Console, text: str) -> None:
    console.print(text, style="red", markup=False, highlight=False)


def _report(console: Console, setup: AgentSetup, base_url: str) -> None:
    version = f" (version {setup.llm_version})" if setup.llm_version is not None else ""
    console.print(f"agent {setup.agent_id}: Retell LLM {setup.llm_id}{version} updated")
    if setup.created:
        console.print("  tools added:    " + ", ".join(setup.created))
    if setup.replaced:
        console.print("  tools replaced: " + ", ".join(setup.replaced))
    if setup.kept:
        console.print("  tools kept:     " + ", ".join(setup.kept))
    console.print(f"  call webhook:   {setup.webhook_url}")
    if setup.phone_number and setup.inbound_webhook_url:
        console.print(f"  inbound webhook of {setup.phone_number}: {setup.inbound_webhook_url}")
    else:
        console.print(
            f"  inbound webhook: not set (--phone-number); set {inbound_webhook_url(base_url)} "
            "on the salon's Retell number to recognise callers"
        )
    console.print(
        "next: paste the prompt (docs/retell-agent.md), register the Cal.com webhook "
        f"{calcom_webhook_url(base_url)}, publish the agent in the Retell dashboard"
    )
