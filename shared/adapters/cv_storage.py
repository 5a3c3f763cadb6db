"""Where candidates' CVs are stored: a Supabase Storage bucket (production) or an
Azure Blob container (the alternative), chosen by CV_STORAGE.

    storage = cv_storage_from_settings(settings)   # NotConfigured (503) names the missing setting
    data = await storage.read("<user-id>/resume.pdf", max_bytes)
    existed = await storage.delete("<user-id>/resume.pdf")   # False: it was already gone
    names = await storage.delete_folder("<user-id>/")        # every object under the folder

`read` answers NotFound (404) for a missing file, Unprocessable (422) for one
over `max_bytes`, UpstreamError (502) when the store fails; `delete` answers
UpstreamError for every failure except a file already gone. Paths are checked
by the caller (shared/resumes/cv_paths.py) before they get here.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from shared.platform.errors import NotConfigured, NotFound, Unprocessable, UpstreamError

if TYPE_CHECKING:
    from azure.storage.blob.aio import BlobServiceClient
    from storage3 import AsyncStorageClient
    from supabase import AsyncClient

    from shared.platform.config import Settings

STORAGE_TIMEOUT_SECONDS = 15
LIST_PAGE = 100  # Storage's list page (its default limit) and our delete batch
CV_NOT_FOUND = "CV file not found"
STORAGE_FAILED = "CV storage is unavailable, please try again"
NOT_CONFIGURED = (
    "CV storage is not configured: set SUPABASE_SERVICE_ROLE_KEY (CV_STORAGE=supabase) "
    "or CV_STORAGE_CONNECTION_STRING (CV_STORAGE=blob)"
)


def _too_large(max_bytes: int) -> Unprocessable:
    return Unprocessable(f"The CV file is larger than {max_bytes // (1024 * 1024)} MB")


class SupabaseCvStorage:
    """A Supabase Storage bucket, through the `supabase` package's async client."""

    def __init__(self, *, url: str, service_role_key: str, bucket: str):
        self.url = url
        self.service_role_key = service_role_key
        self.bucket = bucket
        self._client: AsyncClient | None = None
        self._creating = asyncio.Lock()

    async def _storage(self) -> AsyncStorageClient:
        async with self._creating:
            if self._client is None:
                from supabase import AsyncClientOptions, create_async_client

                options = AsyncClientOptions(
                    storage_client_timeout=STORAGE_TIMEOUT_SECONDS, auto_refresh_token=False, persist_session=False
                )
                self._client = await create_async_client(self.url, self.service_role_key, options=options)
        return self._client.storage

    async def read(self, path: str, max_bytes: int) -> bytes:
        from storage3.exceptions import StorageApiError

        try:
            storage = await self._storage()
            data = await storage.from_(self.bucket).download(path)
        except StorageApiError as exc:
            if str(exc.status) == "404" or exc.code in ("not_found", "NoSuchKey"):
                raise NotFound(CV_NOT_FOUND) from None
            raise UpstreamError(STORAGE_FAILED) from None
        except ValueError:  # storage3 refuses dot segments client-side
            raise NotFound(CV_NOT_FOUND) from None
        except Exception:  # connection failures and timeouts from the HTTP client
            raise UpstreamError(STORAGE_FAILED) from None
        # Storage's download API has no size limit; the bucket's own upload limit keeps files small.
        if len(data) > max_bytes:
            raise _too_large(max_bytes)
        return data

    async def delete(self, path: str) -> bool:
        from storage3.exceptions import StorageApiError

        try:
            storage = await self._storage()
            # DELETE /object/<bucket> {"prefixes": [path]}: 200 with the objects it deleted
            # (exact names, not prefixes); a missing one is simply not listed.
            deleted = await storage.from_(self.bucket).remove([path])
        except StorageApiError as exc:
            raise UpstreamError(f"CV storage refused the delete ({exc.status} {exc.code})") from None
        except Exception:  # connection failures, timeouts, a body that is not JSON
            raise UpstreamError(STORAGE_FAILED) from None
        return any(isinstance(item, dict) and item.get("name") == path for item in deleted or [])

    async def delete_folder(self, folder: str) -> list[str]:
        """List the folder (subfolders too: Storage lists one level, a folder as an entry
        without an id) through POST /object/list/<bucket>, then delete what it holds."""
        from storage3.exceptions import StorageApiError

        try:
            bucket = (await self._storage()).from_(self.bucket)
            names, folders = [], [folder]
            while folders:
                prefix = folders.pop()
                offset = 0
                while True:
                    page = await bucket.list(prefix, {"limit": LIST_PAGE, "offset": offset})
                    for item in page:
                        name = f"{prefix}{item['name']}"
                        if item.get("id") is None:
                            folders.append(name + "/")
                        else:
                            names.append(name)
                    if len(page) < LIST_PAGE:
                        break
                    offset += LIST_PAGE
            for start in range(0, len(names), LIST_PAGE):
                await bucket.remove(names[start : start + LIST_PAGE])
        except StorageApiError as exc:
            raise UpstreamError(f"CV storage refused to list or delete ({exc.status} {exc.code})") from None
        except Exception:  # connection failures, timeouts, a body that is not JSON
            raise UpstreamError(STORAGE_FAILED) from None
        return names

    async def close(self) -> None:
        """Close the client's HTTP pools (the supabase client has no close of its own)."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.auth.close()
            await client.storage.session.aclose()


class BlobCvStorage:
    """An Azure Blob container, through azure-storage-blob's async client."""

    FIRST_CHUNK_BYTES = 4 * 1024 * 1024  # the size is known after the first request, before the rest is read

    def __init__(self, *, connection_string: str, container: str):
        self.connection_string = connection_string
        self.container = container
        self._service: BlobServiceClient | None = None

    def _client(self) -> BlobServiceClient:
        if self._service is None:
            from azure.storage.blob.aio import BlobServiceClient

            self._service = BlobServiceClient.from_connection_string(
                self.connection_string,
                max_single_get_size=self.FIRST_CHUNK_BYTES,
                connection_timeout=5,
                read_timeout=STORAGE_TIMEOUT_SECONDS,
                retry_total=1,
            )
        return self._service

    async def read(self, path: str, max_bytes: int) -> bytes:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            blob = self._client().get_blob_client(self.container, path)
            download = await blob.download_blob(max_concurrency=1)
            if download.size > max_bytes:
                raise _too_large(max_bytes)
            return await download.readall()
        except ResourceNotFoundError:
            raise NotFound(CV_NOT_FOUND) from None
        except AzureError:
            raise UpstreamError(STORAGE_FAILED) from None

    async def delete(self, path: str) -> bool:
        from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

        try:
            await self._client().get_blob_client(self.container, path).delete_blob(delete_snapshots="include")
        except ResourceNotFoundError:
            return False
        except HttpResponseError as exc:  # e.g. 412 under a lease, 403
            # error_code: set by azure-storage-blob on every error it raises, not declared by azure-core.
            code = exc.error_code  # type: ignore[attr-defined]
            raise UpstreamError(f"CV storage refused the delete ({exc.status_code} {code})") from None
        except AzureError:
            raise UpstreamError(STORAGE_FAILED) from None
        return True

    async def delete_folder(self, folder: str) -> list[str]:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        names: list[str] = []
        try:
            container = self._client().get_container_client(self.container)
            async for blob in container.list_blobs(name_starts_with=folder):
                try:
                    await container.get_blob_client(blob.name).delete_blob(delete_snapshots="include")
                except ResourceNotFoundError:
                    continue
                names.append(blob.name)
        except AzureError:
            raise UpstreamError(STORAGE_FAILED) from None
        return names

    async def close(self) -> None:
        if self._service is not None:
            await self._service.close()
            self._service = None


def cv_storage_from_settings(settings: Settings) -> SupabaseCvStorage | BlobCvStorage:
    if settings.CV_STORAGE == "blob":
        if not settings.CV_STORAGE_CONNECTION_STRING:
            raise NotConfigured("CV storage is not configured: missing setting CV_STORAGE_CONNECTION_STRING")
        return BlobCvStorage(connection_string=settings.CV_STORAGE_CONNECTION_STRING, container=settings.CV_BUCKET)
    if not settings.SUPABASE_SERVICE_ROLE_KEY:
        raise NotConfigured("CV storage is not configured: missing setting SUPABASE_SERVICE_ROLE_KEY")
    return SupabaseCvStorage(
        url=settings.SUPABASE_URL, service_role_key=settings.SUPABASE_SERVICE_ROLE_KEY, bucket=settings.CV_BUCKET
    )
