"""The app over real HTTP through the local host (a separate process)."""

import uuid

import httpx

from tests.support import auth_headers, create_user


async def test_health_and_openapi_over_http(devhost):
    async with httpx.AsyncClient(base_url=devhost) as client:
        health = await client.get("/api/health")
        assert health.status_code == 200 and health.json()["database"] == "ok"
        assert health.headers["x-request-id"]
        spec = await client.get("/api/openapi.json")
        assert "/api/organisations" in spec.json()["paths"]


async def test_create_organisation_over_http(devhost, db):
    user = await create_user(db)
    async with httpx.AsyncClient(base_url=devhost) as client:
        created = await client.post("/api/organisations", json={"name": "Over HTTP Ltd"},
                                    headers={**auth_headers(user), "x-forwarded-for": f"2001:db8::{uuid.uuid4().hex[:4]}"})
        assert created.status_code == 200, created.text
        org_id = created.json()["organisation"]["id"]
    assert await db.fetch_one("select 1 from org_users where organisation_id = %s and user_id = %s and role = 'admin'",
                              (org_id, user))


async def test_bad_requests_over_http(devhost):
    async with httpx.AsyncClient(base_url=devhost) as client:
        assert (await client.get("/api/organisations")).status_code == 405
        assert (await client.post("/api/organisations", json={"name": "x"})).status_code == 401
        assert (await client.get("/api/no-such-route")).status_code == 404


async def test_cors_preflight_for_the_frontend(devhost):
    async with httpx.AsyncClient(base_url=devhost) as client:
        response = await client.options("/api/organisations", headers={
            "origin": "http://localhost:5173", "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type"})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
        denied = await client.options("/api/organisations", headers={
            "origin": "https://evil.example", "access-control-request-method": "POST"})
        assert denied.headers.get("access-control-allow-origin") is None


async def test_unknown_admin_and_eventgrid_functions_are_404(devhost):
    async with httpx.AsyncClient(base_url=devhost) as client:
        assert (await client.post("/admin/functions/nope")).status_code == 404
        response = await client.post("/runtime/webhooks/eventgrid?functionName=nope", json=[],
                                     headers={"aeg-event-type": "Notification"})
        assert response.status_code == 404
