"""Connecting to Temporal (dev server, self-hosted cluster or Temporal Cloud)."""

from __future__ import annotations

from temporalio.client import Client, TLSConfig
from temporalio.runtime import Runtime

from config import Settings
from workflows.converter import settings_data_converter


def tls_config(settings: Settings) -> TLSConfig | bool:
    """mTLS when a client certificate is configured, plain TLS with an API key, else none."""
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        return TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    return settings.temporal_api_key is not None


async def connect(
    settings: Settings, *, runtime: Runtime | None = None, lazy: bool = False
) -> Client:
    """A Temporal client for ``settings`` using the project's data converter.

    This is where every process (worker, API, ``booking replay --query``, the history
    recorder) gets its converter: with ``PAYLOAD_ENCRYPTION_KEYS`` set, payloads are
    encrypted on the way out and decrypted on the way in. ``lazy`` connects on first use
    (the API starts, and answers, while Temporal is down)."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=api_key,
        tls=tls_config(settings),
        data_converter=settings_data_converter(settings),
        runtime=runtime,
        lazy=lazy,
    )
