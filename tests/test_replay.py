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
        # existing appointments (issue 16)
        "appointment_moved",
        "move_failed",
        "appointment_cancelled",
        "cancel_too_late",
        "cancelled_in_calcom",
        "calcom_cancelled_appointment",
        "caller_lookup",
    } <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_deterministically(path: Path) -> None:
    await replayer().replay_workflow(load_history(path))
