"""In-process de-duplication: the same delivery answered once, concurrent duplicates
share one answer. Across API processes the workflow's request-id cache does the same."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any


class AnswerCache:
    """Futures by key for ``ttl`` seconds; a failed computation is not cached."""

    def __init__(self, ttl: float = 60.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, asyncio.Future[Any]]] = OrderedDict()

    def _evict(self, now: float) -> None:
        while self._entries:
            key, (born, _) = next(iter(self._entries.items()))
            if now - born <= self.ttl and len(self._entries) <= self.max_entries:
                break
            self._entries.pop(key)

    async def get_or_compute(
        self,
        key: str,
        compute: Callable[[], Awaitable[Any]],
        keep: Callable[[Any], bool] = lambda _: True,
    ) -> Any:
        now = time.monotonic()
        self._evict(now)
        found = self._entries.get(key)
        if found is not None:
            return await asyncio.shield(found[1])
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._entries[key] = (now, future)
        try:
            result = await compute()
        except asyncio.CancelledError:
            self._entries.pop(key, None)
            future.cancel()  # waiting duplicates are cancelled with it
            raise
        except Exception as exc:
            self._entries.pop(key, None)
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning
            raise
        future.set_result(result)  # concurrent duplicates get it either way
        if not keep(result):
            self._entries.pop(key, None)
        return result


class SeenSet:
    """Keys seen in the last ``ttl`` seconds (webhook de-duplication)."""

    def __init__(self, ttl: float = 3600.0, max_entries: int = 100_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, key: str) -> bool:
        now = time.monotonic()
        while self._seen:
            oldest, born = next(iter(self._seen.items()))
            if now - born <= self.ttl and len(self._seen) < self.max_entries:
                break
            self._seen.pop(oldest)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)
