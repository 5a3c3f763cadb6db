"""Settings: the one place configuration is read and validated.

Every setting is an environment variable (Azure app settings and
local.settings.json "Values" both arrive that way). In production a missing
required setting stops start-up with a message naming it; in development
and tests the defaults below let the app run on one machine.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.platform.buckets import DEFAULT_LIMITS, Bucket

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOCAL_DIR = PROJECT_ROOT / ".local"
# Development convenience (template: .env.example): read after the environment,
# only when the environment itself says APP_ENV=development.
ENV_FILE = PROJECT_ROOT / ".env"

# Development-only secrets: never accepted when APP_ENV=production.
DEV_JWT_SECRET = "talenti-local-development-jwt-secret-not-for-production"
DEV_SERVICE_KEY = "talenti-local-service-key"

REQUIRED_IN_PRODUCTION = ("DATABASE_URL", "SUPABASE_URL", "SERVICE_API_KEY", "SITE_URL")


_S = TypeVar("_S", bound="DatabaseSettings")


class ConfigurationError(RuntimeError):
    """Raised at start-up when a required setting is missing or invalid."""


class DatabaseSettings(BaseSettings):
    """The mode and the database settings: all the migrate command reads, so the
    deploy workflow's migration job needs no app secrets (Settings adds the rest)."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    # Unset or unknown means production: its safeguards apply unless the environment
    # names a development or test run (fail closed).
    APP_ENV: Literal["development", "test", "production"] = "production"

    # Database (Supabase pooler in production; embedded PostgreSQL locally).
    DATABASE_URL: str | None = None
    # Unset: DB_POOL_MAX in production (a pool that starts full: no connection set-up
    # during a ramp, and DB_POOL_MAX alone is the instance's budget), 1 elsewhere.
    DB_POOL_MIN: int | None = Field(default=None, ge=0, le=100)
    DB_POOL_MAX: int = Field(default=10, ge=1, le=100)
    DB_AUTO_MIGRATE: bool | None = None  # default: on outside production
    DB_POOL_TIMEOUT_SECONDS: float = Field(default=3.0, gt=0, le=60)  # then 503, not a long wait
    # The migrate command's own URL: a direct connection or the session pooler (port 5432).
    # Required in production; elsewhere the app's database. Never the transaction pooler (6543).
    MIGRATIONS_DATABASE_URL: str | None = None
    # Per migration file: the most it may wait for a table lock another session holds, and
    # the most it may run (the file is one statement); then it fails and nothing of it stays.
    MIGRATION_LOCK_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=600)
    MIGRATION_STATEMENT_TIMEOUT_SECONDS: float = Field(default=300.0, gt=0, le=7200)

    @model_validator(mode="before")
    @classmethod
    def _unresolved_key_vault_references_are_unset(cls, values: Any) -> Any:
        # App Service passes "@Microsoft.KeyVault(...)" through verbatim when it
        # cannot resolve a reference: that text must never act as a secret. A
        # blank value of an optional setting (the sample's "") means unset too.
        if not isinstance(values, dict):
            return values
        optional = {name for name, f in cls.model_fields.items() if not f.is_required() and f.default is None}

        def unset(name: str, value: Any) -> bool:
            text = value.strip() if isinstance(value, str) else None
            return text is not None and (text.startswith("@Microsoft.KeyVault(") or (not text and name in optional))

        return {k: (None if unset(k, v) else v) for k, v in values.items()}

    @field_validator("APP_ENV", mode="before")
    @classmethod
    def _unknown_environment_is_production(cls, value: Any) -> Any:
        return value if value in ("development", "test") else "production"

    @model_validator(mode="after")
    def _check_pool(self) -> "DatabaseSettings":
        if self.DB_POOL_MIN is not None and self.DB_POOL_MIN > self.DB_POOL_MAX:
            raise ValueError(f"DB_POOL_MIN ({self.DB_POOL_MIN}) is more than DB_POOL_MAX ({self.DB_POOL_MAX})")
        return self

    @property
    def is_production(self) -> bool:
        return self.APP_ENV == "production"

    @property
    def pool_min_size(self) -> int:
        if self.DB_POOL_MIN is not None:
            return self.DB_POOL_MIN
        return self.DB_POOL_MAX if self.is_production else 1


