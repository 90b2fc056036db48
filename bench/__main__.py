"""``make bench`` / ``python -m bench``: the incident analysis' numbers, measured side by
side on this machine in one run, written to ``docs/benchmarks.md``.

1. Orchestration overhead of check_availability and start_booking through the real API,
   minus the bare Cal.com calls each needs (simulator at zero latency).
2. Compound booking time at 0.5 s and 2.5 s Cal.com latency: parallel saga vs. sequential.
3. The race of the analysis' timing diagram: callers told "available" who lose the slot,
   with holds vs. an agent that checks and books Cal.com directly.
4. Load: 200 concurrent calls against one worker and one API process.

Timings are reported, never asserted (tests assert behaviour only).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psutil
from rich.console import Console
from rich.table import Table

from bench.stack import RetellClient, Stack, running_stack
from calcom.client import CalcomClient
from calcom.errors import CalcomError
from calcom.models import Attendee, BookingRequest
from calsim.control import SimControlError
from domain.planning import plan_service
from observability.logging import configure_logging
from tests.harness import double_bookings

ROOT = Path(__file__).resolve().parent.parent
ZONE = ZoneInfo("Europe/Berlin")
console = Console()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


class Slots:
    """Distinct, non-overlapping starts on open weekdays, handed out in order."""

    def __init__(
        self, step_minutes: int, first_hour: int, last_start_hour: int, first_day: Any = None
    ) -> None:
        self.step = step_minutes
        self.first_hour, self.last = first_hour, last_start_hour
        self.day = first_day or datetime.now(ZONE).date() + timedelta(days=2)
        self.minute = 0

    def next(self) -> datetime:
        while True:
            if self.day.weekday() >= 5:
                self.day += timedelta(days=1)
                self.minute = 0
                continue
            start = datetime(
                self.day.year, self.day.month, self.day.day, self.first_hour, tzinfo=ZONE
            ) + timedelta(minutes=self.minute)
            if start.hour > self.last or (start.hour == self.last and start.minute > 0):
                self.day += timedelta(days=1)
                self.minute = 0
                continue
            self.minute += self.step
            return start


def date_args(start: datetime) -> dict[str, str]:
    local = start.astimezone(ZONE)
    return {"date": f"{local.day}.{local.month}.{local.year}", "time": local.strftime("%H:%M")}


# Every benchmark takes its two-hour perm slots from here, so none collides with another.
PERMS = Slots(120, 9, 15)


@dataclass
class Report:
    sections: list[str] = field(default_factory=list)

    def table(self, title: str, header: list[str], rows: list[list[str]], note: str = "") -> None:
        t = Table(title=title)
        for h in header:
            t.add_column(h)
        for r in rows:
            t.add_row(*r)
        console.print(t)
        if note:
            console.print(note)
        md = [f"### {title}", "", "| " + " | ".join(header) + " |"]
        md.append("|" + "---|" * len(header))
        md += ["| " + " | ".join(r) + " |" for r in rows]
        if note:
            md += ["", note]
        self.sections.append("\n".join(md))


# The perm with one named stylist (Ben, the demo catalog's first for it): the same three
# event types the bare Cal.com comparisons and the web customers use (plan_service plans
# with the service's first stylist). "Anyone" would ask Cal.com about Carla's too.
BEN_PERM = {"service": "Dauerwelle", "stylist": "Ben"}


# ------------------------------------------------------------------ 1. overhead
async def bench_overhead(stack: Stack, report: Report, n: int) -> None:
    await stack.sim.set_latency("*", 0)
    retell = RetellClient(stack.api_url)
    service = stack.catalog.service("Dauerwelle")
    slots = PERMS
    check_t, book_t, bare_check_t, bare_book_t = [], [], [], []
    async with CalcomClient(stack.simulator.url, stack.simulator.api_key) as calcom:
        for i in range(n + 3):
            call_id = f"bench-ovh-{i}-{random.randrange(1 << 30)}"
            start = slots.next()
            t0 = time.perf_counter()
            check = await retell.function(
                call_id, "check_availability", {**BEN_PERM, **date_args(start)}
            )
            t1 = time.perf_counter()
            booking = await retell.function(
                call_id, "start_booking", {"customer_name": "Bench Mark"}
            )
            t2 = time.perf_counter()
            await retell.webhook("call_ended", call_id)
            assert check["available"] and booking["booked"], (check, booking)
            # The bare Cal.com calls the same steps need, on another free slot.
            plan = plan_service(service, slots.next())
            staffed = plan.staffed
            b0 = time.perf_counter()
            await asyncio.gather(
                *(
                    calcom.get_slots(s.calcom_event_type_id, s.start, s.end, "Europe/Berlin")
                    for s in staffed
                    if s.calcom_event_type_id
                )
            )
            reservations = await asyncio.gather(
                *(
                    calcom.reserve_slot(
                        s.calcom_event_type_id,
                        s.start,
                        int((s.end - s.start).total_seconds() // 60),
                        reservation_minutes=2,
                    )
                    for s in staffed
                    if s.calcom_event_type_id
                )
            )
            b1 = time.perf_counter()
            await asyncio.gather(*(calcom.get_reservation(r.uid) for r in reservations))
            await asyncio.gather(
                *(
                    calcom.create_booking(_request(s, r.uid, f"bare-{i}"))
                    for s, r in zip(staffed, reservations, strict=True)
                )
            )
            b2 = time.perf_counter()
            if i >= 3:  # warm-up excluded
                check_t.append(t1 - t0)
                book_t.append(t2 - t1)
                bare_check_t.append(b1 - b0)
                bare_book_t.append(b2 - b1)
    await retell.aclose()
    bare_c, bare_b = statistics.median(bare_check_t), statistics.median(bare_book_t)
    over_c = [t - bare_c for t in check_t]
    over_b = [t - bare_b for t in book_t]
    rows = []
    for name, api, bare, over in (
        ("check_availability", check_t, bare_c, over_c),
        ("start_booking", book_t, bare_b, over_b),
    ):
        rows.append(
            [
                name,
                ms(pct(api, 0.5)),
                ms(pct(api, 0.95)),
                ms(pct(api, 0.99)),
                ms(bare),
                ms(pct(over, 0.5)),
                ms(pct(over, 0.95)),
            ]
        )
    report.table(
        f"1. Orchestration overhead (Dauerwelle, 3 staffed segments, {n} calls, simulator at "
        "zero latency)",
        ["function", "API p50", "API p95", "API p99", "bare Cal.com", "overhead p50", "p95"],
        rows,
        "Bare Cal.com: check = 3 slot queries + 3 reservations (each group in parallel); "
        "booking = 3 reservation reads + 3 bookings. Goal: check overhead p50 <= 50 ms, "
        "p95 <= 150 ms.",
    )


def _request(seg: Any, reservation_uid: str | None, tag: str) -> BookingRequest:
    return BookingRequest(
        event_type_id=seg.calcom_event_type_id,
        start=seg.start,
        length_in_minutes=int((seg.end - seg.start).total_seconds() // 60),
        attendee=Attendee(
            name="Bench Mark", time_zone="Europe/Berlin", phone_number="+4915112345678"
        ),
        reserved_slot_uid=reservation_uid,
        metadata={"source": "bench", "tag": tag, "segment": seg.key},
    )


# ------------------------------------------------------------------ 2. compound booking
async def bench_compound(stack: Stack, report: Report, runs: dict[float, int]) -> None:
    retell = RetellClient(stack.api_url)
    service = stack.catalog.service("Dauerwelle")
    slots = PERMS
    rows = []
    async with CalcomClient(stack.simulator.url, stack.simulator.api_key) as calcom:
        for latency, n in runs.items():
            parallel, sequential, single = [], [], []
            for i in range(n):
                await stack.sim.set_latency("/v2/bookings", 0)
                call_id = f"bench-cmp-{latency}-{i}-{random.randrange(1 << 30)}"
                check = await retell.function(
                    call_id,
                    "check_availability",
                    {**BEN_PERM, **date_args(slots.next())},
                )
                assert check["available"], check
                await stack.sim.set_latency("/v2/bookings", latency)
                t0 = time.perf_counter()
                answer = await retell.function(
                    call_id, "start_booking", {"customer_name": "Bench Mark"}
                )
                while answer["status"] == "pending":
                    await asyncio.sleep(0.05)
                    answer = await retell.function(call_id, "booking_status", {})
                parallel.append(time.perf_counter() - t0)
                assert answer["booked"], answer
                await retell.webhook("call_ended", call_id)
                # The same segments, one after another (the analysis' 8.2 s pattern).
                plan = plan_service(service, slots.next())
                t1 = time.perf_counter()
                for seg in plan.staffed:
                    await calcom.create_booking(_request(seg, None, f"seq-{i}"))
                sequential.append(time.perf_counter() - t1)
                one = plan_service(stack.catalog.service("Herrenhaarschnitt"), slots.next())
                t2 = time.perf_counter()
                await calcom.create_booking(_request(one.staffed[0], None, f"one-{i}"))
                single.append(time.perf_counter() - t2)
            one_booking = statistics.median(single)
            rows.append(
                [
                    f"{latency:.1f} s",
                    str(n),
                    f"{statistics.median(single):.2f} s",
                    f"{statistics.median(parallel):.2f} s",
                    f"{statistics.median(sequential):.2f} s",
                    f"{statistics.median(parallel) / one_booking:.2f}x",
                    f"{statistics.median(sequential) / one_booking:.2f}x",
                ]
            )
    await stack.sim.set_latency("/v2/bookings", 0)
    await retell.aclose()
    report.table(
        "2. Compound booking (Dauerwelle: A, B, D booked; C is the staff-free gap)",
        [
            "Cal.com latency per booking",
            "runs",
            "one booking",
            "parallel saga (API, end to end)",
            "sequential",
            "saga / one",
            "sequential / one",
        ],
        rows,
        "The saga's time is the whole start_booking answer through the API (re-validating "
        "the hold, booking A, B, D in parallel, recording the appointment). Goal: <= 1.3x "
        "one booking. The analysis measured 8.2 s sequentially (target 3.1 s).",
    )


# ------------------------------------------------------------------ 3. race
async def bench_race(stack: Stack, report: Report, callers: int, web_share: float) -> None:
    """Each caller checks, talks 0.3-0.6 s (30-60 s scaled 1:100), books. With probability
    ``web_share`` a web customer books the same slot on Cal.com's page meanwhile."""
    rng = random.Random(7)
    plans = []
    slots = PERMS
    service = stack.catalog.service("Dauerwelle")
    for _ in range(callers):
        plans.append(
            (plan_service(service, slots.next()), rng.random() < web_share, rng.uniform(0.3, 0.6))
        )
    retell = RetellClient(stack.api_url)

    async def web_customer(plan: Any, delay: float) -> None:
        await asyncio.sleep(delay)
        a = plan.staffed[0]
        try:  # Cal.com's booking page respects reservations
            await stack.sim.outside_booking(a.calcom_event_type_id, a.start, name="Web")
        except SimControlError:
            pass

    async def with_holds(i: int, plan: Any, web: bool, talk: float) -> tuple[bool, bool]:
        call_id = f"bench-race-{i}-{random.randrange(1 << 30)}"
        check = await retell.function(
            call_id, "check_availability", {**BEN_PERM, **date_args(plan.start)}
        )
        if not check["available"]:
            return False, False
        tasks = [asyncio.create_task(web_customer(plan, talk / 2))] if web else []
        await asyncio.sleep(talk)
        booking = await retell.function(call_id, "start_booking", {"customer_name": "Race"})
        while booking["status"] == "pending":
            await asyncio.sleep(0.1)
            booking = await retell.function(call_id, "booking_status", {})
        await asyncio.gather(*tasks)
        await retell.webhook("call_ended", call_id)
        return True, not booking["booked"]

    async with CalcomClient(stack.simulator.url, stack.simulator.api_key) as calcom:

        async def direct(i: int, plan: Any, web: bool, talk: float) -> tuple[bool, bool]:
            """The old agent: /slots, talk, book every segment; nothing held."""
            free = await asyncio.gather(
                *(
                    calcom.get_slots(s.calcom_event_type_id, s.start, s.end, "Europe/Berlin")
                    for s in plan.staffed
                )
            )
            if not all(
                any(x.start == s.start for x in f) for s, f in zip(plan.staffed, free, strict=True)
            ):
                return False, False
            tasks = [asyncio.create_task(web_customer(plan, talk / 2))] if web else []
            await asyncio.sleep(talk)
            lost = False
            for seg in plan.staffed:
                try:
                    await calcom.create_booking(_request(seg, None, f"direct-{i}"))
                except CalcomError:
                    lost = True
                    break
            await asyncio.gather(*tasks)
            return True, lost

        results = {}
        for name, fn in (("with holds (this system)", with_holds), ("direct (baseline)", direct)):
            await stack.sim.reset()
            # Fresh slots for the second scenario, same web customers and talk times.
            if name.startswith("direct"):
                plans = [(plan_service(service, slots.next()), w, t) for _, w, t in plans]
            shifted = plans
            outcomes = await asyncio.gather(
                *(fn(i, p, w, t) for i, (p, w, t) in enumerate(shifted))
            )
            told = sum(1 for ok, _ in outcomes if ok)
            lost = sum(1 for ok, lost in outcomes if ok and lost)
            results[name] = (told, lost)
    await retell.aclose()
    rows = [
        [name, str(callers), str(told), str(lost), f"{100 * lost / max(told, 1):.0f} %"]
        for name, (told, lost) in results.items()
    ]
    report.table(
        f"3. Race after the analysis' timing diagram ({web_share:.0%} of slots also wanted "
        "by a web customer mid-call)",
        ["agent", "callers", "told 'available'", "then lost the slot", "lost share"],
        rows,
        "Talk time 30-60 s scaled 1:100. Goal: 0 % with holds vs. the baseline "
        "(the analysis reports 30 %).",
    )


