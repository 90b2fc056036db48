"""Logging and metrics set-up shared by the API, the worker and the CLI."""