class Settings(DatabaseSettings):
    APP_VERSION: str = "0.1.0"
    LOG_LEVEL: str = "INFO"

    # Supabase: token verification, admin API, CV storage.
    SUPABASE_URL: str = "http://127.0.0.1:54321"
    SUPABASE_JWT_SECRET: str | None = None
    SUPABASE_JWT_ISSUER: str | None = None  # default: <SUPABASE_URL>/auth/v1
    SUPABASE_SERVICE_ROLE_KEY: str | None = None
    JWKS_CACHE_SECONDS: int = Field(default=600, ge=0, le=600)

    SERVICE_API_KEY: str | None = None
    # Supabase anonymous sign-ins (`is_anonymous` tokens) are refused on every endpoint:
    # anyone can mint one, so they would open the paid services to the whole internet.
    ALLOW_ANONYMOUS_SIGN_INS: bool = False

    # AI model: an OpenAI-compatible endpoint, or Azure OpenAI.
    AI_API_KEY: str | None = None
    AI_BASE_URL: str | None = None
    AI_MODEL: str | None = None
    AI_SCORING_MODEL: str | None = None
    AI_TIMEOUT_SECONDS: float = 30.0
    # JSON {"<purpose>": tokens} overriding the output caps every model call carries
    # (shared/ai/client.py DEFAULT_OUTPUT_CAPS).
    AI_MAX_OUTPUT_TOKENS: str | None = None
    # JSON {"<model>": {"input": <USD per 1M tokens>, "output": <USD per 1M>}} merged over
    # shared/platform/ai_usage.py DEFAULT_PRICES: the estimated cost in app.ai_usage.
    AI_PRICES: str | None = None
    # An organisation's monthly AI spend limit (USD, UTC month); unset = unlimited.
    # app.ai_budgets overrides it per organisation.
    AI_ORG_MONTHLY_BUDGET_USD: float | None = Field(default=None, ge=0)
    AZURE_OPENAI_ENDPOINT: str | None = None
    AZURE_OPENAI_DEPLOYMENT: str | None = None
    AZURE_OPENAI_API_VERSION: str = "2024-10-21"
    AZURE_OPENAI_API_KEY: str | None = None
    # openai | azure | local (the embedded development model); default: azure when
    # AZURE_OPENAI_ENDPOINT is set, openai when AI_MODEL/AI_API_KEY/AI_BASE_URL is,
    # else local in development. `local` is refused in production.
    AI_PROVIDER: Literal["openai", "azure", "local"] | None = None
    LOCAL_MODEL_URL: str | None = None  # a running local model server; unset: the local host starts one

    # Azure Communication Services and Speech.
    ACS_CONNECTION_STRING: str | None = None
    ACS_ENDPOINT: str | None = None  # with managed identity instead of a key
    ACS_WEBHOOK_SECRET: str | None = None
    ACS_WEBHOOK_SECRET_PREVIOUS: str | None = None
    # Accept the secret as ?secret= too: only while moving a subscription to the header
    # (a query string lands in request logs and telemetry).
    ACS_WEBHOOK_SECRET_IN_QUERY: bool = False
    AZURE_SPEECH_KEY: str | None = None
    AZURE_SPEECH_REGION: str | None = None
    AZURE_SPEECH_TOKEN_ENDPOINT: str | None = None  # default: regional issueToken
    # Without AZURE_SPEECH_KEY: Microsoft Entra ID (shared/adapters/speech_tokens.py). The
    # resource's custom subdomain, its resource id, and the client id of the user-assigned
    # identity whose token browsers receive (required in production: see that module).
    AZURE_SPEECH_ENDPOINT: str | None = None
    AZURE_SPEECH_RESOURCE_ID: str | None = None
    AZURE_SPEECH_CLIENT_ID: str | None = None

    # Email.
    RESEND_API_KEY: str | None = None
    RESEND_API_URL: str | None = None
    EMAIL_FROM: str = "Talenti <no-reply@talenti.local>"
    SITE_URL: str = "http://localhost:5173"
    # This app's own public address (status URLs); never taken from a request's Host header.
    PUBLIC_BASE_URL: str | None = None

    # Storage: recordings (Azure Blob) and CVs (Supabase Storage or Blob).
    RECORDINGS_STORAGE_CONNECTION_STRING: str | None = None
    RECORDINGS_ACCOUNT_URL: str | None = None  # with managed identity
    RECORDINGS_CONTAINER: str = "recordings"
    CV_STORAGE: Literal["supabase", "blob"] = "supabase"
    CV_BUCKET: str = "cvs"
    CV_STORAGE_CONNECTION_STRING: str | None = None

    # Scheduling and scoring.
    RETENTION_SCHEDULE: str = "0 0 3 * * *"
    # Days the AI decision log (app.ai_decisions, EU AI Act Art. 12) keeps a row; the retention
    # timer purges older ones. The Act asks for at least six months (Art. 19/26): 400 days
    # covers a yearly bias audit with room to spare.
    AI_DECISION_LOG_RETENTION_DAYS: int = Field(default=400, ge=183, le=3650)
    AUTO_SCORE_ON_CALL_END: bool = True
    SCORE_WAIT_SECONDS: float = Field(default=25.0, ge=0, le=230)
    SCORE_RETRY_ATTEMPTS: int = Field(default=3, ge=1, le=10)  # per scoring step, first try included
    SCORE_RETRY_INTERVAL_SECONDS: float = Field(default=5.0, ge=0.05, le=300)

    # HTTP.
    CORS_ALLOWED_ORIGINS: str = "http://localhost:5173,http://localhost:8080"
    RATE_LIMITS: str | None = None  # JSON {"route": "count/seconds"} overriding defaults
    RATE_LIMIT_ENABLED: bool = True
    RATE_LIMIT_IP_MULTIPLIER: int = Field(default=5, ge=1, le=1000)  # per-IP budget = this x per-user
    # Invitation emails one organisation may send per UTC day, on top of the per-user limit: a
    # self-made organisation cannot turn the app into a mailer (docs/INVITATIONS.md).
    INVITATIONS_PER_ORG_PER_DAY: int = Field(default=200, ge=1, le=1_000_000)
    # Proxies in front of the app that append to X-Forwarded-For (the platform's front end: 1 in
    # Azure); default 1 in production, 0 elsewhere (the local host has none: the socket peer counts).
    TRUSTED_PROXY_HOPS: int | None = Field(default=None, ge=0, le=5)
    API_DOCS_ENABLED: bool = False  # serve GET /api/docs in production too (always on elsewhere)

    # Telemetry (shared/platform/telemetry.py, docs/OPERATIONS.md): none | azure | console | file;
    # unset: azure when APPLICATIONINSIGHTS_CONNECTION_STRING is set, else none (off).
    TELEMETRY_EXPORTER: Literal["none", "azure", "console", "file"] | None = None
    APPLICATIONINSIGHTS_CONNECTION_STRING: str | None = None

    @field_validator(
        "DATABASE_URL",
        "AI_BASE_URL",
        "AZURE_OPENAI_ENDPOINT",
        "RESEND_API_KEY",
        "AI_API_KEY",
        "ACS_CONNECTION_STRING",
        "SUPABASE_JWT_SECRET",
        "SERVICE_API_KEY",
        "SUPABASE_SERVICE_ROLE_KEY",
        "AI_PROVIDER",
        "LOCAL_MODEL_URL",
        "TELEMETRY_EXPORTER",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _check(self) -> "Settings":
        if self.APP_ENV == "production":
            missing = [name for name in REQUIRED_IN_PRODUCTION if not getattr(self, name)]
            if not (self.SUPABASE_JWT_SECRET or self.SUPABASE_URL):
                missing.append("SUPABASE_JWT_SECRET")
            if missing:
                raise ValueError(f"missing required setting(s): {', '.join(missing)}")
            if self.SUPABASE_JWT_SECRET == DEV_JWT_SECRET or self.SERVICE_API_KEY == DEV_SERVICE_KEY:
                raise ValueError("development secrets are not allowed in production")
            if self.AI_PROVIDER == "local":
                raise ValueError("AI_PROVIDER=local (the embedded development model) is not allowed in production")
        else:
            self.SUPABASE_JWT_SECRET = self.SUPABASE_JWT_SECRET or DEV_JWT_SECRET
            self.SERVICE_API_KEY = self.SERVICE_API_KEY or DEV_SERVICE_KEY
        if self.TELEMETRY_EXPORTER == "azure" and not self.APPLICATIONINSIGHTS_CONNECTION_STRING:
            raise ValueError("TELEMETRY_EXPORTER=azure needs APPLICATIONINSIGHTS_CONNECTION_STRING")
        self.rate_limits()  # validate the JSON early
        self.ai_output_caps()
        self.ai_prices()
        return self

    def public_base_url(self, request_base_url: str) -> str:
        """The base of the app's own links: PUBLIC_BASE_URL; else, in Azure, the host name
        the platform sets (WEBSITE_HOSTNAME); else in development the request's own base.
        In production with neither, "" (links are then relative to the host)."""
        if self.PUBLIC_BASE_URL:
            return self.PUBLIC_BASE_URL.rstrip("/")
        hostname = os.environ.get("WEBSITE_HOSTNAME", "").strip()
        if hostname:
            return f"https://{hostname}"
        return "" if self.is_production else request_base_url.rstrip("/")

    @property
    def ai_provider(self) -> str:
        if self.AI_PROVIDER:
            return self.AI_PROVIDER
        if self.AZURE_OPENAI_ENDPOINT:
            return "azure"
        if self.AI_MODEL or self.AI_API_KEY or self.AI_BASE_URL or self.APP_ENV != "development":
            return "openai"
        return "local"

    @property
    def auto_migrate(self) -> bool:
        return self.DB_AUTO_MIGRATE if self.DB_AUTO_MIGRATE is not None else not self.is_production

    @property
    def jwt_issuer(self) -> str:
        return self.SUPABASE_JWT_ISSUER or f"{self.SUPABASE_URL.rstrip('/')}/auth/v1"

    @property
    def jwks_url(self) -> str:
        return f"{self.SUPABASE_URL.rstrip('/')}/auth/v1/.well-known/jwks.json"

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.CORS_ALLOWED_ORIGINS.split(",") if o.strip()]

    @property
    def proxy_hops(self) -> int:
        if self.TRUSTED_PROXY_HOPS is not None:
            return self.TRUSTED_PROXY_HOPS
        return 1 if self.is_production else 0

    def ai_output_caps(self) -> dict[str, int]:
        """Purpose -> the most tokens one answer may have, from AI_MAX_OUTPUT_TOKENS."""
        if not self.AI_MAX_OUTPUT_TOKENS:
            return {}
        try:
            caps = json.loads(self.AI_MAX_OUTPUT_TOKENS)
        except ValueError as exc:
            raise ValueError(f"AI_MAX_OUTPUT_TOKENS is not a JSON object: {exc}") from None
        if not isinstance(caps, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 100_000 for v in caps.values()
        ):
            raise ValueError('AI_MAX_OUTPUT_TOKENS must look like {"score": 4000} (whole numbers 1 to 100000)')
        return {str(k): int(v) for k, v in caps.items()}

    def ai_prices(self) -> dict[str, tuple[float, float]]:
        """Model -> (input, output) USD per million tokens, from AI_PRICES (only the overrides)."""
        if not self.AI_PRICES:
            return {}
        try:
            prices = json.loads(self.AI_PRICES)
        except ValueError as exc:
            raise ValueError(f"AI_PRICES is not a JSON object: {exc}") from None

        def number(value: Any) -> bool:
            return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 10_000

        if not isinstance(prices, dict) or not all(
            isinstance(p, dict) and set(p) == {"input", "output"} and number(p["input"]) and number(p["output"])
            for p in prices.values()
        ):
            raise ValueError('AI_PRICES must look like {"gpt-4o": {"input": 2.5, "output": 10}} (USD per 1M tokens)')
        return {str(model): (float(p["input"]), float(p["output"])) for model, p in prices.items()}

    def rate_limits(self) -> dict[Bucket, tuple[int, int]]:
        """Bucket -> (requests, window seconds), defaults overridden by RATE_LIMITS."""
        limits = dict(DEFAULT_LIMITS)
        if not self.RATE_LIMITS:
            return limits
        try:
            overrides = json.loads(self.RATE_LIMITS)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"RATE_LIMITS is not a JSON object: {exc}") from None
        if not isinstance(overrides, dict):
            raise ValueError("RATE_LIMITS is not a JSON object")
        for route, spec in overrides.items():
            if route not in {bucket.value for bucket in Bucket}:  # a typo must not switch a limit off
                raise ValueError(f"RATE_LIMITS names an unknown route {route!r}; known: {', '.join(Bucket)}")
            try:
                count, seconds = (int(part) for part in str(spec).split("/"))
            except ValueError:
                raise ValueError(f"RATE_LIMITS[{route!r}] must look like '10/60'") from None
            if count < 1 or seconds < 1:
                raise ValueError(f"RATE_LIMITS[{route!r}] must be positive")
            limits[Bucket(route)] = (count, seconds)
        return limits