# ------------------------------------------------------------------ 4. load
# 200 calls in progress at once: they arrive within 10 s and talk 5-10 s (scaled down from
# 30-60 s) between the check and the booking.
RAMP_SECONDS = 10.0
TALK_SECONDS = (5.0, 10.0)


async def bench_load(stack: Stack, report: Report, calls: int) -> int:
    """Returns the number of double bookings (the run fails unless it is zero)."""
    rng = random.Random(11)
    services = ["Herrenhaarschnitt", "Damenhaarschnitt", "Föhnen", "Dauerwelle", "Färben"]
    # Every caller wants a slot of their own, except one in five who wants a slot another
    # caller wants too: conflicts and alternatives happen, as on a busy morning.
    slots = Slots(120, 9, 15, first_day=PERMS.day + timedelta(weeks=10))
    own = [slots.next() for _ in range(calls)]
    wanted = [
        own[i] if i < 5 or rng.random() >= 0.2 else own[rng.randrange(i)] for i in range(calls)
    ]
    retell = RetellClient(stack.api_url)
    before = (await stack.sim.state())["request_count"]
    check_t: list[float] = []
    book_t: list[float] = []
    booked = 0
    samples: dict[str, list[tuple[float, float]]] = {"worker": [], "api": []}
    stop = asyncio.Event()

    async def sample() -> None:
        procs = {"worker": stack.worker, "api": stack.api}
        for p in procs.values():
            p.cpu_percent(None)
        while not stop.is_set():
            await asyncio.sleep(0.5)
            for name, p in procs.items():
                samples[name].append((p.cpu_percent(None), p.memory_info().rss / 2**20))

    async def caller(i: int) -> None:
        nonlocal booked
        await asyncio.sleep(rng.uniform(0, RAMP_SECONDS))  # calls arrive over the ramp
        call_id = f"bench-load-{i}-{random.randrange(1 << 30)}"
        service = rng.choice(services)
        t0 = time.perf_counter()
        check = await retell.function(
            call_id, "check_availability", {"service": service, **date_args(wanted[i])}
        )
        check_t.append(time.perf_counter() - t0)
        if not check["available"] and check["alternatives"]:
            first = check["alternatives"][0]
            alt = datetime.fromisoformat(first["start"])
            who = {"stylist": first["stylist"]} if first.get("stylist") else {}
            t0 = time.perf_counter()
            check = await retell.function(
                call_id, "check_availability", {"service": service, **date_args(alt), **who}
            )
            check_t.append(time.perf_counter() - t0)
        if check["available"]:
            await asyncio.sleep(rng.uniform(*TALK_SECONDS))  # the caller spells the name
            t0 = time.perf_counter()
            answer = await retell.function(call_id, "start_booking", {"customer_name": "Last"})
            while answer["status"] == "pending":
                await asyncio.sleep(0.2)
                answer = await retell.function(call_id, "booking_status", {})
            book_t.append(time.perf_counter() - t0)
            booked += bool(answer["booked"])
        await retell.webhook("call_ended", call_id)

    sampler = asyncio.create_task(sample())
    wall0 = time.perf_counter()
    await asyncio.gather(*(caller(i) for i in range(calls)))
    wall = time.perf_counter() - wall0
    stop.set()
    await sampler
    await retell.aclose()
    state = await stack.sim.state()
    requests = state["request_count"] - before
    doubles = len(double_bookings(state["bookings"], stack.catalog))
    rows = [
        ["check_availability", str(len(check_t))]
        + [ms(pct(check_t, q)) for q in (0.5, 0.95, 0.99)],
        ["start_booking (to final)", str(len(book_t))]
        + [ms(pct(book_t, q)) for q in (0.5, 0.95, 0.99)],
    ]
    report.table(
        f"4. Load: {calls} concurrent calls (arriving within {RAMP_SECONDS:.0f} s, talking "
        f"{TALK_SECONDS[0]:.0f}-{TALK_SECONDS[1]:.0f} s), one worker process, one API process",
        ["function", "answers", "p50", "p95", "p99"],
        rows,
    )
    res = [
        [
            name,
            f"{statistics.mean(c for c, _ in s):.0f} %" if s else "-",
            f"{max(c for c, _ in s):.0f} %" if s else "-",
            f"{max(m for _, m in s):.0f} MiB" if s else "-",
        ]
        for name, s in samples.items()
    ]
    report.table(
        "4b. Resources during the load", ["process", "CPU mean", "CPU max", "RSS max"], res
    )
    summary = [
        ["calls", str(calls)],
        ["wall time", f"{wall:.1f} s"],
        ["throughput", f"{calls / wall:.1f} calls/s"],
        ["appointments booked", str(booked)],
        ["Cal.com requests per booking", f"{requests / max(booked, 1):.1f}"],
        ["double bookings (overlapping accepted bookings of one stylist)", str(doubles)],
    ]
    report.table("4c. Load summary", ["measure", "value"], summary)
    return doubles


