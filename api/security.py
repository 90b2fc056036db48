"""Signatures, verified on the raw request bytes."""

from __future__ import annotations

import hashlib
import hmac

from retell.lib.webhook_auth import verify as retell_verify

NO_SECRET = "no-secret-provided"


def retell_signature_ok(body: bytes, api_key: str, header: str | None) -> bool:
    """``X-Retell-Signature`` (``v=<ms>,d=<hex>``, five minutes of tolerance), checked by
    retell-sdk's own verifier on the body exactly as received."""
    if not header:
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    try:
        return bool(retell_verify(text, api_key, header))
    except (ValueError, TypeError):
        return False


def calcom_signature_ok(body: bytes, secret: str | None, header: str | None) -> bool:
    """``X-Cal-Signature-256``: hex HMAC-SHA256 of the raw body with the webhook secret.
    Without a configured secret every delivery is accepted (Cal.com then sends the literal
    ``no-secret-provided``)."""
    if not secret:
        return True
    if not header or header == NO_SECRET:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.strip().lower())
