"""Every recorded history must replay against the current workflow code.

Two kinds of fixture (``tests/record_histories.py``): ``encrypted_*.json`` were written
through the payload codec with the suite's TEST key (``TEST_PAYLOAD_KEYS`` in
tests/harness.py: public, in the repository, never a production key); the others are
histories as written before the codec. Both replay with the replayer a worker with
``PAYLOAD_ENCRYPTION_KEYS`` set uses: encrypted payloads are decrypted, unencrypted ones
pass through.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from booking_cli.replay import load_history, replayer
from payload_codec import ENCODING
from tests.harness import TEST_KEY_2, TEST_PAYLOAD_KEYS, key_ring

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
ENCRYPTED = [p for p in HISTORIES if p.stem.startswith("encrypted_")]
PLAIN = [p for p in HISTORIES if p not in ENCRYPTED]
# Production after a rotation: a new key first, the fixtures' key still listed.
KEYS = f"{TEST_KEY_2},{TEST_PAYLOAD_KEYS}"


def encodings(path: Path) -> set[bytes]:
    """The encodings of every payload a workflow received (inputs, update arguments,
    activity results) in the history at ``path``."""
    found = set()
    for event in load_history(path).events:
        for field in (
            event.workflow_execution_started_event_attributes.input,
            event.workflow_execution_update_accepted_event_attributes.accepted_request.input.args,
            event.activity_task_completed_event_attributes.result,
        ):
            found |= {p.metadata["encoding"] for p in field.payloads}
    return found


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
        "check_during_booking",  # a check while Cal.com books: answered "booking"
        "degraded_hold",  # Cal.com failed the reservations: held in our database only
        "cancelled_during_booking",  # ops cancel the workflow: compensated, released
        # existing appointments (issue 16)
        "appointment_moved",
        "move_failed",
        "appointment_cancelled",
        "cancel_too_late",
        "cancelled_in_calcom",
        "calcom_cancelled_appointment",
        "caller_lookup",
        "stylist_named_taken",
        "stylist_next_free",
    } <= names
    assert {"encrypted_booked", "encrypted_compensated"} <= names


def test_the_two_kinds_of_fixture_are_what_their_names_say() -> None:
    for path in ENCRYPTED:
        assert encodings(path) == {ENCODING}, path.name
    for path in PLAIN:
        assert ENCODING not in encodings(path), path.name


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_deterministically(path: Path) -> None:
    await replayer(key_ring(KEYS)).replay_workflow(load_history(path))


@pytest.mark.parametrize("path", ENCRYPTED, ids=[p.stem for p in ENCRYPTED])
async def test_an_encrypted_history_does_not_replay_without_its_key(path: Path) -> None:
    """It really is encrypted: the replay above passed because it was decrypted."""
    result = await replayer(key_ring(TEST_KEY_2)).replay_workflow(
        load_history(path), raise_on_replay_failure=False
    )
    assert result.replay_failure is not None
    assert "UnknownKeyError" in str(result.replay_failure)  # not some other failure


def test_booking_replay_decrypts_with_the_configured_keys() -> None:
    env = {**os.environ, "PAYLOAD_ENCRYPTION_KEYS": KEYS}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "booking"), "replay", *map(str, HISTORIES)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(HISTORIES)}/{len(HISTORIES)} histories replayed cleanly" in done.stdout
