"""Azure Communication Services identities and tokens (azure-communication-identity, async).

The client is built from the endpoint and access key parsed out of
ACS_CONNECTION_STRING (or ACS_ENDPOINT with managed identity), not with
`from_connection_string`, which forces https and so cannot reach a local double.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.platform.errors import NotConfigured, UpstreamError

if TYPE_CHECKING:
    from azure.communication.identity.aio import CommunicationIdentityClient

    from shared.platform.config import Settings


@dataclass(frozen=True)
class AcsToken:
    token: str
    expires_on: datetime  # UTC


class IdentityNotFound(Exception):
    """ACS no longer knows the identity (deleted there)."""


def parse_connection_string(value: str) -> tuple[str, str]:
    """`endpoint=https://x.communication.azure.com/;accesskey=<base64>` -> (endpoint, key).
    The endpoint loses its trailing slash: the SDK signs the host as written, and a
    trailing slash would make the signed host differ from the Host header."""
    parts = {}
    for item in value.split(";"):
        name, sep, val = item.strip().partition("=")  # keys end in '=' padding: split once
        if sep:
            parts[name.strip().lower()] = val.strip()
    endpoint, key = parts.get("endpoint"), parts.get("accesskey")
    if not endpoint or not key:
        raise NotConfigured("ACS is misconfigured: ACS_CONNECTION_STRING needs endpoint and accesskey")
    return endpoint.rstrip("/"), key


def _utc(expires_on: Any) -> datetime:
    """The SDK hands back the wire's ISO-8601 string (seven fractional digits, which
    Python 3.11's fromisoformat reads), or a datetime; normalise to aware UTC."""
    value = expires_on if isinstance(expires_on, datetime) else datetime.fromisoformat(str(expires_on))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class AcsIdentity:
    """Creates ACS users and issues their tokens; failures become 502."""

    def __init__(
        self,
        endpoint: str,
        credential: Any,
        *,
        retry_total: int = 2,
        connection_timeout: float = 5,
        read_timeout: float = 15,
    ):
        self.endpoint = endpoint.rstrip("/")
        self._credential = credential
        self._options = {
            "retry_total": retry_total,
            "connection_timeout": connection_timeout,
            "read_timeout": read_timeout,
        }
        self._client: CommunicationIdentityClient | None = None

    @classmethod
    def with_key(cls, endpoint: str, access_key: str, **options: Any) -> "AcsIdentity":
        from azure.core.credentials import AzureKeyCredential

        return cls(endpoint, AzureKeyCredential(access_key), **options)

    def _get_client(self) -> CommunicationIdentityClient:
        if self._client is None:
            from azure.communication.identity.aio import CommunicationIdentityClient

            self._client = CommunicationIdentityClient(self.endpoint, self._credential, **self._options)
        return self._client

    async def create_user_with_token(self, scopes: list[str]) -> tuple[str, AcsToken]:
        """One call: a new identity and its first token."""
        async with _upstream_errors():
            user, token = await self._get_client().create_user_and_token(scopes)
        return user.properties["id"], AcsToken(token.token, _utc(token.expires_on))

    async def issue_token(self, communication_user_id: str, scopes: list[str]) -> AcsToken:
        from azure.communication.identity import CommunicationUserIdentifier

        async with _upstream_errors():
            token = await self._get_client().get_token(CommunicationUserIdentifier(communication_user_id), scopes)
        return AcsToken(token.token, _utc(token.expires_on))

    async def delete_user(self, communication_user_id: str) -> bool:
        """Delete the identity in ACS, which revokes its tokens and deletes the data ACS
        keeps for it (chat threads' messages included); False when it was already gone."""
        from azure.communication.identity import CommunicationUserIdentifier

        try:
            async with _upstream_errors():
                await self._get_client().delete_user(CommunicationUserIdentifier(communication_user_id))
        except IdentityNotFound:
            return False
        return True

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
        if hasattr(self._credential, "close"):  # a managed-identity credential holds a session
            await self._credential.close()


@asynccontextmanager
async def _upstream_errors() -> AsyncIterator[None]:
    """Map the SDK's errors: a missing identity to IdentityNotFound, the rest to 502."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    try:
        yield
    except ResourceNotFoundError as error:
        raise IdentityNotFound(str(error)) from None
    except AzureError as error:
        status = getattr(error, "status_code", None)
        raise UpstreamError("Azure Communication Services failed" + (f" (status {status})" if status else "")) from None


def build_acs_identity(settings: Settings) -> AcsIdentity:
    """From ACS_CONNECTION_STRING (key), else ACS_ENDPOINT with managed identity."""
    if settings.ACS_CONNECTION_STRING:
        endpoint, key = parse_connection_string(settings.ACS_CONNECTION_STRING)
        return AcsIdentity.with_key(endpoint, key)
    if settings.ACS_ENDPOINT:
        from azure.identity.aio import DefaultAzureCredential

        return AcsIdentity(settings.ACS_ENDPOINT, DefaultAzureCredential())
    raise NotConfigured("ACS is not configured: set ACS_CONNECTION_STRING or ACS_ENDPOINT")