# ------------------------------------------------------------------ main
def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        f"- CPU: {cpu}, {psutil.cpu_count()} cores; "
        f"RAM {psutil.virtual_memory().total / 2**30:.0f} GiB",
        f"- Python {platform.python_version()} on {platform.system()} {platform.release()}",
        f"- Run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
    ]


async def main(args: argparse.Namespace) -> int:
    configure_logging(level="WARNING", json=False)
    quick = args.quick
    report = Report()
    wanted = set(args.only or ["overhead", "compound", "race", "load"])
    doubles = 0
    async with contextlib.AsyncExitStack() as running:
        with console.status("starting Temporal, PostgreSQL, the simulator, worker and API ..."):
            stack = await running.enter_async_context(
                running_stack(log_dir=ROOT / ".data" / "bench-logs")
            )
        if "overhead" in wanted:
            await bench_overhead(stack, report, 8 if quick else 60)
        if "compound" in wanted:
            await bench_compound(stack, report, {0.5: 2, 2.5: 1} if quick else {0.5: 5, 2.5: 3})
        if "race" in wanted:
            await bench_race(stack, report, 10 if quick else 60, 0.3)
        if "load" in wanted:
            doubles = await bench_load(stack, report, 20 if quick else args.calls)
    if not quick and args.write:
        write_docs(report)
    return 1 if doubles else 0


