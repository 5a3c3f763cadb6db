"""GET /api/health/live (the process only) and GET /api/health/ready (database and
Blob storage): in process as the worker calls them, and over HTTP through the
local host with a database that is not there."""

import time

import httpx
import pytest

from tests.support import call_function

pytestmark = pytest.mark.usefixtures("services")

DEAD_DATABASE = "postgresql://nobody@127.0.0.1:1/none"
DEAD_STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=ZGVhZA==;"
    "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;"
)


def _no_trace(raw: bytes) -> None:
    text = raw.decode()
    assert "Traceback" not in text and "Error" not in text and "127.0.0.1" not in text


@pytest.fixture
def database_down(monkeypatch):
    from shared.platform.db import Database
    from shared.platform.wiring import get_services

    monkeypatch.setitem(get_services().__dict__, "db", Database(DEAD_DATABASE, min_size=0))


_OPENED: list = []  # probes the tests built: closed after each test (their HTTP sessions)


@pytest.fixture(autouse=True)
async def _close_probes():
    yield
    while _OPENED:
        await _OPENED.pop().close()


def _storage(monkeypatch, connection_string: str, container: str = "recordings") -> None:
    """The recordings container the settings would name, probed by the app's own probe."""
    from shared.adapters.blob_probe import storage_probes
    from shared.platform.config import Settings
    from shared.platform.wiring import get_services

    settings = Settings(RECORDINGS_STORAGE_CONNECTION_STRING=connection_string, RECORDINGS_CONTAINER=container)
    probes = storage_probes(settings)
    _OPENED.extend(probes.values())
    monkeypatch.setitem(get_services().__dict__, "storage_probes", probes)


async def test_live_answers_while_the_database_is_down(database_down):
    result = await call_function("health_live", "GET", path="/api/health/live")
    assert result.status == 200
    assert result.json() == {"status": "ok", "version": result.json()["version"]}
    assert result.headers["x-request-id"]


async def test_live_is_a_get():
    result = await call_function("health_live", "POST", path="/api/health/live")
    assert result.status == 405 and result.json()["error"]


async def test_ready_when_the_database_answers_and_no_storage_is_configured():
    result = await call_function("health_ready", "GET", path="/api/health/ready")
    assert result.status == 200, result
    body = result.json()
    assert body["status"] == "ready" and body["notReady"] == []
    assert body["checks"] == {"database": "ok", "recordings_storage": "skipped", "cv_storage": "skipped"}


async def test_ready_is_503_naming_the_database_when_it_is_down(database_down):
    started = time.monotonic()
    result = await call_function("health_ready", "GET", path="/api/health/ready")
    assert time.monotonic() - started < 10
    assert result.status == 503
    assert result.json()["status"] == "not_ready" and result.json()["notReady"] == ["database"]
    _no_trace(result.raw)
    # The old route keeps its contract.
    old = await call_function("health", "GET")
    assert old.status == 503 and old.json() == {
        "status": "degraded",
        "version": old.json()["version"],
        "database": "unavailable",
    }


async def test_ready_is_503_naming_storage_behind_a_dead_connection_string(monkeypatch):
    _storage(monkeypatch, DEAD_STORAGE)
    started = time.monotonic()
    result = await call_function("health_ready", "GET", path="/api/health/ready")
    assert time.monotonic() - started < 10  # no retries, a short timeout
    assert result.status == 503, result
    assert result.json()["notReady"] == ["recordings_storage"]
    assert result.json()["checks"]["database"] == "ok"
    _no_trace(result.raw)


async def test_ready_follows_azurite_up_then_stopped(monkeypatch, tmp_path):
    from azure.storage.blob.aio import BlobServiceClient

    from devhost.azurite import running_azurite

    with running_azurite(tmp_path) as connection_string:
        async with BlobServiceClient.from_connection_string(connection_string) as service:
            await service.create_container("recordings")
        _storage(monkeypatch, connection_string)
        up = await call_function("health_ready", "GET", path="/api/health/ready")
        assert up.status == 200, up
        assert up.json()["checks"]["recordings_storage"] == "ok"
        missing_container = await _ready_with(monkeypatch, connection_string, "no-such-container")
        assert missing_container.status == 503 and missing_container.json()["notReady"] == ["recordings_storage"]
        _storage(monkeypatch, connection_string)
    down = await call_function("health_ready", "GET", path="/api/health/ready")
    assert down.status == 503 and down.json()["notReady"] == ["recordings_storage"]
    _no_trace(down.raw)


async def _ready_with(monkeypatch, connection_string: str, container: str):
    _storage(monkeypatch, connection_string, container)
    return await call_function("health_ready", "GET", path="/api/health/ready")


async def test_both_are_in_the_openapi_document():
    document = (await call_function("openapi", "GET")).json()
    live = document["paths"]["/api/health/live"]["get"]
    ready = document["paths"]["/api/health/ready"]["get"]
    assert set(live["responses"]) == {"200", "500"}  # never 503: it needs nothing
    assert live["security"] == [] and ready["security"] == []
    assert ready["responses"]["503"]["content"]["application/json"]["schema"]["$ref"].endswith("/ReadyReport")
    assert set(document["components"]["schemas"]["ReadyChecks"]["required"]) == {
        "database",
        "recordings_storage",
        "cv_storage",
    }


async def test_over_http_live_is_up_and_ready_is_not_while_the_database_is_unreachable(devhosts):
    base = devhosts.start({"DATABASE_URL": DEAD_DATABASE, "DB_POOL_TIMEOUT_SECONDS": "1"})
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        live = await client.get("/api/health/live")
        ready = await client.get("/api/health/ready")
        health = await client.get("/api/health")
    assert live.status_code == 200 and live.json()["status"] == "ok"
    assert ready.status_code == 503 and ready.json()["notReady"] == ["database"]
    assert ready.headers["content-type"].startswith("application/json")
    _no_trace(ready.content)
    assert health.status_code == 503 and health.json()["status"] == "degraded"


async def test_over_http_ready_with_the_database_and_azurite(devhosts, azurite):
    from azure.storage.blob.aio import BlobServiceClient

    async with BlobServiceClient.from_connection_string(azurite) as service:
        container = service.get_container_client("ready-probe")
        if not await container.exists():
            await container.create_container()
    base = devhosts.start({"RECORDINGS_STORAGE_CONNECTION_STRING": azurite, "RECORDINGS_CONTAINER": "ready-probe"})
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        ready = await client.get("/api/health/ready")
        # Literal routes: neither shadows the other, nor does the /api/{*path} catch-all.
        health = await client.get("/api/health")
        unknown = await client.get("/api/health/other")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "recordings_storage": "ok", "cv_storage": "skipped"}
    assert health.status_code == 200 and set(health.json()) == {"status", "version", "database"}
    assert unknown.status_code == 404
