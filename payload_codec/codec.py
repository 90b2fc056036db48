"""A Temporal payload codec that encrypts every payload with AES-256-GCM.

An encrypted payload carries ``encoding: binary/encrypted`` and ``encryption-key-id``
in its metadata; its data is a 12-byte random nonce followed by the AES-GCM ciphertext
(with tag) of the whole original payload (metadata and data), authenticated together with
the key id. Payloads without that encoding pass through :meth:`EncryptionCodec.decode`
unchanged, so histories written before encryption was switched on still replay.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from payload_codec.keys import ENV_VAR, KeyRing

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12


class UnknownKeyError(ValueError):
    """A payload was encrypted with a key that is not (or no longer) configured."""


class EncryptionCodec(PayloadCodec):
    """Encrypts with the ring's active key; decrypts with whichever key a payload names."""

    def __init__(self, ring: KeyRing) -> None:
        """Args:
        ring: the configured keys (see :func:`payload_codec.keys.parse_key_ring`).
        """
        self._active = ring.active
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}

    @property
    def active_key_id(self) -> str:
        """The id of the key new payloads are encrypted with."""
        return self._active

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt every payload with the active key.

        Args:
            payloads: payloads as produced by the payload converter.

        Returns:
            One ``binary/encrypted`` payload per input, in order.
        """
        key_id = self._active
        cipher = self._ciphers[key_id]
        out = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), key_id.encode())
            out.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
                    data=nonce + sealed,
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt encrypted payloads; pass any other payload through unchanged.

        Args:
            payloads: payloads as stored by Temporal.

        Returns:
            The original payloads, in order.

        Raises:
            UnknownKeyError: a payload names a key id that is not configured.
            ValueError: a payload fails authentication (tampered, or a wrong key under a
                known id).
        """
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                out.append(payload)
                continue
            key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise UnknownKeyError(
                    f"payload encrypted with key id {key_id!r}, which {ENV_VAR} does not list"
                )
            nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
            try:
                plain = cipher.decrypt(nonce, sealed, key_id.encode())
            except InvalidTag:
                raise ValueError(
                    f"payload under key id {key_id!r} failed authentication "
                    "(tampered, or a different key under that id)"
                ) from None
            out.append(Payload.FromString(plain))
        return out
