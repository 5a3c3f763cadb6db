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

        return Database(prepare, min_size=settings.DB_POOL_MIN, max_size=settings.DB_POOL_MAX)

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

        return RateLimiter(self.db, self.settings.rate_limits(), self.settings.RATE_LIMIT_ENABLED)

    # --- AI model (issue 3: ai) ---

    # --- CV storage (issue 3: cv_storage) ---

    # --- ACS identity and Speech tokens (issue 5: acs_identity, speech_tokens) ---

    # --- Email, recordings storage, Supabase admin (issue 6: email, recordings, supabase_admin) ---

    async def close(self) -> None:
        if "db" in self.__dict__:
            await self.db.close()


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
