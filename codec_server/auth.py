"""Who may use the codec server: the holder of ``OPS_TOKEN``.

Two ways to show it, both compared in constant time:

- ``Authorization: Bearer <OPS_TOKEN>``: the Temporal CLI (``--codec-auth``), scripts.
- the UI path key, a value derived from ``OPS_TOKEN`` and put into the codec endpoint URL
  (``http://localhost:8234/<ui key>``). A browser UI cannot send our token as a header:
  Temporal UI's "pass access token" forwards the UI's own login token (and only to an
  https endpoint), which this server cannot verify. The key grants encode/decode only,
  not the API's ops endpoints; changing ``OPS_TOKEN`` changes it.
"""

from __future__ import annotations

import hashlib
import hmac

from api.security import ops_token_ok

UI_KEY_PREFIX = "ui-"
_UI_KEY_CONTEXT = b"salon-booking codec-server ui path key v1"


def ui_path_key(ops_token: str) -> str:
    """The path key the Temporal UI's codec endpoint carries, derived from ``ops_token``.

    Args:
        ops_token: the configured ``OPS_TOKEN``.

    Returns:
        ``ui-`` and 32 hex digits (128 bits of HMAC-SHA256); it does not reveal the token.
    """
    digest = hmac.new(ops_token.encode("utf-8"), _UI_KEY_CONTEXT, hashlib.sha256).hexdigest()
    return UI_KEY_PREFIX + digest[:32]


def ui_endpoint(base_url: str, ops_token: str) -> str:
    """The codec endpoint to give a Temporal UI: ``base_url`` plus the path key."""
    return f"{base_url.rstrip('/')}/{ui_path_key(ops_token)}"


def allowed(ops_token: str | None, authorization: str | None, path_key: str | None) -> bool:
    """True when the request carries ``OPS_TOKEN`` as Bearer, or the UI path key.

    Args:
        ops_token: the configured token; None refuses everything.
        authorization: the ``Authorization`` header, if any.
        path_key: the path segment before ``/encode`` or ``/decode``, if any (with a
            Bearer token any prefix is fine: a proxy may mount the server anywhere).
    """
    if not ops_token:
        return False
    if path_key is not None and hmac.compare_digest(
        path_key.encode(), ui_path_key(ops_token).encode()
    ):
        return True
    return ops_token_ok(ops_token, authorization)
