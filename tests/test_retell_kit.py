"""The Retell agent kit: tool definitions checked against retell-sdk's own models, the
German prompt against the tools, and ``retell-setup``'s requests against a recording
transport shaped like Retell's API (Retell itself is not reachable from here)."""

from __future__ import annotations

import copy
import io
import json
import re
from typing import Any, get_type_hints

import httpx
import jsonschema
import pytest
import retell
from pydantic import BaseModel, TypeAdapter, ValidationError
from retell.types import llm_response, llm_update_params
from rich.console import Console

from config.settings import Settings
from retell_kit import agent_prompt, definitions_json, run, tool_definitions
from retell_kit.setup import RetellSetupError, apply_to_agent
from retell_kit.tools import ToolTimeouts

BASE = "https://salon.example.com"
CONTRACT_NAMES = [
    "check_availability",
    "start_booking",
    "extend_hold",
    "cancel_hold",
    "booking_status",
    "find_appointments",
    "cancel_appointment",
    "reschedule_appointment",
]


# --- checking a tool against retell-sdk's models ---------------------------------------


def _extras(value: Any, path: str) -> list[str]:
    if isinstance(value, BaseModel):
        found = [f"{path}{key}" for key in value.model_extra or {}]
        for name in type(value).model_fields:
            found += _extras(getattr(value, name), f"{path}{name}.")
        return found
    if isinstance(value, list):
        return [hit for item in value for hit in _extras(item, path)]
    return []


def _typed_dict_unknown(value: dict[str, Any], typed_dict: type, path: str) -> list[str]:
    hints = get_type_hints(typed_dict)
    found = [f"{path}{key}" for key in value if key not in hints]
    found += [f"{path}{key} (missing)" for key in typed_dict.__required_keys__ if key not in value]  # type: ignore[attr-defined]
    return found


def retell_tool_problems(tool: dict[str, Any]) -> list[str]:
    """Everything retell-sdk's custom-tool models reject or do not know in ``tool``."""
    try:
        model = llm_response.GeneralToolCustomTool.model_validate(tool)
        TypeAdapter(llm_update_params.GeneralToolCustomTool).validate_python(tool)
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    # The SDK's models allow extra fields (forward compatibility); a key Retell does not
    # know lands in model_extra, and is missing from the request TypedDict.
    problems = _extras(model, "")
    problems += _typed_dict_unknown(tool, llm_update_params.GeneralToolCustomTool, "")
    if isinstance(tool.get("parameters"), dict):
        problems += _typed_dict_unknown(
            tool["parameters"], llm_update_params.GeneralToolCustomToolParameters, "parameters."
        )
    return sorted(set(problems))


def test_every_tool_is_a_valid_retell_custom_tool() -> None:
    for tool in tool_definitions(BASE):
        assert retell_tool_problems(tool) == [], tool["name"]


@pytest.mark.parametrize(
    ("path", "bad_key", "value"),
    [
        ((), "speak_during_executon", True),
        ((), "timeout", 5000),
        (("parameters",), "require", ["service"]),
    ],
)
def test_the_check_catches_a_key_retell_does_not_know(
    path: tuple[str, ...], bad_key: str, value: Any
) -> None:
    tool = copy.deepcopy(tool_definitions(BASE)[0])
    target = tool
    for key in path:
        target = target[key]
    target[bad_key] = value
    problems = retell_tool_problems(tool)
    assert any(bad_key in problem for problem in problems), problems


def test_the_check_catches_a_wrong_value() -> None:
    tool = tool_definitions(BASE)[0] | {"execution_message_type": "spoken"}
    assert retell_tool_problems(tool) != []
    assert retell_tool_problems(tool_definitions(BASE)[0] | {"type": "function"}) != []


# --- what the definitions say ---------------------------------------------------------


def test_the_eight_contract_functions_post_the_full_envelope_to_our_url() -> None:
    tools = tool_definitions(BASE + "/")
    assert [t["name"] for t in tools] == CONTRACT_NAMES
    for tool in tools:
        assert tool["url"] == "https://salon.example.com/retell/functions"
        assert tool["method"] == "POST"
        assert tool["args_at_root"] is False  # the API needs call.call_id from the envelope
        assert tool["speak_after_execution"] is True


