"""The single settings class of the project.

Every environment variable of ``shared/contracts/interface.md`` is read here and nowhere
else; the rest of the code receives a :class:`Settings` instance (or values taken from it).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.messages import CallInput
from payload_codec.keys import KeyRing, parse_key_ring

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_CATALOG_PATH = PROJECT_ROOT / "domain" / "demo_catalog.toml"
# The attendee e-mail of a booking whose customer left no usable phone or e-mail: a valid
# address under the reserved ".invalid" domain (RFC 2606), so Cal.com accepts the booking
# and no stranger ever gets mail. Set BOOKING_FALLBACK_EMAIL to the salon's own mailbox.
DEFAULT_FALLBACK_EMAIL = "kein-kontakt@salon.invalid"


class Settings(BaseSettings):
    """Runtime configuration, from the environment (and ``.env`` when present)."""

    # hide_input_in_errors: a malformed secret must not be echoed by a validation error.
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    # Temporal
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "booking-calls"
    temporal_api_key: SecretStr | None = None
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None

    # PostgreSQL (unset -> embedded PostgreSQL in `booking dev`)
    database_url: str | None = None

    # Cal.com (unset -> simulator in `booking dev`; https://api.cal.com otherwise)
    calcom_api_url: str | None = None
    calcom_api_key: SecretStr | None = None
    calcom_webhook_secret: SecretStr | None = None
    # Cal.com's limit per API key, shared by every worker (calcom/budget.py): at most this
    # many requests in any 60 s, at most CALCOM_RATE_BURST of them at once. 0: no limit.
    calcom_rate_limit_per_minute: int = Field(default=120, ge=0)
    calcom_rate_burst: int = Field(default=60, ge=1)

    # Retell
    retell_api_key: SecretStr | None = None

    # Salon
    catalog_path: Path = DEMO_CATALOG_PATH
    hold_seconds: int = Field(default=90, ge=10, le=600)
    salon_timezone: str = "Europe/Berlin"
    hold_max_extensions: int = Field(default=3, ge=0, le=20)
    hold_max_total_seconds: int = Field(default=300, ge=10, le=3600)
    call_lifetime_seconds: int = Field(default=2 * 3600, ge=60, le=24 * 3600)
    booking_horizon_days: int = Field(default=90, ge=1, le=3650)
    booking_fallback_email: str = DEFAULT_FALLBACK_EMAIL
    # Cancelling or moving an appointment by phone closer to its start is refused.
    cancellation_notice_hours: float = Field(default=0, ge=0, le=24 * 365)

    # HTTP
    api_port: int = 8000
    # Largest request body read (1 MiB: Retell's call_ended carries the whole transcript).
    api_max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)

    # Customer data: the ops endpoints' token, the Temporal payload keys (issue 18)
    ops_token: SecretStr | None = None
    payload_encryption_keys: SecretStr | None = None
    codec_server_port: int = 8234
    codec_cors_origins: str = "http://localhost:8233"  # comma-separated; the Temporal UI

    # Extensions (documented in README "Configuration")
    check_budget_seconds: float = Field(default=2.5, gt=0, le=30)
    booking_budget_seconds: float = Field(default=6.0, gt=0, le=60)
    # The inbound webhook's lookup: beyond it the caller is answered as unknown.
    inbound_budget_seconds: float = Field(default=0.8, gt=0, le=5)
    worker_metrics_port: int = 9464
    temporal_ui_port: int = 8233  # booking dev's Temporal UI
    # The workflow sandbox in production workers (tests and replay always use it).
    workflow_sandbox: bool = False
    # Workflow activations on the worker's event loop instead of a thread hop each (the
    # SDK's debug_mode path; its 2 s deadlock detector is replaced by observability's
    # loop watchdog). Only without the sandbox; tests and replay keep threads + detector.
    workflow_inline_activations: bool = True
    log_level: str = "INFO"
    log_json: bool = True
    calsim_port: int = 8090
    calsim_rate_limit_per_minute: int = 120
    calsim_webhook_url: str | None = None
    data_dir: Path = PROJECT_ROOT / ".data"
    # Tests only: a PostgreSQL server to create throw-away databases on.
    test_database_url: str | None = None
    ci: bool = False

    def call_input(
        self, call_id: str, from_number: str | None = None, agent_id: str | None = None
    ) -> CallInput:
        """The call workflow's input: the call's ids and the salon's hold policy."""
        return CallInput(
            call_id=call_id,
            from_number=from_number,
            agent_id=agent_id,
            salon_timezone=self.salon_timezone,
            hold_seconds=self.hold_seconds,
            max_extensions=self.hold_max_extensions,
            max_hold_total_seconds=self.hold_max_total_seconds,
            booking_budget_seconds=self.booking_budget_seconds,
            lifetime_seconds=self.call_lifetime_seconds,
            cancellation_notice_hours=self.cancellation_notice_hours,
        )

    @model_validator(mode="after")
    def _burst_below_limit(self) -> Settings:
        limit = self.calcom_rate_limit_per_minute
        if limit and self.calcom_rate_burst >= limit:
            raise ValueError("CALCOM_RATE_BURST must be below CALCOM_RATE_LIMIT_PER_MINUTE")
        return self

    @field_validator("booking_fallback_email")
    @classmethod
    def _an_address(cls, value: str) -> str:
        local, at, domain = value.strip().rpartition("@")
        if not at or not local or "." not in domain or any(c.isspace() for c in value.strip()):
            raise ValueError("BOOKING_FALLBACK_EMAIL must be an e-mail address")
        return value.strip()

    @field_validator("ops_token", "payload_encryption_keys", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """``OPS_TOKEN=`` (empty) is no token, not the empty token."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("payload_encryption_keys")
    @classmethod
    def _keys_parse(cls, value: SecretStr | None) -> SecretStr | None:
        """Fail at start-up, naming the variable, when the key list is malformed."""
        if value is not None:
            parse_key_ring(value.get_secret_value())
        return value

    @property
    def calcom_base_url(self) -> str:
        return (self.calcom_api_url or "https://api.cal.com").rstrip("/")

    @property
    def payload_key_ring(self) -> KeyRing | None:
        """The Temporal payload keys, or None when encryption is off."""
        if self.payload_encryption_keys is None:
            return None
        return parse_key_ring(self.payload_encryption_keys.get_secret_value())

    @property
    def codec_cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.codec_cors_origins.split(",") if o.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
