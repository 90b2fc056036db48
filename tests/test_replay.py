"""Every recorded history must replay against the current workflow code."""

from __future__ import annotations

from pathlib import Path

import pytest

from booking_cli.replay import load_history, replayer

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_every_path_of_the_call_workflow_has_a_history() -> None:
    names = {p.stem for p in HISTORIES}
    assert {
        "booked",
        "slot_taken",
        "outside_booking",
        "compensated",
        "lost_response",
        "expired_then_rebooked",
        "extended_then_cancelled",
        "hung_up",
        "stylist_named_taken",
        "stylist_next_free",
    } <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_deterministically(path: Path) -> None:
    await replayer().replay_workflow(load_history(path))