def _load(kind: type[_S]) -> _S:
    try:
        if os.environ.get("APP_ENV") != "development":
            return kind()
        # A .env never switches the app out of development (and so past its safeguards).
        return kind(_env_file=ENV_FILE, APP_ENV="development")
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigurationError(f"Invalid configuration: {exc}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return _load(Settings)


def get_database_settings() -> DatabaseSettings:
    """Only the mode and the database settings (the migrate command: no app secrets needed)."""
    return _load(DatabaseSettings)


def reset_settings() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()


def resolve_database_url(settings: DatabaseSettings) -> str:
    """DATABASE_URL, or an embedded PostgreSQL under .local/ outside production."""
    if settings.DATABASE_URL:
        return settings.DATABASE_URL
    if settings.is_production:
        raise ConfigurationError("Invalid configuration: missing required setting(s): DATABASE_URL")
    from shared.platform.embedded_db import start_embedded_postgres

    return start_embedded_postgres(LOCAL_DIR / "pg")


TRANSACTION_POOLER_PORT = "6543"  # Supabase's transaction-mode pooler


def resolve_migrations_url(settings: DatabaseSettings) -> str:
    """The migrate command's database: MIGRATIONS_DATABASE_URL; outside production the
    app's database when it is unset. Production refuses to guess: the app's URL is the
    transaction pooler there, which takes no session state and whose client slots are
    the app's budget."""
    if settings.MIGRATIONS_DATABASE_URL:
        url = settings.MIGRATIONS_DATABASE_URL
    elif settings.is_production:
        raise ConfigurationError(
            "Invalid configuration: MIGRATIONS_DATABASE_URL is required to run migrations in production: "
            "the direct connection (db.<ref>.supabase.co:5432) or the session pooler "
            "(<region>.pooler.supabase.com:5432), not DATABASE_URL's transaction pooler (port 6543)"
        )
    else:
        url = resolve_database_url(settings)
    if settings.is_production and TRANSACTION_POOLER_PORT in _ports(url):
        raise ConfigurationError(
            "Invalid configuration: MIGRATIONS_DATABASE_URL names port 6543, Supabase's transaction pooler; "
            "use the direct connection or the session pooler (port 5432)"
        )
    return url


def _ports(url: str) -> list[str]:
    from psycopg.conninfo import conninfo_to_dict

    try:
        port = str(conninfo_to_dict(url).get("port") or "")
    except Exception as exc:  # psycopg.ProgrammingError: not a connection string at all
        raise ConfigurationError(
            f"Invalid configuration: MIGRATIONS_DATABASE_URL is not a connection URL ({exc})"
        ) from None
    return [p.strip() for p in port.split(",")]  # one port per host in a multi-host URL
