"""Encryption of Temporal payloads (AES-256-GCM), free of web and database code.

The worker, the API, ``booking replay``, the codec server and the tests build their data
converter from :func:`payload_codec.keys.parse_key_ring` and
:class:`payload_codec.codec.EncryptionCodec` (see ``workflows/converter.py``).
"""

from payload_codec.codec import ENCODING, KEY_ID_METADATA, EncryptionCodec, UnknownKeyError
from payload_codec.keys import ENV_VAR, KeyConfigError, KeyRing, parse_key_ring

__all__ = [
    "ENCODING",
    "ENV_VAR",
    "KEY_ID_METADATA",
    "EncryptionCodec",
    "KeyConfigError",
    "KeyRing",
    "UnknownKeyError",
    "parse_key_ring",
]
