"""The payload codec: what Temporal stores is ciphertext, rotation keeps old payloads
readable, unencrypted payloads pass through, and a bad key list fails loudly without
echoing a key. (The keys here are the suite's public TEST keys, see tests/harness.py.)"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload

from config import Settings
from contracts.messages import Customer
from payload_codec import (
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    KeyConfigError,
    UnknownKeyError,
)
from tests.harness import TEST_KEY_1, TEST_KEY_2, key_ring
from workflows.converter import data_converter, data_converter_for

BIN = Path(sys.executable).parent
CUSTOMER = Customer(name="Hildegard Kowalczyk", phone="+4917612345678", email="h.k@example.org")


async def _stored(keys: str, value: object) -> Payload:
    """What the data converter for ``keys`` hands to Temporal for ``value``."""
    [payload] = await data_converter_for(key_ring(keys)).encode([value])
    return payload


async def test_temporal_gets_ciphertext_tagged_with_the_key_id() -> None:
    payload = await _stored(TEST_KEY_1, CUSTOMER)
    assert payload.metadata["encoding"] == ENCODING
    assert payload.metadata[KEY_ID_METADATA] == b"test-1"
    assert set(payload.metadata) == {"encoding", KEY_ID_METADATA}  # no json/plain hint left
    for secret in (b"Hildegard", b"Kowalczyk", b"17612345678", b"example.org"):
        assert secret not in payload.SerializeToString()
    [back] = await data_converter_for(key_ring(TEST_KEY_1)).decode([payload], [Customer])
    assert back == CUSTOMER


async def test_the_same_value_encrypts_differently_every_time() -> None:
    first, second = await _stored(TEST_KEY_1, CUSTOMER), await _stored(TEST_KEY_1, CUSTOMER)
    assert first.data != second.data  # a fresh nonce per payload


async def test_rotation_new_key_first_encrypts_and_old_payloads_stay_readable() -> None:
    written_with_key_1 = await _stored(TEST_KEY_1, CUSTOMER)
    rotated = f"{TEST_KEY_2},{TEST_KEY_1}"
    converter = data_converter_for(key_ring(rotated))
    [old] = await converter.decode([written_with_key_1], [Customer])
    assert old == CUSTOMER
    [new] = await converter.encode([CUSTOMER])
    assert new.metadata[KEY_ID_METADATA] == b"test-2"
    # Once key 1 is dropped its payloads are unreadable, and the error says which key.
    with pytest.raises(UnknownKeyError, match="test-1"):
        await data_converter_for(key_ring(TEST_KEY_2)).decode([written_with_key_1], [Customer])


async def test_payloads_from_before_encryption_pass_through() -> None:
    [plain] = await data_converter.encode([CUSTOMER])
    assert plain.metadata["encoding"] == b"json/plain"
    [back] = await data_converter_for(key_ring(TEST_KEY_1)).decode([plain], [Customer])
    assert back == CUSTOMER


async def test_a_tampered_payload_or_a_swapped_key_id_is_refused() -> None:
    payload = await _stored(f"{TEST_KEY_1},{TEST_KEY_2}", CUSTOMER)
    codec = EncryptionCodec(key_ring(f"{TEST_KEY_1},{TEST_KEY_2}"))
    tampered = Payload(metadata=dict(payload.metadata), data=payload.data[:-1] + b"\0")
    with pytest.raises(ValueError, match="authentication"):
        await codec.decode([tampered])
    relabelled = Payload(metadata={**payload.metadata, KEY_ID_METADATA: b"test-2"})
    relabelled.data = payload.data
    with pytest.raises(ValueError, match="authentication"):
        await codec.decode([relabelled])


KEY_MATERIAL = base64.b64encode(os.urandom(32)).decode()
BAD_SPECS = {
    "no id": KEY_MATERIAL,
    "short key": "k1:" + base64.b64encode(os.urandom(16)).decode(),
    "not base64": "k1:" + KEY_MATERIAL[:-4] + "!!!!",
    "bad id": "k 1:" + KEY_MATERIAL,
    "duplicate id": f"k1:{KEY_MATERIAL},k1:{KEY_MATERIAL}",
    "empty entry": f"k1:{KEY_MATERIAL},",
}


@pytest.mark.parametrize("case", BAD_SPECS)
def test_a_malformed_key_list_names_the_variable_never_the_key(case: str) -> None:
    spec = BAD_SPECS[case]
    with pytest.raises(ValidationError) as raised:
        Settings.model_validate({"payload_encryption_keys": spec})
    text = str(raised.value)
    assert "PAYLOAD_ENCRYPTION_KEYS" in text
    for piece in spec.replace(":", ",").split(","):
        if len(piece) > 8:  # key material (ids are short and may be named)
            assert piece not in text and piece[:12] not in text


def test_key_list_parsing() -> None:
    ring = key_ring(f" {TEST_KEY_2} , {TEST_KEY_1} ")
    assert ring.active == "test-2" and list(ring.keys) == ["test-2", "test-1"]
    assert all(len(k) == 32 for k in ring.keys.values())
    assert "Ym9va" not in repr(ring)  # no key bytes in reprs
    urlsafe = "u:" + base64.urlsafe_b64encode(b"\xfb" * 32).decode().rstrip("=")
    assert key_ring(urlsafe).keys["u"] == b"\xfb" * 32
    with pytest.raises(KeyConfigError):
        key_ring(" ")
    assert (
        Settings.model_validate({"payload_encryption_keys": ""}).payload_key_ring is None
    )  # empty = unset
    assert Settings().payload_key_ring is None


def test_a_process_with_a_malformed_key_list_does_not_start() -> None:
    env = {**os.environ, "PAYLOAD_ENCRYPTION_KEYS": f"k1:{KEY_MATERIAL[:20]}"}
    done = subprocess.run(
        [str(BIN / "booking"), "replay"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "PAYLOAD_ENCRYPTION_KEYS" in done.stderr and "entry 1" in done.stderr
    assert KEY_MATERIAL[:20] not in done.stdout + done.stderr
