"""Temporal workflows: decisions only, deterministic, all I/O through activities."""
