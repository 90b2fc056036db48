"""``booking replay``: replay histories with the worker's workflows and data converter
(decrypting with ``PAYLOAD_ENCRYPTION_KEYS`` when set; unencrypted histories replay too)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from config import Settings
from payload_codec import KeyRing
from workflows.call import CallWorkflow
from workflows.connect import connect
from workflows.converter import data_converter_for
from workflows.lookup import CallerLookupWorkflow
from workflows.outside_booking import CalcomBookingEventWorkflow

WORKFLOWS = [CallWorkflow, CalcomBookingEventWorkflow, CallerLookupWorkflow]


def replayer(keys: KeyRing | None = None) -> Replayer:
    """A replayer of the project's workflows; ``keys`` decrypt encrypted histories."""
    return Replayer(workflows=WORKFLOWS, data_converter=data_converter_for(keys))


def load_history(path: Path) -> WorkflowHistory:
    """A history file as written by ``temporal workflow show -o json`` or by our recorder."""
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


async def run_replay(settings: Settings, files: list[Path], query: str | None, limit: int) -> int:
    """Replay ``files`` and/or the histories matching ``query``; 0 when all replay cleanly."""
    console = Console()
    failures = 0
    total = 0
    rp = replayer(settings.payload_key_ring)
    for path in files:
        total += 1
        try:
            await rp.replay_workflow(load_history(path))
            console.print(f"[green]ok[/]   {path}")
        except Exception as exc:  # report every history, then fail
            failures += 1
            console.print(f"[red]FAIL[/] {path}: {exc}")
    if query:
        client = await connect(settings)
        histories = client.list_workflows(query, limit=limit).map_histories()
        async with rp.workflow_replay_iterator(histories) as results:
            async for result in results:
                total += 1
                if result.replay_failure:
                    failures += 1
                    console.print(f"[red]FAIL[/] {result.replay_failure}")
        console.print(f"fetched by query: {query}")
    console.print(f"{total - failures}/{total} histories replayed cleanly")
    return 1 if failures or total == 0 else 0
