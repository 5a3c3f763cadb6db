"""The recordings containers the export's seeds need (candidate_with_everything uploads
recordings). Its own fixture: retention's session fixture creates the same containers,
so each tolerates the other having run first in the same session."""

from __future__ import annotations

import pytest

from tests.retention.seed import CONTAINER, CV_BUCKET, OTHER_CONTAINER


@pytest.fixture(scope="session")
async def blob_service(azurite):
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob.aio import BlobServiceClient

    async with BlobServiceClient.from_connection_string(azurite) as service:
        for name in (CONTAINER, OTHER_CONTAINER, CV_BUCKET):
            try:
                await service.get_container_client(name).create_container()
            except ResourceExistsError:
                pass
        yield service
