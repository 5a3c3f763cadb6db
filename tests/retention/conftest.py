"""Retention fixtures: the recordings container in Azurite and Supabase Auth's double."""

from __future__ import annotations

import pytest

from tests.doubles.supabase_server import SupabaseDouble
from tests.retention.seed import CONTAINER, OTHER_CONTAINER


@pytest.fixture(scope="session")
async def blob_service(azurite):
    from azure.storage.blob.aio import BlobServiceClient

    async with BlobServiceClient.from_connection_string(azurite) as service:
        for name in (CONTAINER, OTHER_CONTAINER):
            await service.get_container_client(name).create_container()
        yield service


@pytest.fixture
def store(azurite, blob_service):
    from shared.adapters.recordings import RecordingStore

    return RecordingStore(CONTAINER, connection_string=azurite)


@pytest.fixture(scope="session")
def supabase_double():
    with SupabaseDouble(service_role_key="service-role-test-key") as double:
        yield double


@pytest.fixture
def auth_admin(supabase_double):
    from shared.adapters.supabase_admin import SupabaseAdmin

    supabase_double.reset()
    return SupabaseAdmin(supabase_double.url, supabase_double.service_role_key)