def test_timeouts_leave_room_above_the_response_budgets() -> None:
    fields = Settings.model_fields
    check_budget_ms = fields["check_budget_seconds"].default * 1000
    booking_budget_ms = fields["booking_budget_seconds"].default * 1000
    tools = {t["name"]: t for t in tool_definitions(BASE)}
    for name in ("start_booking", "cancel_appointment", "reschedule_appointment"):
        assert tools[name]["timeout_ms"] >= 1.5 * booking_budget_ms, name
    quick = ("check_availability", "extend_hold", "cancel_hold", "booking_status")
    for name in (*quick, "find_appointments"):
        assert tools[name]["timeout_ms"] >= 1.5 * check_budget_ms, name
    custom = {
        t["name"]: t["timeout_ms"]
        for t in tool_definitions(BASE, check_timeout_ms=4000, booking_timeout_ms=20000)
    }
    assert custom["check_availability"] == 4000 and custom["start_booking"] == 20000
    with pytest.raises(ValueError, match="check_timeout_ms"):
        tool_definitions(BASE, check_timeout_ms=999)


def test_raised_budgets_raise_the_timeouts_the_cli_installs() -> None:
    assert ToolTimeouts.from_budgets(2.5, 6.0) == ToolTimeouts()  # defaults: twice the budgets
    raised = ToolTimeouts.from_budgets(4.0, 12.5)
    assert (raised.check_ms, raised.booking_ms) == (8000, 25000)
    console, out = _console()
    assert run(BASE, None, None, console, timeouts=raised) == 0
    printed = {t["name"]: t["timeout_ms"] for t in json.loads(out.getvalue())}
    assert printed["check_availability"] == 8000 and printed["start_booking"] == 25000
    assert ToolTimeouts.from_budgets(30, 60).booking_ms == 120_000


