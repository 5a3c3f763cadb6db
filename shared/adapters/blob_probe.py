"""Is a Blob container reachable? For GET /api/health/ready: one cheap request
(the container's properties), no retries, a short timeout.

The client (and, with managed identity, its credential) is built on first use
and kept: a probe every few seconds must not start a token dance each time.
azure-storage-blob and azure-identity are imported then, not at cold start.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.storage.blob.aio import ContainerClient

    from shared.platform.config import Settings

PROBE_TIMEOUT_SECONDS = 3.0


class BlobContainerProbe:
    """One container, by connection string or by account URL with managed identity."""

    def __init__(
        self,
        container: str,
        *,
        connection_string: str | None = None,
        account_url: str | None = None,
        timeout: float = PROBE_TIMEOUT_SECONDS,
    ):
        if not (connection_string or account_url):
            raise ValueError("a connection string or an account URL is required")
        self.container = container
        self.connection_string = connection_string
        self.account_url = account_url
        self.timeout = timeout
        self._client: ContainerClient | None = None
        self._credential: Any = None

    def _container_client(self) -> ContainerClient:
        if self._client is None:
            from azure.storage.blob.aio import ContainerClient

            # No retries: a probe answers for now; the caller probes again soon.
            options: dict[str, Any] = {
                "retry_total": 0,
                "connection_timeout": self.timeout,
                "read_timeout": self.timeout,
            }
            if self.connection_string:
                self._client = ContainerClient.from_connection_string(self.connection_string, self.container, **options)
            else:
                from azure.identity.aio import DefaultAzureCredential

                self._credential = DefaultAzureCredential()
                self._client = ContainerClient(
                    str(self.account_url), self.container, credential=self._credential, **options
                )
        return self._client

    async def check(self) -> None:
        """Returns when the container answered; raises (anything) otherwise, within the timeout."""
        await asyncio.wait_for(self._container_client().get_container_properties(), self.timeout)

    async def close(self) -> None:
        client, self._client = self._client, None
        credential, self._credential = self._credential, None
        if client is not None:
            await client.close()
        if credential is not None:
            await credential.close()


def storage_probes(settings: Settings) -> dict[str, BlobContainerProbe]:
    """The Blob containers this app's settings point at: recordings (ACS writes
    there), and CVs when CV_STORAGE=blob. One left unconfigured is not probed."""
    probes: dict[str, BlobContainerProbe] = {}
    if settings.RECORDINGS_STORAGE_CONNECTION_STRING or settings.RECORDINGS_ACCOUNT_URL:
        probes["recordings_storage"] = BlobContainerProbe(
            settings.RECORDINGS_CONTAINER,
            connection_string=settings.RECORDINGS_STORAGE_CONNECTION_STRING or None,
            account_url=settings.RECORDINGS_ACCOUNT_URL or None,
        )
    if settings.CV_STORAGE == "blob" and settings.CV_STORAGE_CONNECTION_STRING:
        probes["cv_storage"] = BlobContainerProbe(
            settings.CV_BUCKET, connection_string=settings.CV_STORAGE_CONNECTION_STRING
        )
    return probes
