"""The composition root: builds every adapter from settings, lazily, once per
process. Heavy SDKs are imported by the adapters on first use, not here.

Entry points reach adapters through `get_services()` and hand each service the
few it needs. An adapter whose settings are missing raises NotConfigured (503,
naming the setting) when it is asked for; a service that can do without one
is given `services.optional(...)` instead, which is None in that case.
Tests build their own `Services` (or replace attributes on it).
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Literal, overload

from shared.platform.db import Database
from shared.platform.errors import NotConfigured

if TYPE_CHECKING:  # settings and adapters are imported on first use (cold start)
    from shared.adapters.acs_identity import AcsIdentity
    from shared.adapters.blob_probe import BlobContainerProbe
    from shared.adapters.cv_storage import BlobCvStorage, SupabaseCvStorage
    from shared.adapters.email import OutboxEmail, ResendEmail
    from shared.adapters.recordings import RecordingStore
    from shared.adapters.speech_tokens import EntraSpeechTokens, SpeechTokens
    from shared.adapters.supabase_admin import SupabaseAdmin
    from shared.ai.client import AIClient
    from shared.platform.ai_usage import MeteredAI, UsageLedger
    from shared.platform.auth import TokenVerifier
    from shared.platform.config import Settings
    from shared.platform.rate_limit import RateLimiter

OptionalAdapter = Literal["ai", "cv_storage", "recordings", "supabase_admin", "acs_identity"]


class Services:
    """Adapters and shared objects for one process."""

    def __init__(self, settings: Settings | None = None):
        from shared.platform.config import get_settings

        self.settings = settings or get_settings()

    @overload
    def optional(self, name: Literal["ai"]) -> AIClient | None: ...

    @overload
    def optional(self, name: Literal["cv_storage"]) -> SupabaseCvStorage | BlobCvStorage | None: ...

    @overload
    def optional(self, name: Literal["recordings"]) -> RecordingStore | None: ...

    @overload
    def optional(self, name: Literal["supabase_admin"]) -> SupabaseAdmin | None: ...

    @overload
    def optional(self, name: Literal["acs_identity"]) -> AcsIdentity | None: ...

    def optional(self, name: OptionalAdapter) -> object:
        """The adapter, or None when its settings are missing: for services that can do without it."""
        try:
            return getattr(self, name)
        except NotConfigured:
            return None

    @cached_property
    def db(self) -> Database:
        settings = self.settings

        def prepare() -> str:
            from shared.platform.config import resolve_database_url  # pydantic-settings: on first use

            url = resolve_database_url(settings)
            if settings.auto_migrate:
                from shared.platform.migrate import migrate

                migrate(
                    settings.MIGRATIONS_DATABASE_URL or url,
                    lock_timeout=settings.MIGRATION_LOCK_TIMEOUT_SECONDS,
                    statement_timeout=settings.MIGRATION_STATEMENT_TIMEOUT_SECONDS,
                )
            return url

        return Database(
            prepare,
            min_size=settings.pool_min_size,
            max_size=settings.DB_POOL_MAX,
            pool_timeout=settings.DB_POOL_TIMEOUT_SECONDS,
        )

    @cached_property
    def verifier(self) -> TokenVerifier:
        from shared.platform.auth import JwksCache, TokenVerifier

        settings = self.settings
        return TokenVerifier(
            jwt_secret=settings.SUPABASE_JWT_SECRET,
            issuer=settings.jwt_issuer,
            jwks=JwksCache(settings.jwks_url, settings.JWKS_CACHE_SECONDS),
        )

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        from shared.platform.rate_limit import RateLimiter

        return RateLimiter(
            self.db,
            self.settings.rate_limits(),
            self.settings.RATE_LIMIT_ENABLED,
            ip_multiplier=self.settings.RATE_LIMIT_IP_MULTIPLIER,
        )

    @cached_property
    def ai(self) -> AIClient:
        from shared.ai.client import ai_from_settings

        return ai_from_settings(self.settings)

    @cached_property
    def usage(self) -> UsageLedger:
        """AI usage rows and organisations' monthly budgets (shared/platform/ai_usage.py)."""
        from shared.platform.ai_usage import Prices, UsageLedger

        return UsageLedger(self.db, Prices(self.settings.ai_prices()), self.settings.AI_ORG_MONTHLY_BUDGET_USD)

    def metered_ai(self, user_id: object = None) -> MeteredAI:
        """The AI client as features get it: every call recorded in app.ai_usage and held
        to the payer's budget (the feature binds the organisation with `billed`);
        NotConfigured without a model."""
        from shared.platform.ai_usage import MeteredAI, Payer

        return MeteredAI(self.ai, self.usage, Payer(user_id=user_id))

    def optional_metered_ai(self, user_id: object = None) -> MeteredAI | None:
        """metered_ai, or None without a model (for features that can do without it)."""
        return None if self.optional("ai") is None else self.metered_ai(user_id)

    @cached_property
    def cv_storage(self) -> SupabaseCvStorage | BlobCvStorage:
        """Candidates' CVs: Supabase Storage or an Azure Blob container (CV_STORAGE)."""
        from shared.adapters.cv_storage import cv_storage_from_settings

        return cv_storage_from_settings(self.settings)

    @cached_property
    def acs_identity(self) -> AcsIdentity:
        from shared.adapters.acs_identity import build_acs_identity

        return build_acs_identity(self.settings)

    @cached_property
    def speech_tokens(self) -> SpeechTokens | EntraSpeechTokens:
        """Holds this instance's cached Speech token."""
        from shared.adapters.speech_tokens import build_speech_tokens

        return build_speech_tokens(self.settings)

    @cached_property
    def email(self) -> ResendEmail | OutboxEmail:
        """Resend with RESEND_API_KEY; without it, the .local/outbox folder outside production."""
        from shared.adapters.email import build_email
        from shared.platform.config import LOCAL_DIR

        return build_email(self.settings, LOCAL_DIR / "outbox")

    @cached_property
    def recordings(self) -> RecordingStore:
        """The recordings Blob container."""
        from shared.adapters.recordings import build_recordings

        return build_recordings(self.settings)

    @cached_property
    def supabase_admin(self) -> SupabaseAdmin:
        """Supabase Auth admin (deleting users)."""
        from shared.adapters.supabase_admin import build_supabase_admin

        return build_supabase_admin(self.settings)

    @cached_property
    def storage_probes(self) -> dict[str, BlobContainerProbe]:
        """The Blob containers GET /api/health/ready checks, by the name it reports."""
        from shared.adapters.blob_probe import storage_probes

        return storage_probes(self.settings)

    async def close(self) -> None:
        """Close what was built (cached properties never built are skipped)."""
        for probe in self.__dict__.get("storage_probes", {}).values():
            await probe.close()
        for name in (
            "ai",
            "cv_storage",
            "acs_identity",
            "speech_tokens",
            "email",
            "recordings",
            "supabase_admin",
            "db",
        ):
            adapter = self.__dict__.get(name)
            if adapter is not None and hasattr(adapter, "close"):
                await adapter.close()


_services: Services | None = None
_lock = threading.Lock()


def get_services() -> Services:
    global _services
    if _services is None:
        with _lock:
            if _services is None:
                services = Services()
                # Start-up, not import: the SDK loads only when configured (cold start).
                from shared.platform.telemetry import configure_telemetry

                configure_telemetry(services.settings)
                _services = services
    return _services


def set_services(services: Services | None) -> None:
    """Replace the process's services (tests)."""
    global _services
    _services = services
