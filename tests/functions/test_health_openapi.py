import pytest

from tests.support import call_function, function_host

pytestmark = pytest.mark.usefixtures("services")


async def test_health_reports_database_ok():
    result = await call_function("health", "GET")
    assert result.status == 200
    assert result.json()["status"] == "ok" and result.json()["database"] == "ok"


async def test_health_is_degraded_when_the_database_is_unreachable(monkeypatch):
    from shared.db import Database
    from shared.wiring import get_services

    services = get_services()
    broken = Database("postgresql://nobody@127.0.0.1:1/none", min_size=0)
    monkeypatch.setitem(services.__dict__, "db", broken)
    result = await call_function("health", "GET")
    assert result.status == 503 and result.json()["database"] == "unavailable"


async def test_openapi_covers_every_http_function_with_its_models():
    result = await call_function("openapi", "GET")
    assert result.status == 200
    document = result.json()
    assert document["openapi"].startswith("3.1")
    from shared.http import ENDPOINTS

    http_functions = {name for name, f in function_host().functions.items() if f.is_http_function()}
    assert set(ENDPOINTS) == http_functions - {"former_functions", "unknown_route"}  # routing, not endpoints
    published = {spec.path for spec in ENDPOINTS.values()} | {spec.former_path for spec in ENDPOINTS.values()
                                                               if spec.former_path}
    assert published == set(document["paths"])
    assert "/functions/v1/create-organisation" in document["paths"]
    create = document["paths"]["/api/organisations"]["post"]
    schema_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert schema["required"] == ["name"] and "billing_email" in schema["properties"]
    assert "429" in create["responses"] and create["security"] == [{"supabaseToken": []}]
