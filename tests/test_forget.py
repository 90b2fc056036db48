"""``booking forget --phone``: after it, no text column of any table holds the customer's
name, phone or e-mail; other customers are untouched; a second run changes nothing and
says so. Bookings go through the real workflow, worker, Cal.com simulator and PostgreSQL;
the command runs as the console script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from contracts.messages import CallEnded, Customer, StartBooking
from domain.phones import region_for_timezone, to_e164
from store.appointments import AppointmentRecord, record_appointment
from tests.harness import call_stack, next_open_day, unique
from workflows.call import CallWorkflow

BIN = Path(sys.executable).parent
FORGET_NAME = ("Waltraud", "Pfefferkorn")
FORGET_EMAIL = "w.pfefferkorn@example.org"
PHONE_DIGITS = "1701234567"
KEEP_NAME = ("Bernhard", "Quellmalz")
KEEP_PHONE = "+4915198765432"


def personal_data_in_store(url: str) -> dict[str, set[str]]:
    """Every text-like column of every table, searched for both customers' data; per
    customer the pieces found (the phone as digits, whatever its format)."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
    values: list[str] = []
    with psycopg.connect(conninfo) as conn:
        columns = conn.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')"
        ).fetchall()
        assert {c[2] for c in columns} >= {"customer_name", "customer_phone", "customer_email"}
        for schema, table, column in columns:
            rows = conn.execute(f'SELECT "{column}"::text FROM "{schema}"."{table}"').fetchall()
            values += [r[0] for r in rows if r[0] is not None]
    found: dict[str, set[str]] = {"forget": set(), "keep": set()}
    for value in values:
        digits = re.sub(r"\D", "", value)
        found["forget"] |= {p for p in (*FORGET_NAME, FORGET_EMAIL) if p in value}
        found["keep"] |= {p for p in KEEP_NAME if p in value}
        if PHONE_DIGITS in digits:
            found["forget"].add("phone")
        if KEEP_PHONE[3:] in digits:
            found["keep"].add("phone")
    return found


def dump(url: str) -> list[tuple]:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(conninfo) as conn:
        return conn.execute("SELECT * FROM appointments ORDER BY id").fetchall()


def forget(url: str, phone: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "SALON_TIMEZONE": "Europe/Berlin"}
    return subprocess.run(
        [str(BIN / "booking"), "forget", "--phone", phone, "--database-url", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def book(stack, customer: Customer, hour: int, from_number: str = "+4930123456") -> str:
    call_id = unique("forget")
    start = next_open_day(hour=hour)
    assert (await stack.check(call_id, "Färben", start, from_number=from_number)).available
    handle = stack.handle(call_id)
    booked = await handle.execute_update(
        CallWorkflow.start_booking, StartBooking(customer=customer)
    )
    assert booked.booked
    await handle.signal(CallWorkflow.call_ended, CallEnded())
    await handle.result()
    return str(booked.appointment_id)


def test_phones_are_compared_as_numbers_in_the_salons_country():
    assert region_for_timezone("Europe/Berlin") == "DE"
    assert region_for_timezone("Europe/Vienna") == "AT"
    forms = ["+491701234567", "0170 1234567", "0049 170 123 45 67", "+49 (0)170 1234567"]
    assert {to_e164(f, "DE") for f in forms} == {"+491701234567"}
    assert to_e164("0170 1234567", "AT") != "+491701234567"
    assert to_e164("keine Ahnung", "DE") is None


async def test_forget_leaves_no_trace_of_the_customer_and_is_idempotent(
    temporal_client, database_url, simulator, sim
):
    name = " ".join(FORGET_NAME)
    async with call_stack(temporal_client, database_url, simulator) as stack:
        # Booked by phone from the mobile (E.164 from the telephony provider), ...
        by_phone = await book(
            stack, Customer(name=name, phone="+491701234567", email=FORGET_EMAIL), 10
        )
        # ... by a call from the mobile, leaving the salon another callback number and
        # how to address them (the caller is recognised by both next time), ...
        from_mobile = await book(
            stack,
            Customer(name=name, phone="+4930555111", addressed=f"Frau {FORGET_NAME[1]}"),
            16,
            from_number="+491701234567",
        )
        other = await book(stack, Customer(name=" ".join(KEEP_NAME), phone=KEEP_PHONE), 13)
    # ... and once with the number as spoken ("null eins sieben null ...").
    day = next_open_day(hour=15)
    spoken = AppointmentRecord(
        id="apt_spoken_number",
        call_id=unique("forget-spoken"),
        service="Föhnen",
        start=day,
        end=day + timedelta(minutes=30),
        customer_name=f"Frau {FORGET_NAME[1]}",
        customer_phone="0170 123 45 67",
    )
    from store.db import create_engine_for

    engine = create_engine_for(database_url)
    try:
        assert await record_appointment(engine, appointment=spoken)
    finally:
        await engine.dispose()
    before = personal_data_in_store(database_url)
    assert before == {
        "forget": {*FORGET_NAME, FORGET_EMAIL, "phone"},
        "keep": {*KEEP_NAME, "phone"},
    }

    first = forget(database_url, "0170/1234567")
    assert first.returncode == 0, first.stdout + first.stderr
    assert personal_data_in_store(database_url) == {
        "forget": set(),
        "keep": {*KEEP_NAME, "phone"},
    }
    # It lists what it changed, and what is kept elsewhere ...
    for expected in (
        by_phone,
        from_mobile,
        "apt_spoken_number",
        "name, phone, e-mail",
        "Cal.com",
        "Temporal",
    ):
        assert expected in first.stdout, (expected, first.stdout)
    calcom_uids = [
        b["uid"] for b in (await sim.state())["bookings"] if b["attendees"][0]["name"] == name
    ]
    assert calcom_uids and all(uid in first.stdout for uid in calcom_uids)
    assert other not in first.stdout
    # ... without printing the customer's data.
    assert not any(p in first.stdout for p in (*FORGET_NAME, FORGET_EMAIL, "1701234567"))

    rows = dump(database_url)
    second = forget(database_url, "+49 170 1234567")
    assert second.returncode == 0
    assert "Nothing changed" in second.stdout and by_phone not in second.stdout
    assert dump(database_url) == rows
    assert len(rows) == 4  # appointments stay (anonymised): the salon's books need them


@pytest.mark.parametrize("phone", ["", "keine Nummer"])
def test_forget_refuses_what_is_not_a_phone_number(database_url, phone):
    refused = forget(database_url, phone)
    assert refused.returncode == 2 and "not a phone number" in refused.stdout