def write_docs(report: Report) -> None:
    text = "\n".join(
        [
            "# Benchmarks",
            "",
            "Measured by `make bench` (`python -m bench`) in one run on this machine, against "
            "the baseline numbers of the incident analysis (30 % race-condition rate, 8.2 s "
            "sequential compound bookings with a 3.1 s target, 1-3 s availability checks). "
            "Everything runs for real: Temporal dev server, PostgreSQL, the Cal.com simulator "
            "over HTTP, one `python worker.py` and one `booking api` process; calls are signed "
            "like Retell's and go through the API.",
            "",
            "## Commands",
            "```sh",
            "make bench                                   # all four, writes this file",
            ".venv/bin/python -m bench --quick            # smoke run, tiny sizes",
            ".venv/bin/python -m bench --only load --calls 200 --no-write",
            "```",
            "",
            "## Machine",
            *machine(),
            "",
            "## Results",
            "",
            "\n\n".join(report.sections),
            "",
            "## Reading the numbers",
            "- The check runs its short steps (slot queries, the claim, the reservations) as "
            "local activities in the worker that holds the workflow task: no extra server "
            "round trip per step. Profiling showed the per-run workflow sandbox as the largest "
            "single cost on this path (about 16 ms); production workers skip it "
            "(`WORKFLOW_SANDBOX=false`), the test suite and `booking replay` keep it.",
            "- start_booking's overhead is larger on purpose: the bookings and the final "
            "record are regular activities (heartbeats, retries on another worker if this one "
            "dies), each a server round trip; the hold is re-validated from our own claims and "
            "reservations first.",
            "- The simulator runs inside the benchmark process, and the worker, the API, "
            "Temporal and PostgreSQL share the same two cores: the figures are an upper bound "
            "for a real deployment.",
            "- The race benchmark's web customers use Cal.com's booking page, which respects "
            "reservations: with holds they find the slot reserved; the baseline agent holds "
            "nothing, so a web booking during the talk takes the slot.",
            "",
        ]
    )
    (ROOT / "docs" / "benchmarks.md").write_text(text, encoding="utf-8")
    console.print("wrote docs/benchmarks.md")


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument(
        "--only",
        action="append",
        choices=["overhead", "compound", "race", "load"],
        help="run only these benchmarks (repeatable)",
    )
    parser.add_argument("--calls", type=int, default=200, help="calls in the load benchmark")
    parser.add_argument(
        "--no-write", dest="write", action="store_false", help="do not write docs/benchmarks.md"
    )
    code = asyncio.run(main(parser.parse_args()))
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalization: the Temporal SDK's Rust runtime threads may still be
    # winding down and would abort a normal exit ("PyGILState_Release").
    os._exit(code)


if __name__ == "__main__":
    cli()
