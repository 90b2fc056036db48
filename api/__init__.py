"""The Retell-facing HTTP API. It talks only to Temporal: every function call becomes a
workflow update (update-with-start for the first), webhooks become signals."""
