"""The benchmark's CPU window (bench/cpu.py): CPU is counted for the process that spent it,
inside the window only, and a process gone by the window's end does not count."""

from __future__ import annotations

import subprocess
import sys

import psutil

from bench.cpu import CpuWindow, Procs

# A child that, told to go (a line on stdin), spends ``seconds`` of its own CPU, says
# "done", and exits on the next line.
BURN = """
import sys, time
seconds = float(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
t0 = time.process_time()
while time.process_time() - t0 < seconds:
    pass
print("done", flush=True)
sys.stdin.readline()
"""


def _child(seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", BURN, str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def _say(proc: subprocess.Popen[str], answer: str | None = None) -> None:
    """A line to the child; then, if given, wait for the child's ``answer``."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    if answer is not None:
        assert proc.stdout.readline() == answer + "\n"


def _finish(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        assert proc.stdin is not None
        proc.stdin.write("\n\n")
        proc.stdin.flush()
        proc.wait(timeout=30)


def _just(proc: psutil.Process) -> Procs:
    return lambda: [proc]


def test_the_window_counts_the_cpu_of_the_process_that_spent_it() -> None:
    busy, idle = _child(0.3), _child(0.0)
    try:
        window = CpuWindow(
            {"busy": lambda: [psutil.Process(busy.pid)], "idle": lambda: [psutil.Process(idle.pid)]}
        )
        window.start()
        _say(busy, "done")
        window.stop()
    finally:
        _finish(busy)
        _finish(idle)
    # The whole burn fell inside the window (less one clock tick of /proc at each end).
    assert window.spent["busy"] >= 0.28
    assert window.spent["idle"] < 0.05
    assert window.total == window.spent["busy"] + window.spent["idle"]
    assert window.least_wall() == window.total / (psutil.cpu_count() or 1)
    assert window.least_wall(without=("busy",)) == window.spent["idle"] / (psutil.cpu_count() or 1)


def test_cpu_spent_before_the_window_and_processes_gone_by_its_end_are_left_out() -> None:
    before, gone = _child(0.2), _child(0.2)
    procs = {"before": psutil.Process(before.pid), "gone": psutil.Process(gone.pid)}
    try:
        _say(before, "done")
        window = CpuWindow({name: _just(p) for name, p in procs.items()})
        window.start()
        _say(gone, "done")  # it burns inside the window, then ends before the window does
        _finish(gone)
        window.stop()
    finally:
        _finish(before)
    assert window.spent["before"] < 0.05  # its 0.2 s were spent before the window
    assert window.spent["gone"] == 0.0