def test_only_the_slow_tools_fill_the_silence_with_a_short_german_sentence() -> None:
    tools = {t["name"]: t for t in tool_definitions(BASE)}
    talking = {name for name, t in tools.items() if t["speak_during_execution"]}
    assert talking == {
        "check_availability",
        "start_booking",
        "cancel_appointment",
        "reschedule_appointment",
    }
    for name in talking:
        sentence = tools[name]["execution_message_description"]
        assert sentence.startswith("Einen Moment") and len(sentence) < 60


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = next(t["parameters"] for t in tool_definitions(BASE) if t["name"] == name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize(
    ("name", "args", "valid"),
    [
        (
            "check_availability",
            {"service": "Dauerwelle", "date": "morgen", "time": "halb elf"},
            True,
        ),
        (
            "check_availability",
            {"service": "Perm", "date": "26.11.2026", "time": "10 Uhr 45"},
            True,
        ),
        ("check_availability", {"service": "Dauerwelle", "date": "morgen"}, False),
        (
            "check_availability",
            {"appointment_id": "apt_3f9c2a7b1d0e4c5a", "date": "Freitag", "time": "11 Uhr"},
            True,
        ),
        ("check_availability", {"service": "Dauerwelle", "date": 26, "time": "10:45"}, False),
        ("start_booking", {"customer_name": "Schmidt mit d t"}, True),
        (
            "start_booking",
            {
                "customer_name": "Frau Jana Müller",
                "customer_phone": "0151 12345678",
                "customer_email": "jana@example.de",
                "service": "Färben",
                "date": "nächsten Dienstag",
                "time": "14 Uhr",
            },
            True,
        ),
        ("start_booking", {"customer_phone": "0151 12345678"}, False),
        ("extend_hold", {}, True),
        ("cancel_hold", {}, True),
        ("booking_status", {}, True),
        ("find_appointments", {}, True),
        ("find_appointments", {"customer_name": "Jana Müller", "date": "Freitag"}, True),
        ("cancel_appointment", {}, True),
        ("cancel_appointment", {"appointment_id": "apt_3f9c2a7b1d0e4c5a"}, True),
        ("cancel_appointment", {"appointment_id": 7}, False),
        (
            "reschedule_appointment",
            {"appointment_id": "apt_1", "date": "morgen", "time": "9"},
            True,
        ),
        ("reschedule_appointment", {"time": 9}, False),
    ],
)
def test_parameter_schemas_take_the_contracts_arguments(
    name: str, args: dict[str, Any], valid: bool
) -> None:
    assert _validator(name).is_valid(args) is valid


def test_a_stylist_is_optional_and_asked_for_only_on_a_hint() -> None:
    check = _validator("check_availability")
    slot = {"service": "Herrenhaarschnitt", "date": "morgen", "time": "10 Uhr"}
    assert check.is_valid(slot) and check.is_valid({**slot, "stylist": "bei Anna"})
    assert not check.is_valid({"stylist": "Anna"})
    assert _validator("start_booking").is_valid({"customer_name": "Eva", **slot, "stylist": "Ben"})
    prompt = agent_prompt()
    assert "Frag nicht von dir aus, bei wem" in prompt and "`stylist`" in prompt


def test_every_parameter_is_explained_in_german_with_an_example() -> None:
    for tool in tool_definitions(BASE):
        for prop, schema in tool["parameters"]["properties"].items():
            assert schema["type"] == "string", prop
            assert "z. B." in schema["description"] or "Beispiele" in schema["description"], prop


# --- the prompt -----------------------------------------------------------------------

# Answer fields and codes of shared/contracts/interface.md the prompt may refer to.
ANSWER_WORDS = {
    "available", "alternatives", "label", "error", "message", "booked", "status",
    "unknown_service", "invalid_date", "invalid_time", "in_the_past", "outside_opening_hours",
    "too_far_ahead", "unknown_stylist",
    # existing appointments
    "appointment_id", "cancelled", "too_late", "ambiguous", "not_found",
    "previous_appointment_id",
}  # fmt: skip


def test_the_prompt_uses_every_tool_and_names_nothing_that_does_not_exist() -> None:
    prompt = agent_prompt()
    tools = tool_definitions(BASE)
    parameters = {p for t in tools for p in t["parameters"]["properties"]}
    quoted = set(re.findall(r"`([a-z_]+)`", prompt))
    assert set(CONTRACT_NAMES) <= quoted
    assert quoted - set(CONTRACT_NAMES) - parameters - ANSWER_WORDS == set()


def test_the_prompt_covers_the_hold_conversation() -> None:
    prompt = agent_prompt()
    assert "festhalte" in prompt  # says the slot is held
    lost = prompt[prompt.index("verloren") :]
    assert "**zuerst**" in lost and "alternatives" in lost  # alternatives before anything
    assert "höchstens einmal ums Buchstabieren" in prompt
    assert "genau einmal" in prompt  # the understood name is repeated once


def test_the_prompt_greets_a_known_caller_and_covers_cancel_and_move() -> None:
    prompt = agent_prompt()
    variables = set(re.findall(r"\{\{([a-z_]+)\}\}", prompt))
    assert variables == {"customer_known", "customer_name", "next_appointment"}
    assert "Spreche ich mit {{customer_name}}?" in prompt
    cancel = prompt[prompt.index("absagen") :]
    assert "`cancel_appointment`" in cancel and "im Salon" in cancel  # too_late: call the salon
    move = prompt[prompt.index("verschieben", prompt.index("### 8")) :]
    assert "`check_availability`" in move and "`appointment_id`" in move
    assert "`reschedule_appointment`" in move and "nie mit `start_booking`" in move
    assert "customer_name" in prompt[prompt.index("### 6") :]  # another number: name + day


# --- retell-setup against a recording transport --------------------------------------

END_CALL = {"type": "end_call", "name": "end_call", "description": "Auflegen nach Verabschiedung."}
PRICES = {
    "type": "custom",
    "name": "lookup_prices",
    "url": "https://prices.example.com/tool",
    "description": "Preise nachschlagen.",
    "speak_after_execution": True,
    "speak_during_execution": False,
    "parameters": {
        "type": "object",
        "properties": {"service": {"type": "string"}},
        "additionalProperties": False,
    },
}
OLD_CHECK = {
    "type": "custom",
    "name": "check_availability",
    "url": "https://old.example.com/check",
    "speak_after_execution": True,
    "speak_during_execution": False,
}


class FakeRetell:
    """Answers like Retell's API (shapes from retell-sdk's response models), keeps the
    LLM's tools between requests and records every request."""

    def __init__(self, engine: dict[str, Any], tools: list[dict[str, Any]]) -> None:
        self.engine = engine
        self.tools = copy.deepcopy(tools)
        self.webhook_url: str | None = None
        self.inbound: dict[str, str] = {}
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.refuse_llm_update = False

    def client(self) -> retell.Retell:
        return retell.Retell(
            api_key="key_test",
            max_retries=0,
            http_client=httpx.Client(transport=httpx.MockTransport(self)),
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body: Any = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, dict(request.url.params), body))
        assert request.headers["Authorization"] == "Bearer key_test"
        path = request.url.path
        if path == "/get-agent/agent_1":
            return httpx.Response(200, json=self._agent())
        if path == "/update-agent/agent_1":
            self.webhook_url = body["webhook_url"]
            return httpx.Response(200, json=self._agent())
        if path.startswith("/update-phone-number/"):
            number = path.removeprefix("/update-phone-number/")
            self.inbound[number] = body["inbound_webhook_url"]
            return httpx.Response(
                200,
                json={
                    "phone_number": number,
                    "inbound_webhook_url": body["inbound_webhook_url"],
                    "last_modification_timestamp": 1735689600000,
                },
            )
        if path == "/get-retell-llm/llm_1":
            return httpx.Response(200, json=self._llm())
        if path == "/update-retell-llm/llm_1":
            if self.refuse_llm_update:
                return httpx.Response(
                    400, json={"status": "error", "message": "Cannot update published LLM"}
                )
            self.tools = body["general_tools"]
            return httpx.Response(200, json=self._llm())
        return httpx.Response(404, json={"status": "error", "message": "Not Found"})

    def _agent(self) -> dict[str, Any]:
        return {
            "agent_id": "agent_1",
            "agent_name": "Salon Haarmonie",
            "version": 3,
            "is_published": False,
            "response_engine": self.engine,
            "voice_id": "11labs-Anna",
            "language": "de-DE",
            "webhook_url": self.webhook_url,
            "last_modification_timestamp": 1735689600000,
        }

    def _llm(self) -> dict[str, Any]:
        return {
            "llm_id": "llm_1",
            "version": 3,
            "is_published": False,
            "model": "gpt-4.1",
            "general_prompt": "Du bist die Stimme des Salons.",
            "general_tools": self.tools,
            "last_modification_timestamp": 1735689600000,
        }


