"""The composition root: builds every adapter from settings, lazily, once per
process. Heavy SDKs are imported on first use, not at module load.

Blueprints reach services through `get_services()`; tests build their own
`Services` (or replace attributes on it) to pass real or double adapters.
"""

from __future__ import annotations

import threading
from functools import cached_property

from shared.config import LOCAL_DIR, Settings, get_settings


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL, or an embedded PostgreSQL under .local/ outside production."""
    if settings.DATABASE_URL:
        return settings.DATABASE_URL
    if settings.is_production:
        from shared.config import ConfigurationError

        raise ConfigurationError("Invalid configuration: missing required setting(s): DATABASE_URL")
    from shared.db.embedded import start_embedded_postgres

    return start_embedded_postgres(LOCAL_DIR / "pg")


class Services:
    """Adapters and shared objects for one process."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()

    @cached_property
    def db(self):
        from shared.db import Database

        settings = self.settings

        def prepare() -> str:
            url = resolve_database_url(settings)
            if settings.auto_migrate:
                from shared.db.migrate import migrate

                migrate(url)
            return url

        return Database(prepare, min_size=settings.DB_POOL_MIN, max_size=settings.DB_POOL_MAX,
                        pool_timeout=settings.DB_POOL_TIMEOUT_SECONDS)

    @cached_property
    def verifier(self):
        from shared.auth import JwksCache, TokenVerifier

        settings = self.settings
        return TokenVerifier(
            jwt_secret=settings.SUPABASE_JWT_SECRET,
            issuer=settings.jwt_issuer,
            jwks=JwksCache(settings.jwks_url, settings.JWKS_CACHE_SECONDS),
        )

    @cached_property
    def rate_limiter(self):
        from shared.rate_limit import RateLimiter

        return RateLimiter(self.db, self.settings.rate_limits(), self.settings.RATE_LIMIT_ENABLED,
                           ip_multiplier=self.settings.RATE_LIMIT_IP_MULTIPLIER)

    # --- AI model (issue 3: ai) ---

    @cached_property
    def ai(self):
        """The AI model client. Raises NotConfigured (503, naming the missing
        setting) while none is configured; nothing is cached until one is."""
        from shared.adapters.ai import ai_from_settings

        return ai_from_settings(self.settings)

    # --- CV storage (issue 3: cv_storage) ---

    @cached_property
    def cv_storage(self):
        """Candidates' CVs: Supabase Storage or an Azure Blob container (CV_STORAGE);
        NotConfigured (503) names the missing setting."""
        from shared.adapters.cv_storage import cv_storage_from_settings

        return cv_storage_from_settings(self.settings)

    # --- ACS identity and Speech tokens (issue 5: acs_identity, speech_tokens) ---

    @cached_property
    def acs_identity(self):
        """503 (NotConfigured) on use when ACS is not configured."""
        from shared.adapters.acs_identity import build_acs_identity

        return build_acs_identity(self.settings)

    @cached_property
    def speech_tokens(self):
        """Holds this instance's cached Speech token; 503 on use when not configured."""
        from shared.adapters.speech_tokens import build_speech_tokens

        return build_speech_tokens(self.settings)

    # --- Email, recordings storage, Supabase admin (issue 6: email, recordings, supabase_admin) ---

    @cached_property
    def email(self):
        """Resend with RESEND_API_KEY; without it, the .local/outbox folder in
        development and NotConfigured (503) on use in production."""
        from shared.adapters.email import build_email

        return build_email(self.settings, LOCAL_DIR / "outbox")

    @cached_property
    def recordings(self):
        """The recordings Blob container; NotConfigured (503) on use when unset."""
        from shared.adapters.recordings import build_recordings

        return build_recordings(self.settings)

    @cached_property
    def supabase_admin(self):
        """Supabase Auth admin (deleting users); NotConfigured (503) on use without the key."""
        from shared.adapters.supabase_admin import build_supabase_admin

        return build_supabase_admin(self.settings)

    async def close(self) -> None:
        """Close what was built (cached properties never built are skipped)."""
        for name in ("ai", "cv_storage", "acs_identity", "speech_tokens", "email", "recordings",
                     "supabase_admin", "db"):
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
                _services = Services()
    return _services


def set_services(services: Services | None) -> None:
    """Replace the process's services (tests)."""
    global _services
    _services = services
