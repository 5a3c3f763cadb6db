"""Call recordings in the app's own Blob container (ACS writes them there).

Two jobs: deciding whether a URL (from an event or a row) points into OUR
recordings container (`blob_name`), and deleting blobs there in batches
(`open()` -> `RecordingSession.delete`). A URL that does not match the
configured account and container exactly is never fetched or deleted.

azure-storage-blob (async) and azure-identity are imported on first use.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from shared.platform.errors import UpstreamError
from shared.platform.logs import log_event

if TYPE_CHECKING:
    from azure.storage.blob.aio import ContainerClient

    from shared.platform.config import Settings

NOT_CONFIGURED = (
    "Recordings storage is not configured: set RECORDINGS_STORAGE_CONNECTION_STRING or RECORDINGS_ACCOUNT_URL"
)
MAX_BATCH = 256  # the Blob service's limit of sub-requests per batch
_GONE_OR_DELETED = (202, 404)  # 404: already gone, which is what we wanted
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE_IN_URL = re.compile(r"[\x00-\x20\x7f\\]")  # whitespace, control characters, backslashes
_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f\\]")


class RecordingsUnavailable(UpstreamError):
    """A whole batch request failed (network, auth, throttling): the storage is
    unusable right now, so the run stops instead of failing every page."""


class RecordingStore:
    """The configured recordings account and container."""

    def __init__(
        self, container: str, *, connection_string: str | None = None, account_url: str | None = None, retries: int = 2
    ):
        if not (connection_string or account_url):
            raise ValueError("a connection string or an account URL is required")
        self.container = container
        self.retries = retries
        self.connection_string = connection_string
        self.account_url = (account_url or blob_endpoint(connection_string or "")).rstrip("/")
        endpoint = urlsplit(self.account_url)
        self._scheme = endpoint.scheme.lower()
        self._host = (endpoint.hostname or "").lower()
        self._port = endpoint.port or _DEFAULT_PORTS.get(self._scheme)
        # Path-style endpoints (Azurite, custom domains) carry the account in the path.
        self._prefix = f"{endpoint.path.rstrip('/')}/{container}/"

    def blob_name(self, url: object) -> str | None:
        """The blob's name when `url` points into our container, else None.

        Strict on purpose: same scheme, host and port; no user info, query or
        fragment; no dot segments, empty segments or encoded separators."""
        if not isinstance(url, str) or not url or len(url) > 4096 or _UNSAFE_IN_URL.search(url):
            return None
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        if (
            parts.scheme.lower() != self._scheme
            or "@" in parts.netloc
            or parts.query
            or parts.fragment
            or "?" in url
            or "#" in url
        ):
            return None
        if parts.hostname != self._host or (port or _DEFAULT_PORTS.get(self._scheme)) != self._port:
            return None
        if not parts.path.startswith(self._prefix):
            return None
        raw_name = parts.path[len(self._prefix) :]
        if "%2f" in raw_name.lower() or "%5c" in raw_name.lower():
            return None
        try:
            name = unquote(raw_name, errors="strict")
        except UnicodeDecodeError:
            return None
        if not name or len(name) > 1024 or _UNSAFE_IN_NAME.search(name):
            return None
        if any(segment in ("", ".", "..") for segment in name.split("/")):
            return None
        return name

    @asynccontextmanager
    async def open(self) -> AsyncIterator["RecordingSession"]:
        """One client (and connection pool) for a whole run; closed afterwards."""
        from azure.storage.blob.aio import BlobServiceClient, ExponentialRetry

        credential = None
        # The SDK's default backoff (15 s, then 18 s...) would stall a run for minutes.
        retry = ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=self.retries, random_jitter_range=1)
        client_options: dict[str, Any] = {"connection_timeout": 10, "read_timeout": 60, "retry_policy": retry}
        if self.connection_string:
            service = BlobServiceClient.from_connection_string(self.connection_string, **client_options)
        else:
            from azure.identity.aio import DefaultAzureCredential

            credential = DefaultAzureCredential()
            service = BlobServiceClient(self.account_url, credential=credential, **client_options)
        try:
            async with service:
                yield RecordingSession(service.get_container_client(self.container))
        finally:
            if credential is not None:
                await credential.close()


class RecordingSession:
    def __init__(self, container_client: ContainerClient):
        self.container_client = container_client

    async def delete(self, names: Iterable[str]) -> set[str]:
        """Delete blobs (and their snapshots), at most MAX_BATCH per request,
        the batches side by side.

        Returns the names that could NOT be deleted; a blob already gone counts
        as deleted. Raises RecordingsUnavailable when a whole batch fails."""
        unique = list(dict.fromkeys(names))
        batches = [unique[start : start + MAX_BATCH] for start in range(0, len(unique), MAX_BATCH)]
        failed: set[str] = set()
        for batch_failures in await asyncio.gather(*(self._delete_batch(batch) for batch in batches)):
            failed |= batch_failures
        return failed

    async def _delete_batch(self, batch: list[str]) -> set[str]:
        try:
            responses = await self.container_client.delete_blobs(
                *batch, delete_snapshots="include", raise_on_any_failure=False
            )
            statuses: list[int | None] = [response.status_code async for response in responses]
        except Exception as exc:
            log_event(
                "recordings.batch_failed",
                level=logging.WARNING,
                blobs=len(batch),
                error=f"{type(exc).__name__}: {exc}"[:500],
            )
            raise RecordingsUnavailable(f"Recordings storage failed ({type(exc).__name__})") from None
        # Sub-responses come back in the order of the sub-requests.
        statuses += [None] * (len(batch) - len(statuses))
        failed = set()
        for name, status in zip(batch, statuses):
            if status not in _GONE_OR_DELETED:
                failed.add(name)
                log_event("recordings.delete_failed", level=logging.WARNING, blob=name, status=status)
        return failed


def blob_endpoint(connection_string: str) -> str:
    """The Blob endpoint a storage connection string names (as the SDK derives it)."""
    fields = {}
    for part in connection_string.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            fields[key.strip().lower()] = value.strip()
    if fields.get("blobendpoint"):
        return fields["blobendpoint"]
    if fields.get("usedevelopmentstorage", "").lower() == "true":
        return "http://127.0.0.1:10000/devstoreaccount1"
    account = fields.get("accountname")
    if not account:
        raise ValueError("the storage connection string names no BlobEndpoint or AccountName")
    protocol = fields.get("defaultendpointsprotocol", "https")
    suffix = fields.get("endpointsuffix", "core.windows.net")
    return f"{protocol}://{account}.blob.{suffix}"


def build_recordings(settings: Settings) -> RecordingStore:
    if not (settings.RECORDINGS_STORAGE_CONNECTION_STRING or settings.RECORDINGS_ACCOUNT_URL):
        from shared.platform.errors import NotConfigured

        raise NotConfigured(NOT_CONFIGURED)
    return RecordingStore(
        settings.RECORDINGS_CONTAINER,
        connection_string=settings.RECORDINGS_STORAGE_CONNECTION_STRING or None,
        account_url=settings.RECORDINGS_ACCOUNT_URL or None,
    )
