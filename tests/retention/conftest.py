"""Retention fixtures: the recordings container in Azurite, Supabase Auth's double,
and CV storage (the double's Storage bucket, or a container in Azurite)."""

from __future__ import annotations

import pytest

from tests.calls.conftest import acs, acs_double  # noqa: F401 (fixtures: erasure deletes ACS identities)
from tests.doubles.supabase_server import SupabaseDouble
from tests.durable_runtime import durable_runtime
from tests.retention.seed import CONTAINER, CV_BUCKET, OTHER_CONTAINER


@pytest.fixture(scope="session")
async def blob_service(azurite):
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob.aio import BlobServiceClient

    async with BlobServiceClient.from_connection_string(azurite) as service:
        for name in (CONTAINER, OTHER_CONTAINER, CV_BUCKET):
            try:  # tests/privacy makes the same containers when it runs first in a session
                await service.get_container_client(name).create_container()
            except ResourceExistsError:
                pass
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


@pytest.fixture(scope="session")
async def supabase_cv_storage(supabase_double):
    from shared.adapters.cv_storage import SupabaseCvStorage

    storage = SupabaseCvStorage(
        url=supabase_double.url, service_role_key=supabase_double.service_role_key, bucket=CV_BUCKET
    )
    yield storage
    await storage.close()


@pytest.fixture(scope="session")
async def blob_cv_storage(azurite, blob_service):
    from shared.adapters.cv_storage import BlobCvStorage

    storage = BlobCvStorage(connection_string=azurite, container=CV_BUCKET)
    yield storage
    await storage.close()


@pytest.fixture
def cv_storage(supabase_double, supabase_cv_storage):
    """CVs in the Supabase double's bucket (the production choice), state reset."""
    supabase_double.reset()
    return supabase_cv_storage


@pytest.fixture(scope="package")
async def durable(services):
    """The local Durable runtime, for the functions that take a Durable client (erasure
    purges scoring history through it)."""
    async with durable_runtime() as runtime:
        yield runtime
