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
        created = await client.post(
            "/api/organisations",
            json={"name": "Over HTTP Ltd"},
            headers={**auth_headers(user), "x-forwarded-for": f"2001:db8:{uuid.uuid4().hex[:4]}::1"},
        )
        assert created.status_code == 200, created.text
        org_id = created.json()["organisation"]["id"]
    assert await db.fetch_one(
        "select 1 from org_users where organisation_id = %s and user_id = %s and role = 'admin'", (org_id, user)
    )


async def test_bad_requests_over_http(devhost):
    async with httpx.AsyncClient(base_url=devhost) as client:
        assert (await client.get("/api/organisations")).status_code == 405
        assert (await client.post("/api/organisations", json={"name": "x"})).status_code == 401
        unknown = await client.get("/api/no-such-route")
        assert unknown.status_code == 404 and unknown.json() == {
            "error": "No such endpoint",
            "requestId": unknown.headers["x-request-id"],
        }
        outside = await client.post("/nothing/here")
        assert outside.status_code == 404 and outside.json()["error"]
        former = await client.post("/functions/v1/not-a-function", json={})
        assert former.status_code == 404 and former.json()["error"] == "No function named 'not-a-function'"


async def test_cors_preflight_for_the_frontend(devhost):
    async with httpx.AsyncClient(base_url=devhost) as client:
        response = await client.options(
            "/api/organisations",
            headers={
                "origin": "http://localhost:5173",
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
        denied = await client.options(
            "/api/organisations", headers={"origin": "https://evil.example", "access-control-request-method": "POST"}
        )
        assert denied.headers.get("access-control-allow-origin") is None


async def test_unknown_admin_and_eventgrid_functions_are_404(devhost):
    async with httpx.AsyncClient(base_url=devhost) as client:
        assert (await client.post("/admin/functions/nope")).status_code == 404
        response = await client.post(
            "/runtime/webhooks/eventgrid?functionName=nope", json=[], headers={"aeg-event-type": "Notification"}
        )
        assert response.status_code == 404


async def test_a_client_that_never_finishes_its_body_is_cut_off_with_408(devhost):
    """A slow client cannot hold a worker: the body must arrive within the deadline
    (30 s on the local host; the test shortens it by driving the app in process)."""
    import asyncio

    from devhost.server import BodyDeadline

    sent: list[dict] = []

    async def app(scope, receive, send):  # reads the body as the app does
        from starlette.requests import Request

        from shared.platform.http import read_body

        try:
            await read_body(Request(scope, receive), 1024)
            status = 200
        except Exception as error:
            status = getattr(error, "status", 500)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def stalled_receive():
        if not sent:
            sent.append({})
            return {"type": "http.request", "body": b'{"na', "more_body": True}
        await asyncio.sleep(3600)  # the rest never comes

    responses = []

    async def send(message):
        responses.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/organisations", "headers": [], "query_string": b""}
    await asyncio.wait_for(BodyDeadline(app, seconds=0.2)(scope, stalled_receive, send), timeout=10)
    assert responses[0]["status"] == 408
