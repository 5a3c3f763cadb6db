"""The API page (`GET /api/docs`): in headless Chromium through the local host, and
its production switch."""

from __future__ import annotations

import os

import pytest

from tests.frontend.node import chromium_path, run_node_tests
from tests.support import call_function

BROWSER_TESTS = 4
FORMER_NAMES = [
    "ai-interviewer",
    "score-interview",
    "parse-resume",
    "extract-requirements",
    "generate-shortlist",
    "acs-token-generator",
    "acs-webhook-handler",
    "azure-speech-token",
    "send-invitation",
    "create-organisation",
    "data-retention-cleanup",
]


def test_the_page_in_a_real_browser(world):
    fixture = world.fixture(
        chromium=chromium_path(), formerNames=FORMER_NAMES, screenshot=os.environ.get("DOCS_PAGE_SCREENSHOT")
    )
    run_node_tests("docs_page.test.mjs", fixture).assert_all_passed(BROWSER_TESTS)


@pytest.fixture
def production(services, monkeypatch):
    monkeypatch.setattr(services.settings, "APP_ENV", "production")
    return services.settings


async def test_off_in_production_unless_enabled(production, monkeypatch):
    for name, path in (("api_docs_page", "/api/docs"), ("api_docs_asset", "/api/docs/assets/swagger-ui.css")):
        params = {"name": "swagger-ui.css"} if name == "api_docs_asset" else None
        hidden = await call_function(name, "GET", path=path, path_params=params)
        assert hidden.status == 404 and hidden.json() == {
            "error": "Not found",
            "requestId": hidden.headers["x-request-id"],
        }
        monkeypatch.setattr(production, "API_DOCS_ENABLED", True)
        shown = await call_function(name, "GET", path=path, path_params=params)
        assert shown.status == 200
        monkeypatch.setattr(production, "API_DOCS_ENABLED", False)


async def test_page_headers_and_unknown_assets(services):
    page = await call_function("api_docs_page", "GET", path="/api/docs")
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert b"<script>" not in page.raw  # no inline script: the policy allows none
    for name in ("nope.js", "../function_app.py", "__init__.py", "init.js.map"):
        missing = await call_function(
            "api_docs_asset", "GET", path=f"/api/docs/assets/{name}", path_params={"name": name}
        )
        assert missing.status == 404, name
    script = await call_function(
        "api_docs_asset",
        "GET",
        path="/api/docs/assets/swagger-ui-bundle.js",
        path_params={"name": "swagger-ui-bundle.js"},
    )
    assert script.status == 200 and script.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in script.raw
