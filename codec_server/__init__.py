"""``booking codec-server``: Temporal's remote codec protocol over HTTP, so the Temporal
UI and CLI can show encrypted payloads decrypted, to operators holding ``OPS_TOKEN``."""