RETELL_LLM_V3 = {"type": "retell-llm", "llm_id": "llm_1", "version": 3}


def test_apply_replaces_our_tools_in_place_keeps_the_others_and_sets_the_webhook() -> None:
    fake = FakeRetell(RETELL_LLM_V3, [END_CALL, OLD_CHECK, PRICES])
    setup = apply_to_agent(fake.client(), "agent_1", BASE)
    ours = tool_definitions(BASE)
    merged = [END_CALL, ours[0], PRICES, *ours[1:]]
    hook = "https://salon.example.com/retell/webhook"
    assert fake.requests == [
        ("GET", "/get-agent/agent_1", {}, None),
        ("GET", "/get-retell-llm/llm_1", {"version": "3"}, None),
        ("PATCH", "/update-retell-llm/llm_1", {"version": "3"}, {"general_tools": merged}),
        ("PATCH", "/update-agent/agent_1", {}, {"webhook_url": hook}),
    ]
    assert setup.replaced == ("check_availability",)
    assert setup.created == tuple(CONTRACT_NAMES[1:])
    assert setup.kept == ("end_call", "lookup_prices")
    assert setup.inbound_webhook_url is None  # no phone number given: numbers untouched


def test_apply_twice_changes_nothing_the_second_time() -> None:
    fake = FakeRetell({"type": "retell-llm", "llm_id": "llm_1"}, [PRICES])
    apply_to_agent(fake.client(), "agent_1", BASE)
    after_first = copy.deepcopy(fake.tools)
    fake.requests.clear()
    second = apply_to_agent(fake.client(), "agent_1", BASE)
    assert fake.tools == after_first
    assert [r[2] for r in fake.requests] == [{}, {}, {}, {}]  # no version pinned: latest
    assert second.created == () and second.replaced == tuple(CONTRACT_NAMES)


