"""Supabase Auth admin: deleting a user's login account (full deletion requests).

Uses the `supabase` async client with the service role key (imported on
first use). A client is built per call with its own HTTP pool, closed
afterwards: deletions are rare and this keeps no connections open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.platform.config import Settings
    from shared.platform.db import Id

DEFAULT_TIMEOUT_SECONDS = 15


class AuthAdminError(Exception):
    """Supabase Auth refused or failed the request (the message is safe to store)."""


class SupabaseAdmin:
    def __init__(self, url: str, service_role_key: str, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS):
        self.url = url.rstrip("/")
        self.service_role_key = service_role_key
        self.timeout_seconds = timeout_seconds

    async def delete_user(self, user_id: Id) -> bool:
        """Hard-delete the auth user. True if deleted, False if it was already
        gone (which is what we wanted); raises AuthAdminError otherwise."""
        import httpx
        from supabase import AsyncClientOptions, create_async_client
        from supabase_auth.errors import AuthApiError, AuthError

        async with httpx.AsyncClient(timeout=self.timeout_seconds) as http:
            options = AsyncClientOptions(httpx_client=http, auto_refresh_token=False, persist_session=False)
            client = await create_async_client(self.url, self.service_role_key, options)
            try:
                await client.auth.admin.delete_user(str(user_id), should_soft_delete=False)
            except AuthApiError as exc:
                if exc.status == 404:
                    return False
                raise AuthAdminError(f"Supabase Auth answered {exc.status}: {exc.message}"[:500]) from None
            except (AuthError, httpx.HTTPError) as exc:
                raise AuthAdminError(f"Supabase Auth failed: {type(exc).__name__}: {exc}"[:500]) from None
            finally:
                await client.auth.close()
        return True


def build_supabase_admin(settings: Settings) -> SupabaseAdmin:
    if not settings.SUPABASE_SERVICE_ROLE_KEY:
        from shared.platform.errors import NotConfigured

        raise NotConfigured("Supabase Auth admin is not configured: missing setting SUPABASE_SERVICE_ROLE_KEY")
    return SupabaseAdmin(settings.SUPABASE_URL, settings.SUPABASE_SERVICE_ROLE_KEY)
