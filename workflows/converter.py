"""The data converter shared by client, worker and replayer (pydantic models as payloads).

With ``PAYLOAD_ENCRYPTION_KEYS`` set, every payload is encrypted (AES-256-GCM, see
``payload_codec``) before it leaves the process, and failure messages and stack traces
are moved into an encrypted payload too (they can quote customer data). Without keys the
plain converter is used. Decoding passes unencrypted payloads through, so histories
recorded before encryption was switched on still replay.
"""

from __future__ import annotations

import dataclasses

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from config import Settings
from payload_codec import EncryptionCodec, KeyRing

data_converter = pydantic_data_converter


def data_converter_for(keys: KeyRing | None) -> DataConverter:
    """The project's converter, encrypting with ``keys`` when given.

    Args:
        keys: the key ring, or None for no encryption.

    Returns:
        The pydantic data converter, with the encryption codec and encoded failure
        attributes when ``keys`` is given.
    """
    if keys is None:
        return data_converter
    return dataclasses.replace(
        data_converter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def settings_data_converter(settings: Settings) -> DataConverter:
    """The converter for ``settings`` (``PAYLOAD_ENCRYPTION_KEYS``)."""
    return data_converter_for(settings.payload_key_ring)


__all__ = ["data_converter", "data_converter_for", "settings_data_converter"]
