"""Request bodies: read within a size limit, then parsed as strict JSON.

Every POST route reads its body with :func:`read_body` before anything else (before any
signature is computed), so a 200 MB upload costs at most ``API_MAX_BODY_BYTES`` of memory:
a declared ``Content-Length`` over the limit is refused without reading a byte, and a
body sent without one (chunked) is read only up to the limit. :func:`strict_json` then
refuses what Python's ``json.loads`` would quietly accept or choke on:

- nesting deeper than :data:`MAX_DEPTH` (checked on the raw text, before parsing),
- a key repeated in one object (``{"name": "check_availability", "name": "cancel_hold"}``
  would otherwise run the last one),
- ``NaN``/``Infinity``, integers beyond Python's digit limit, unpaired surrogates
  (``"\\ud800"``: nothing downstream can encode them), and text that is not UTF-8.

Both raise :class:`BodyError` carrying the HTTP status and a message for the sender.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any, Literal

from fastapi import Request
from starlette.requests import ClientDisconnect

__all__ = ["MAX_DEPTH", "BodyError", "nesting", "read_body", "strict_json"]

# Deeper than any Retell or Cal.com payload (about 6 levels); far below Python's recursion.
MAX_DEPTH = 32
_DIGITS = re.compile(r"[0-9]+")
# For measuring depth without parsing: a JSON string (escapes included, unrolled so that
# long strings stay fast), every byte but a bracket, a bracket as a step of +1 or -1.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


class BodyError(ValueError):
    """The body cannot be used; answered with ``status`` and ``{"detail": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(request: Request, *, limit: int) -> bytes:
    """The request body, read only while it stays within ``limit`` bytes.

    Args:
        request: The incoming request (its body not yet read).
        limit: The largest body accepted, in bytes (``API_MAX_BODY_BYTES``).

    Returns:
        The body bytes.

    Raises:
        BodyError: 413 when the declared or the received size exceeds ``limit`` (reading
            stops at once); 400 for a malformed ``Content-Length``, a body that does not
            match it (an HTTP server already refuses that; in-process transports do not),
            or a sender that went away mid-body.
    """
    header = request.headers.get("content-length")
    declared: int | None = None
    if header is not None:
        digits = header.strip()
        if not _DIGITS.fullmatch(digits):
            raise BodyError(400, "invalid Content-Length header")
        if len(digits) > 18 or int(digits) > limit:
            raise BodyError(413, f"the body is larger than {limit} bytes")
        declared = int(digits)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyError(413, f"the body is larger than {limit} bytes")
            if declared is not None and size > declared:
                raise BodyError(400, "the body is longer than its Content-Length")
            chunks.append(chunk)
    except ClientDisconnect:
        raise BodyError(400, "the body ended early: the sender went away") from None
    if declared is not None and size != declared:
        raise BodyError(400, "the body is shorter than its Content-Length")
    return b"".join(chunks)


def nesting(body: bytes, max_depth: int) -> Literal["ok", "too deep", "unbalanced"]:
    """How arrays and objects nest in ``body``, decided on the raw text without parsing
    (so the parser never recurses deeply), in time linear in the body's size.

    Args:
        body: The raw body.
        max_depth: The deepest nesting accepted.

    Returns:
        "ok", "too deep", or "unbalanced" (a closing bracket without its opening, an
        opening never closed, an unterminated string: not JSON at all).
    """
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if not brackets:
        return "ok"
    if re.search(rb"[\[{]{%d}" % (max_depth + 1), brackets):
        return "too deep"  # the common attack, found without counting
    depths = list(itertools.accumulate(memoryview(brackets.translate(_STEPS)).cast("b")))
    if min(depths) < 0 or depths[-1] != 0:
        return "unbalanced"
    return "too deep" if max(depths) > max_depth else "ok"


class _Refused(ValueError):
    """A JSON construct :func:`strict_json` refuses (raised from the parser's hooks)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"duplicate key {key[:40]!r} in a JSON object")
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON")


def strict_json(body: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``body`` as strict JSON (UTF-8, RFC 8259, unique keys, bounded depth).

    Args:
        body: The raw request body.
        max_depth: The deepest nesting of arrays and objects accepted.

    Returns:
        The parsed value (any JSON type: the caller checks its shape).

    Raises:
        BodyError: 400 with a message naming the problem.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError(400, "the body is not UTF-8") from None
    shape = nesting(body, max_depth)
    if shape == "unbalanced":
        raise BodyError(400, "the body is not valid JSON")
    if shape == "too deep":
        raise BodyError(400, f"the JSON nests deeper than {max_depth} levels")
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except _Refused as exc:
        raise BodyError(400, f"the body is not acceptable JSON: {exc}") from None
    except json.JSONDecodeError:
        raise BodyError(400, "the body is not valid JSON") from None
    except (ValueError, RecursionError):  # e.g. an integer of more than 4300 digits
        raise BodyError(400, "the body holds a number or structure too large to read") from None
    if "\\u" in text:  # only an escape can produce an unpaired surrogate
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BodyError(400, "the body holds an unpaired surrogate (\\ud800-\\udfff)") from None
    return value
