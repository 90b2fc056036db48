"""The hold's durable timer, in the spirit of samples-python's ``updatable_timer``: one
wake-up at the hold's expiry that can be moved at any time (a new hold, an extension, a
release, a booking taking the hold over), raced against the call's other events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow


class HoldTimer:
    """When the current hold expires, if a hold is ticking at all."""

    def __init__(self) -> None:
        self._expires_at: datetime | None = None
        self._moved = False

    @property
    def expires_at(self) -> datetime | None:
        return self._expires_at

    def set(self, expires_at: datetime | None) -> None:
        """Tick towards ``expires_at`` (None: no hold is ticking)."""
        if expires_at != self._expires_at:
            self._expires_at = expires_at
            self._moved = True

    def due(self) -> bool:
        return self._expires_at is not None and workflow.now() >= self._expires_at

    async def sleep(self, *, until: datetime | None, wake: Callable[[], bool]) -> None:
        """Return at the hold's expiry or at ``until``, whichever is first, or as soon as
        the expiry is moved or ``wake()`` is true (``until`` None: no other end; with
        no hold ticking either, no timer at all)."""
        self._moved = False
        ends = [t for t in (until, self._expires_at) if t is not None]
        if not ends:
            await workflow.wait_condition(lambda: self._moved or wake())
            return
        timeout = min(ends) - workflow.now()
        if timeout <= timedelta(0):
            return
        try:
            await workflow.wait_condition(
                lambda: self._moved or wake(),
                timeout=timeout,
                timeout_summary="hold expiry" if self._expires_at else "call lifetime",
            )
        except TimeoutError:
            pass
