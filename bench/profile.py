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


def summary(profile: Profile, n: int = 12) -> str:
    """Markdown: the top ``n`` functions by own and by total share."""
    lines = [f"**{profile.name}** ({profile.samples} busy samples at {RATE}/s)", ""]
    lines += ["| own % | function (module) |", "|---|---|"]
    lines += [f"| {share:.1f} | `{frame}` |" for frame, share in profile.top(profile.own, n)]
    lines += ["", "| total % | function (module) |", "|---|---|"]
    # The event loop and the process' entry frames are on (nearly) every stack: skipped.
    inclusive = [(f, s) for f, s in profile.top(profile.total, n + 30) if s < 90][:n]
    lines += [f"| {share:.1f} | `{frame}` |" for frame, share in inclusive]
    return "\n".join(lines)
