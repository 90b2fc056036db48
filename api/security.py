"""Signatures, verified on the raw request bytes, and the ops token."""

from __future__ import annotations

import base64
import binascii
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


def ops_token_ok(expected: str | None, authorization: str | None) -> bool:
    """The ``Authorization`` header carries ``OPS_TOKEN``, compared in constant time.

    ``Bearer <token>`` for scripts, Prometheus and the Temporal CLI; ``Basic`` with the
    token as password (any user name) so a browser can open ``/docs`` (it asks for the
    credentials and sends them along with Swagger UI's own requests).

    Args:
        expected: the configured token; None (unset) closes the endpoints.
        authorization: the request's ``Authorization`` header, if any.

    Returns:
        True when a token is configured and the header carries it.
    """
    if not expected or not authorization:
        return False
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        credentials = decoded.partition(":")[2]
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.encode("utf-8"), expected.encode("utf-8"))
