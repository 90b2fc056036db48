"""``PAYLOAD_ENCRYPTION_KEYS``: ``id:base64-32-bytes[,id:key...]``.

The first key encrypts, every listed key decrypts: to rotate, put the new key first and
keep the old ones until no history that uses them is retained any more. Error messages
name the variable and the key id, never key material.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass

ENV_VAR = "PAYLOAD_ENCRYPTION_KEYS"
KEY_BYTES = 32  # AES-256
KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class KeyConfigError(ValueError):
    """``PAYLOAD_ENCRYPTION_KEYS`` is malformed (the message never contains a key)."""


@dataclass(frozen=True)
class KeyRing:
    """The configured keys: ``active`` encrypts, all of ``keys`` decrypt."""

    active: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise KeyConfigError(f"{ENV_VAR}: the active key id {self.active!r} is not listed")

    def __repr__(self) -> str:  # never show key bytes, not even in a debugger or traceback
        return f"KeyRing(active={self.active!r}, ids={list(self.keys)!r})"


def _decode_key(key_id: str, text: str, position: int) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    for alphabet in (b"+/", b"-_"):
        try:
            raw = base64.b64decode(padded, altchars=alphabet, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) != KEY_BYTES:
            raise KeyConfigError(
                f"{ENV_VAR}: entry {position} (key id {key_id!r}) decodes to {len(raw)} bytes, "
                f"AES-256 needs {KEY_BYTES} (e.g. openssl rand -base64 32)"
            )
        return raw
    raise KeyConfigError(f"{ENV_VAR}: entry {position} (key id {key_id!r}) is not base64")


def parse_key_ring(spec: str) -> KeyRing:
    """Parse ``id:base64-32-bytes[,id:key...]``; the first entry is the active key.

    Args:
        spec: the variable's value, e.g. ``2026-11:q3Lx...=,2026-05:Zk0...=``.

    Returns:
        The key ring.

    Raises:
        KeyConfigError: on an empty list, an entry without ``id:``, a bad id, a duplicate
            id, a key that is not base64 or not 32 bytes long. The message names
            ``PAYLOAD_ENCRYPTION_KEYS`` and the entry's position and id, never the key.
    """
    keys: dict[str, bytes] = {}
    entries = spec.split(",")
    if not spec.strip():
        raise KeyConfigError(f"{ENV_VAR} is empty: unset it, or give id:base64-32-bytes")
    for position, entry in enumerate(entries, start=1):
        key_id, sep, material = entry.strip().partition(":")
        if not sep:
            raise KeyConfigError(
                f"{ENV_VAR}: entry {position} is not id:base64-32-bytes (no ':' found)"
            )
        key_id, material = key_id.strip(), material.strip()
        if not KEY_ID.fullmatch(key_id):
            raise KeyConfigError(
                f"{ENV_VAR}: entry {position} has an invalid key id (1-64 of A-Z a-z 0-9 . _ -)"
            )
        if key_id in keys:
            raise KeyConfigError(f"{ENV_VAR}: key id {key_id!r} is listed twice")
        keys[key_id] = _decode_key(key_id, material, position)
    return KeyRing(active=next(iter(keys)), keys=keys)
