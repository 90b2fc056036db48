"""The salon's catalog: services, their segments, opening hours.

Loaded from TOML (format in ``shared/contracts/interface.md``) and validated at start-up;
errors name the file, the service and the field so an operator can fix the catalog.
"""

from __future__ import annotations

import re
import tomllib
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class CatalogError(ValueError):
    """The catalog file is missing or invalid; the message names file, service and field."""


class Segment(BaseModel):
    """One step of a service. Staffed segments occupy their resource; gaps do not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1, max_length=8)
    name: str = Field(min_length=1)
    minutes: int = Field(gt=0, le=600)
    staff: bool = True
    resource: str | None = None
    calcom_event_type_id: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _staffed_needs_resource(self) -> Segment:
        if self.staff and not self.resource:
            raise ValueError("resource is required when staff = true")
        if self.staff and self.calcom_event_type_id is None:
            raise ValueError("calcom_event_type_id is required when staff = true")
        return self


class Service(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    segments: tuple[Segment, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_segments(self) -> Service:
        keys = [s.key for s in self.segments]
        if len(set(keys)) != len(keys):
            raise ValueError("segment keys must be unique within a service")
        if not any(s.staff for s in self.segments):
            raise ValueError("a service needs at least one staffed segment")
        return self

    @property
    def total_minutes(self) -> int:
        return sum(s.minutes for s in self.segments)

    @property
    def staffed_segments(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.staff)

    @property
    def is_compound(self) -> bool:
        return len(self.staffed_segments) > 1


class OpeningHours(BaseModel):
    """Opening hours per weekday (``None`` = closed)."""

    model_config = ConfigDict(frozen=True)

    days: dict[str, tuple[time, time]]

    def for_weekday(self, weekday: int) -> tuple[time, time] | None:
        """Opening window for ``date.weekday()`` (0 = Monday), or None when closed."""
        return self.days.get(WEEKDAYS[weekday])


def _parse_hours(day: str, value: str) -> tuple[time, time]:
    m = _HOURS_RE.match(value.strip())
    if not m:
        raise ValueError(f"opening_hours.{day}: expected 'HH:MM-HH:MM', got {value!r}")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ValueError(f"opening_hours.{day}: {exc}") from exc
    if end <= start:
        raise ValueError(f"opening_hours.{day}: closing time must be after opening time")
    return start, end


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    timezone: str = "Europe/Berlin"
    # The salon's start grid for offered alternatives, counted from opening time. A caller
    # may still ask for any minute; this only decides what the agent proposes.
    start_grid_minutes: int = Field(default=15, ge=5, le=120)
    opening_hours: OpeningHours
    services: tuple[Service, ...] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @model_validator(mode="after")
    def _unique(self) -> Catalog:
        names = [s.name.casefold() for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError("service names must be unique")
        owners: dict[int, str] = {}
        for svc in self.services:
            for seg in svc.staffed_segments:
                assert seg.calcom_event_type_id is not None and seg.resource is not None
                other = owners.setdefault(seg.calcom_event_type_id, seg.resource)
                if other != seg.resource:
                    raise ValueError(
                        f"calcom_event_type_id {seg.calcom_event_type_id} is used with two "
                        f"resources ({other!r} and {seg.resource!r})"
                    )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def service(self, name: str) -> Service:
        """The service with exactly this name (KeyError otherwise)."""
        for svc in self.services:
            if svc.name == name:
                return svc
        raise KeyError(name)

    def event_types(self) -> dict[int, tuple[str, int, str]]:
        """calcom_event_type_id -> (resource, minutes, segment title) over all services."""
        out: dict[int, tuple[str, int, str]] = {}
        for svc in self.services:
            for seg in svc.staffed_segments:
                assert seg.calcom_event_type_id is not None and seg.resource is not None
                out[seg.calcom_event_type_id] = (seg.resource, seg.minutes, f"{svc.name} {seg.key}")
        return out


def _describe(path: Path, raw: dict, loc: tuple) -> str:
    """Turn a pydantic error location into 'service "X", field segments[1].resource'."""
    parts = list(loc)
    where = ""
    if len(parts) >= 2 and parts[0] == "services" and isinstance(parts[1], int):
        idx = parts[1]
        services = raw.get("services") or []
        name = services[idx].get("name", f"#{idx + 1}") if idx < len(services) else f"#{idx + 1}"
        where = f'service "{name}", '
        parts = parts[2:]
    field = ""
    for p in parts:
        field += f"[{p}]" if isinstance(p, int) else (f".{p}" if field else str(p))
    return f"{path}: {where}field {field or '(top level)'}"


def parse_catalog(raw: dict, *, source: Path | str = "<catalog>") -> Catalog:
    """Validate a decoded TOML document; raises :class:`CatalogError`."""
    path = Path(source)
    data = dict(raw)
    hours = data.get("opening_hours")
    if not isinstance(hours, dict) or not hours:
        raise CatalogError(f"{path}: field opening_hours: at least one open day is required")
    days: dict[str, tuple[time, time]] = {}
    for day, value in hours.items():
        if day not in WEEKDAYS:
            raise CatalogError(f"{path}: field opening_hours.{day}: unknown weekday ({WEEKDAYS})")
        if not isinstance(value, str):
            raise CatalogError(f"{path}: field opening_hours.{day}: expected a string")
        try:
            days[day] = _parse_hours(day, value)
        except ValueError as exc:
            raise CatalogError(f"{path}: field {exc}") from None
    data["opening_hours"] = OpeningHours(days=days)
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        msg = first["msg"].removeprefix("Value error, ")
        raise CatalogError(f"{_describe(path, raw, tuple(first['loc']))}: {msg}") from None


def load_catalog(path: Path | str) -> Catalog:
    """Read and validate the catalog file at ``path``."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"{p}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{p}: invalid TOML: {exc}") from None
    return parse_catalog(raw, source=p)
