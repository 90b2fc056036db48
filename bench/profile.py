"""Sampling profiles of the worker and API processes under load (py-spy), summarised as
the functions that take the most samples: by own time (the frame on top of the stack)
and by total time (anywhere on the stack), as shares of the process' busy samples."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PY_SPY = Path(sys.executable).parent / "py-spy"
RATE = 200  # samples a second


@dataclass
class Profile:
    """Busy samples of one process and the functions they were in."""

    name: str
    samples: int
    own: Counter[str]
    total: Counter[str]

    def top(self, counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(frame, 100 * k / max(self.samples, 1)) for frame, k in counter.most_common(n)]


def available() -> bool:
    return PY_SPY.exists()


@contextlib.contextmanager
def profiling(targets: dict[str, int], out_dir: Path) -> Iterator[dict[str, Path]]:
    """Record every process of ``targets`` (name -> pid) while the block runs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {name: out_dir / f"{name}.txt" for name in targets}
    procs = [
        subprocess.Popen(
            [
                str(PY_SPY),
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(RATE),
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(files[name]),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in targets.items()
    ]
    try:
        yield files
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _frame(raw: str) -> str:
    """``fn (path/to/module.py:123)`` -> ``fn (module path)``: lines merged."""
    name, _, where = raw.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    parts = path.split("/")
    if parts and parts[0].startswith("wt-"):
        path = "/".join(parts[1:])
    return f"{name} ({path})"


def read(name: str, path: Path) -> Profile:
    """Parse py-spy's raw (collapsed stacks) output."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            k = int(count)
            frames = [_frame(f) for f in stack.split(";") if " (" in f]
            if not frames:
                continue
            samples += k
            own[frames[-1]] += k
            for frame in set(frames):
                total[frame] += k
    return Profile(name, samples, own, total)


# The steps of the caller's path, by the frame that is on the stack while each runs.
STEPS = [
    (
        "Temporal SDK: workflow activations (our workflow code inside)",
        "_WorkflowWorker._handle_activation",
    ),
    (
        "Temporal SDK: activity tasks (our activities inside)",
        "_ActivityWorker._handle_start_activity_task",
    ),
    ("Cal.com requests (httpx; the shared budget inside)", "CalcomClient._request"),
    ("shared Cal.com budget (one PostgreSQL statement)", "PostgresBucket.try_take"),
    ("database: free time (claims read)", "busy_intervals (store/holds.py)"),
    ("database: claim", "acquire_hold (store/holds.py)"),
    ("database: hold re-validation", "get_hold (store/holds.py)"),
    ("database: appointment recorded", "finalize_booking (store/holds.py)"),
    ("database: pool pre-ping", "_do_ping"),
    ("search attributes and details (CallWorkflow._publish)", "CallWorkflow._publish"),
    ("API: Temporal client calls", "Client.call (temporalio/bridge/client.py)"),
    ("API: German parsing (dates, times, services)", "Understanding.slot"),
]


def by_step(profile: Profile) -> list[tuple[str, float]]:
    """Share of busy samples with each step's frame on the stack (steps nest: a step's
    share includes the steps inside it)."""
    out = []
    for label, key in STEPS:
        k = sum(v for frame, v in profile.total.items() if key in frame)
        if k:
            out.append((label, 100 * k / max(profile.samples, 1)))
    return out


def summary(profile: Profile, n: int = 12) -> str:
    """Markdown: the shares of the caller's steps, and the top ``n`` functions by own
    share."""
    lines = [f"**{profile.name}** ({profile.samples} busy samples at {RATE}/s)", ""]
    lines += ["| step | share % |", "|---|---|"]
    lines += [f"| {label} | {share:.1f} |" for label, share in by_step(profile)]
    lines += [""]
    lines += ["| own % | function (module) |", "|---|---|"]
    lines += [f"| {share:.1f} | `{frame}` |" for frame, share in profile.top(profile.own, n)]
    return "\n".join(lines)