def test_a_phone_number_gets_the_inbound_webhook() -> None:
    fake = FakeRetell(RETELL_LLM_V3, [])
    console, out = _console()
    code = run(BASE, "agent_1", None, console, client=fake.client(), phone_number="+4930555000")
    assert code == 0
    assert fake.inbound == {"+4930555000": "https://salon.example.com/retell/inbound"}
    assert "inbound webhook of +4930555000: https://salon.example.com/retell/inbound" in (
        out.getvalue()
    )


def test_a_conversation_flow_agent_is_refused_before_anything_is_written() -> None:
    fake = FakeRetell({"type": "conversation-flow", "conversation_flow_id": "cf_1"}, [])
    with pytest.raises(RetellSetupError, match="conversation-flow"):
        apply_to_agent(fake.client(), "agent_1", BASE)
    assert [r[0] for r in fake.requests] == ["GET"]


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200, color_system=None), out


def test_run_without_agent_prints_the_definitions_as_json() -> None:
    console, out = _console()
    assert run(BASE, None, None, console) == 0
    assert json.loads(out.getvalue()) == tool_definitions(BASE)
    assert "Prüft" in out.getvalue()  # umlauts as text, not \u escapes
    assert json.loads(definitions_json(BASE)) == tool_definitions(BASE)


def test_run_with_agent_installs_and_reports() -> None:
    fake = FakeRetell(RETELL_LLM_V3, [END_CALL])
    console, out = _console()
    assert run(BASE, "agent_1", None, console, client=fake.client()) == 0
    assert [t["name"] for t in fake.tools] == ["end_call", *CONTRACT_NAMES]
    assert fake.webhook_url == "https://salon.example.com/retell/webhook"
    text = out.getvalue()
    assert "tools added:    check_availability, start_booking" in text
    assert "https://salon.example.com/calcom/webhook" in text
    assert "https://salon.example.com/retell/inbound" in text  # says where to set it


def test_run_reports_retells_refusal_and_fails() -> None:
    fake = FakeRetell(RETELL_LLM_V3, [])
    fake.refuse_llm_update = True
    console, out = _console()
    assert run(BASE, "agent_1", None, console, client=fake.client()) == 1
    assert "400" in out.getvalue() and "Cannot update published LLM" in out.getvalue()
    assert fake.webhook_url is None  # nothing half-done on the agent


@pytest.mark.parametrize(
    ("base_url", "agent_id", "needle"),
    [
        ("salon.example.com", None, "absolute http(s) URL"),
        ("https://salon.example.com?x=1", None, "query"),
        (BASE, "agent_1", "RETELL_API_KEY"),
    ],
)
def test_run_refuses_bad_input(base_url: str, agent_id: str | None, needle: str) -> None:
    console, out = _console()
    assert run(base_url, agent_id, None, console) == 2
    assert needle in out.getvalue()


def test_run_warns_about_a_local_url_and_reports_an_unreachable_retell() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    offline = retell.Retell(
        api_key="key_test",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(refuse)),
    )
    console, out = _console()
    assert run("http://localhost:8000", "agent_1", None, console, client=offline) == 1
    assert "localhost is not reachable from Retell's servers" in out.getvalue()
    assert "Retell could not be reached" in out.getvalue()
