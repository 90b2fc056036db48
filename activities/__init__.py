"""Temporal activities: the only code that talks to Cal.com and PostgreSQL."""
