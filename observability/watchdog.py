"""A watchdog for the worker's event loop.

With inline workflow activations (``WORKFLOW_INLINE_ACTIVATIONS``) the Temporal SDK runs
workflow code on the event loop itself, and its deadlock detector (which needs the
activation in a thread of its own) is off. A workflow or an activity that blocks would
then stall the whole worker silently. The watchdog makes that loud: a heartbeat on the
loop, a thread that notices when the heartbeat stops for longer than ``threshold``
seconds, and one warning per stall with where the loop is stuck (function names and
lines, never values) plus a counter for alerts.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback

from observability.logging import get_logger
from observability.metrics import LOOP_STALLS

log = get_logger(__name__)


class LoopWatchdog:
    """Started on a running loop; ``stop()`` ends its thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, threshold: float = 2.0) -> None:
        self.loop = loop
        self.threshold = threshold
        self.stalls = 0
        self.last_stack = ""
        self._beat = time.monotonic()
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)

    def start(self) -> LoopWatchdog:
        self.loop.call_soon_threadsafe(self._heartbeat)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.threshold)

    def _heartbeat(self) -> None:
        self._beat = time.monotonic()
        if not self._stop.is_set():
            self.loop.call_later(self.threshold / 4, self._heartbeat)

    def _watch(self) -> None:
        stalled = False
        while not self._stop.wait(self.threshold / 4):
            behind = time.monotonic() - self._beat
            if behind <= self.threshold:
                stalled = False
                continue
            if stalled:  # one report per stall
                continue
            stalled = True
            self.stalls += 1
            LOOP_STALLS.inc()
            frame = sys._current_frames().get(self._loop_thread)
            self.last_stack = "".join(traceback.format_stack(frame)) if frame else ""
            log.warning(
                "event loop blocked",
                seconds=round(behind, 1),
                where=self.last_stack.strip().splitlines()[-2:] if self.last_stack else None,
            )
