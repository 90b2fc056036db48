"""The salon's catalog: stylists, services, their segments, opening hours.

Loaded from TOML (format in ``shared/contracts/interface.md``) and validated at start-up;
errors name the file, the service, the segment, the stylist and the field so an operator
can fix the catalog.

A staffed segment names whose time it occupies in one of two forms: one resource
(``resource`` + ``calcom_event_type_id``), or one Cal.com event type per stylist who can do
it (``event_types = { anna = 3201, ben = 3211 }``: in Cal.com each stylist owns their own
event type per segment). Either way :attr:`Segment.hosts` maps each possible host to the
event type to book; a host is the resource claimed in the database. One appointment stays
with one stylist, so a service's stylists are those named in every staffed segment.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class CatalogError(ValueError):
    """The catalog file is missing or invalid; the message names file, service and field."""


class Stylist(BaseModel):
    """Someone who works at the salon: ``key`` is the resource claimed in the database,
    ``name`` is what callers and the agent say, ``aliases`` what callers also say."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=60)
    aliases: tuple[str, ...] = ()


class Segment(BaseModel):
    """One step of a service. Staffed segments occupy their host's time; gaps do not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1, max_length=8)
    name: str = Field(min_length=1)
    minutes: int = Field(gt=0, le=600)
    staff: bool = True
    # One resource: whose time it occupies, and its Cal.com event type.
    resource: str | None = None
    calcom_event_type_id: int | None = Field(default=None, gt=0)
    # Several stylists: stylist key -> that stylist's own Cal.com event type.
    event_types: dict[str, PositiveInt] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _staffed_needs_a_host(self) -> Segment:
        single = self.resource is not None or self.calcom_event_type_id is not None
        if self.event_types and single:
            raise ValueError("give either event_types or resource + calcom_event_type_id, not both")
        if self.staff and not self.event_types:
            if not self.resource:
                raise ValueError("resource (or event_types) is required when staff = true")
            if self.calcom_event_type_id is None:
                raise ValueError("calcom_event_type_id is required when staff = true")
        return self

    @property
    def hosts(self) -> dict[str, int]:
        """Who can do this segment: host (stylist or resource key) -> the Cal.com event
        type to book with them, in catalog order. Empty for a gap."""
        if not self.staff:
            return {}
        if self.event_types:
            return dict(self.event_types)
        if self.resource is None or self.calcom_event_type_id is None:
            return {}  # unreachable: the validator requires both
        return {self.resource: self.calcom_event_type_id}


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
        if not self.stylists:
            who = "; ".join(f"{s.key}: {', '.join(s.hosts)}" for s in self.segments if s.staff)
            raise ValueError(
                "no stylist can do every staffed segment "
                f"({who}): one appointment stays with one stylist"
            )
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

    @property
    def stylists(self) -> tuple[str, ...]:
        """Keys of those who can do the whole service (named in every staffed segment),
        in the order of the first staffed segment."""
        staffed = self.staffed_segments
        if not staffed:
            return ()
        return tuple(k for k in staffed[0].hosts if all(k in s.hosts for s in staffed[1:]))


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
    stylists: tuple[Stylist, ...] = ()
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
        _check_stylists(self.stylists)
        known = [s.key for s in self.stylists]
        owners: dict[int, tuple[str, str]] = {}
        for svc in self.services:
            for seg in svc.staffed_segments:
                where = f'service "{svc.name}", segment "{seg.key}"'
                for host, event_type in seg.hosts.items():
                    if seg.event_types and host not in known:
                        listed = ", ".join(known) or "none: add [[stylists]]"
                        raise ValueError(
                            f'{where}: event_types names stylist "{host}", who is not in '
                            f"[[stylists]] ({listed})"
                        )
                    other, other_where = owners.setdefault(event_type, (host, where))
                    if other != host:
                        raise ValueError(
                            f"{where}: Cal.com event type {event_type} is used by two hosts "
                            f'("{other}" in {other_where} and "{host}" here); each stylist '
                            "books with their own event type"
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
        """Cal.com event type id -> (host, minutes, segment title) over all services and
        stylists; the host is the stylist (or resource) key whose time it occupies."""
        out: dict[int, tuple[str, int, str]] = {}
        for svc in self.services:
            for seg in svc.staffed_segments:
                for host, event_type in seg.hosts.items():
                    out[event_type] = (host, seg.minutes, f"{svc.name} {seg.key}")
        return out

    def stylist(self, key: str) -> Stylist | None:
        """The stylist with this key, or None (an undeclared resource of the old form)."""
        return next((s for s in self.stylists if s.key == key), None)

    def stylist_name(self, key: str | None) -> str | None:
        """What callers call the stylist ``key``; None for an undeclared resource."""
        found = self.stylist(key) if key is not None else None
        return found.name if found is not None else None

    def in_catalog_order(self, keys: Iterable[str]) -> list[str]:
        """``keys`` ordered as the stylists are listed; undeclared keys last, as given."""
        position = {s.key: i for i, s in enumerate(self.stylists)}
        given = list(keys)
        return sorted(given, key=lambda k: (position.get(k, len(position)), given.index(k)))


def _check_stylists(stylists: Iterable[Stylist]) -> None:
    """Keys unique; no name or alias shared by two stylists (callers could not choose)."""
    keys: set[str] = set()
    spoken: dict[str, str] = {}
    for stylist in stylists:
        if stylist.key in keys:
            raise ValueError(f'stylist key "{stylist.key}" is used twice')
        keys.add(stylist.key)
        for said in (stylist.name, *stylist.aliases):
            other = spoken.setdefault(said.casefold(), stylist.key)
            if other != stylist.key:
                raise ValueError(
                    f'stylist "{stylist.key}": "{said}" is also said for stylist "{other}"'
                )


def _entry(items: object, idx: int, label: str) -> str:
    """The ``label`` (name or key) of entry ``idx`` of a raw TOML array, else ``#n``."""
    if isinstance(items, list) and idx < len(items) and isinstance(items[idx], dict):
        return str(items[idx].get(label, f"#{idx + 1}"))
    return f"#{idx + 1}"


def _describe(path: Path, raw: dict, loc: tuple) -> str:
    """Turn a pydantic error location into
    'service "X", segment "A", field segments[0].event_types.anna'."""
    parts = list(loc)
    where = ""
    if len(parts) >= 2 and parts[0] == "services" and isinstance(parts[1], int):
        services = raw.get("services") or []
        where = f'service "{_entry(services, parts[1], "name")}", '
        if len(parts) >= 4 and parts[2] == "segments" and isinstance(parts[3], int):
            svc = services[parts[1]] if parts[1] < len(services) else {}
            segments = svc.get("segments") if isinstance(svc, dict) else None
            where += f'segment "{_entry(segments, parts[3], "key")}", '
        parts = parts[2:]
    elif len(parts) >= 2 and parts[0] == "stylists" and isinstance(parts[1], int):
        where = f'stylist "{_entry(raw.get("stylists"), parts[1], "key")}", '
        parts = parts[2:]
    if not parts:
        return f"{path}: {where.removesuffix(', ')}" if where else f"{path}"
    field = ""
    for p in parts:
        field += f"[{p}]" if isinstance(p, int) else (f".{p}" if field else str(p))
    return f"{path}: {where}field {field}"


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
