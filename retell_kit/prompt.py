"""The German agent prompt that teaches the LLM to use the booking tools well.

The text lives in ``agent_prompt_de.md`` next to this module (shipped as package data), so
salon operators can read and paste it as it is.
"""

from __future__ import annotations

from importlib.resources import files

PROMPT_FILE = "agent_prompt_de.md"


def agent_prompt() -> str:
    """The German conversation rules for the five booking tools.

    Returns:
        Markdown text to paste into (or append to) the Retell LLM's general prompt: check,
        say the held slot, extend the hold while collecting the name, offer alternatives
        first when the hold is lost, book, confirm in words.
    """
    return files(__package__ or "retell_kit").joinpath(PROMPT_FILE).read_text(encoding="utf-8")
