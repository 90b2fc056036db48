"""CPU seconds by process over a window: where the work of a burst went.

Every process on the machine that takes part is counted (the worker and API processes,
the Temporal server, the Cal.com simulator, PostgreSQL, the load generator itself), so the
sum divided by the machine's cores is the least wall time the window could have taken:
when the measured time is close to it, the machine was saturated and only less CPU (or
more cores) makes the window shorter.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

Procs = Callable[[], list[psutil.Process]]
CORES = psutil.cpu_count() or 1


def postgres_processes() -> list[psutil.Process]:
    """Every PostgreSQL process on the machine (the server forks one per connection)."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if (proc.info["name"] or "").startswith("postgres"):
            found.append(proc)
    return found


def _cpu(proc: psutil.Process) -> float | None:
    try:
        times = proc.cpu_times()
    except psutil.Error:  # it ended (or was never ours to read)
        return None
    return times.user + times.system


@dataclass
class CpuWindow:
    """``groups``: name -> the processes it stands for, asked at both ends of the window
    (a process started inside the window counts all its CPU, one that ended is left out)."""

    groups: dict[str, Procs]
    spent: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    _before: dict[str, dict[int, float]] = field(default_factory=dict)
    _t0: float = 0.0

    def _read(self) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {}
        for name, procs in self.groups.items():
            seen: dict[int, float] = {}
            for proc in procs():
                cpu = _cpu(proc)
                if cpu is not None:
                    seen[proc.pid] = cpu
            out[name] = seen
        return out

    def __enter__(self) -> CpuWindow:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._before = self._read()
        self._t0 = time.perf_counter()

    def stop(self) -> None:
        self.wall = time.perf_counter() - self._t0
        after = self._read()
        for name, now in after.items():
            before = self._before.get(name, {})
            self.spent[name] = sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())

    @property
    def total(self) -> float:
        return sum(self.spent.values())

    def least_wall(self, *, without: tuple[str, ...] = ()) -> float:
        """The window's CPU (but the groups ``without``) spread over every core: no
        schedule could be shorter."""
        return sum(v for k, v in self.spent.items() if k not in without) / CORES
