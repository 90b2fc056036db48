"""Cal.com's per-event-type settings that shape the slot grid and the booking checks.

Cal.com stores them on the EventType row (packages/prisma/schema.prisma, model EventType):
``slotInterval Int?`` (null: the event's length), ``minimumBookingNotice Int @default(120)``,
``beforeEventBuffer Int @default(0)``, ``afterEventBuffer Int @default(0)``, all in minutes.
The simulator starts every event type at those defaults ("event types at default
settings"); a settings file (``CALSIM_EVENT_TYPES``) or the ``/_sim/event-types`` control
changes them. They live here, not in the catalog: they are Cal.com's configuration.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SETTINGS_ENV = "CALSIM_EVENT_TYPES"  # path of a TOML or JSON settings file for `booking calsim`


@dataclass(frozen=True)
class EventTypeSettings:
    """The settings of one event type, in minutes (Cal.com's field names in comments)."""

    slot_interval: int | None = None  # slotInterval; None: the event's length
    minimum_booking_notice: int = 120  # minimumBookingNotice
    before_event_buffer: int = 0  # beforeEventBuffer
    after_event_buffer: int = 0  # afterEventBuffer

    def frequency(self, length: int) -> int:
        """The grid step: ``eventType.slotInterval || input.duration || eventType.length``
        (packages/trpc/server/routers/viewer/slots/util.ts, getAvailableSlots); a
        slotInterval of 0 is falsy there, so it means the length too."""
        return self.slot_interval or length

    def as_wire(self) -> dict[str, int | None]:
        return {
            "slotInterval": self.slot_interval,
            "minimumBookingNotice": self.minimum_booking_notice,
            "beforeEventBuffer": self.before_event_buffer,
            "afterEventBuffer": self.after_event_buffer,
        }


CALCOM_DEFAULTS = EventTypeSettings()


class SettingsIn(BaseModel):
    """A change to event-type settings (Cal.com's field names; absent fields stay).

    ``slotInterval`` null or 0 goes back to the default (the event's length).
    """

    model_config = ConfigDict(extra="forbid")

    slotInterval: int | None = Field(default=None, ge=0, le=1440)
    minimumBookingNotice: int | None = Field(default=None, ge=0)
    beforeEventBuffer: int | None = Field(default=None, ge=0, le=1440)
    afterEventBuffer: int | None = Field(default=None, ge=0, le=1440)

    def apply(self, settings: EventTypeSettings) -> EventTypeSettings:
        given = self.model_fields_set
        changes: dict[str, Any] = {}
        if "slotInterval" in given:
            changes["slot_interval"] = self.slotInterval or None
        for wire_name, name in (
            ("minimumBookingNotice", "minimum_booking_notice"),
            ("beforeEventBuffer", "before_event_buffer"),
            ("afterEventBuffer", "after_event_buffer"),
        ):
            value = getattr(self, wire_name)
            if wire_name in given:
                if value is None:
                    raise ValueError(f"{wire_name} must be a number of minutes, not null")
                changes[name] = value
        return replace(settings, **changes)


class SettingsFileError(ValueError):
    """The settings file is missing or invalid; the message names the file and the field."""


def load_settings(path: Path | str, event_type_ids: Iterable[int]) -> dict[int, EventTypeSettings]:
    """Settings per event type from a TOML (or ``.json``) file::

        [defaults]              # every event type (optional)
        minimumBookingNotice = 0

        [event_types.1001]      # one event type
        slotInterval = 15

    Event types not named keep the defaults (Cal.com's, changed by ``[defaults]``).

    Raises:
        SettingsFileError: unreadable file, unknown field or event type, bad value.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        raw = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
    except FileNotFoundError:
        raise SettingsFileError(f"{p}: file not found") from None
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise SettingsFileError(f"{p}: cannot parse: {exc}") from None
    return parse_settings(raw, event_type_ids, source=str(p))


def parse_settings(
    raw: Mapping[str, Any], event_type_ids: Iterable[int], *, source: str = "<settings>"
) -> dict[int, EventTypeSettings]:
    """See :func:`load_settings`."""
    known = set(event_type_ids)
    unknown_top = set(raw) - {"defaults", "event_types"}
    if unknown_top:
        raise SettingsFileError(f"{source}: unknown section(s) {sorted(unknown_top)}")
    base = _apply(CALCOM_DEFAULTS, raw.get("defaults", {}), f"{source}: defaults")
    out = dict.fromkeys(known, base)
    for key, fields in (raw.get("event_types") or {}).items():
        try:
            et_id = int(key)
        except ValueError:
            raise SettingsFileError(f"{source}: event_types.{key}: not an event type id") from None
        if et_id not in known:
            raise SettingsFileError(f"{source}: event_types.{key}: no such event type")
        out[et_id] = _apply(base, fields, f"{source}: event_types.{key}")
    return out


def _apply(settings: EventTypeSettings, fields: Any, where: str) -> EventTypeSettings:
    if not isinstance(fields, Mapping):
        raise SettingsFileError(f"{where}: expected a table of settings")
    try:
        return SettingsIn.model_validate(dict(fields)).apply(settings)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise SettingsFileError(f"{where}.{field}: {first['msg']}") from None
    except ValueError as exc:
        raise SettingsFileError(f"{where}: {exc}") from None
