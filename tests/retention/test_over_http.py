"""Retention over real HTTP through the local host: the endpoint and the timer."""

import json

import httpx
import pytest

from shared.platform.config import DEV_SERVICE_KEY
from tests.retention.seed import existing_blobs, interview, org_with_retention, recorded_interview


@pytest.fixture(scope="module")
def retention_host(devhosts, azurite):
    return devhosts.start(
        {"RECORDINGS_STORAGE_CONNECTION_STRING": azurite, "RATE_LIMITS": json.dumps({"admin/data-cleanup": "1000/60"})}
    )


async def test_cleanup_endpoint_and_timer_over_http(retention_host, db, blob_service):
    org = await org_with_retention(db, 14, name="Over HTTP Retention")
    first = await recorded_interview(db, blob_service, org, ended_days_ago=15)
    async with httpx.AsyncClient(base_url=retention_host, timeout=30) as client:
        response = await client.post(
            "/api/admin/data-cleanup",
            headers={"x-service-key": DEV_SERVICE_KEY},
            json={"action": "cleanup_recordings", "organisationId": str(org)},
        )
        assert response.status_code == 200, response.text
        assert response.json()["organisationResults"] == [
            {
                "organisation": "Over HTTP Retention",
                "retentionDays": 14,
                "interviewsProcessed": 1,
                "unmanagedRecordings": 0,
            }
        ]
        assert response.headers["x-request-id"]
        assert await existing_blobs(blob_service, first.blobs) == set()

        second = await recorded_interview(db, blob_service, org, ended_days_ago=20)
        fired = await client.post("/admin/functions/retention_timer", json={})
        assert fired.status_code == 202
    assert (await interview(db, second.interview_id))["recording_deleted_at"] is not None
    assert await existing_blobs(blob_service, second.blobs) == set()


async def test_only_the_literal_admin_path_is_served(retention_host):
    async with httpx.AsyncClient(base_url=retention_host) as client:
        assert (await client.post("/api/other/data-cleanup", json={})).status_code == 404
        assert (await client.post("/api/admin/data-cleanup", json={"action": "cleanup_recordings"})).status_code == 401
