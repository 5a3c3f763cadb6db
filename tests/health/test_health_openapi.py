import pytest

from tests.support import call_function, function_host

pytestmark = pytest.mark.usefixtures("services")


async def test_health_reports_database_ok():
    result = await call_function("health", "GET")
    assert result.status == 200
    assert result.json()["status"] == "ok" and result.json()["database"] == "ok"


async def test_health_is_degraded_when_the_database_is_unreachable(monkeypatch):
    from shared.platform.db import Database
    from shared.platform.wiring import get_services

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
    from shared.platform.http import ENDPOINTS

    http_functions = {name for name, f in function_host().functions.items() if f.is_http_function()}
    assert set(ENDPOINTS) == http_functions - {"former_functions", "unknown_route"}  # routing, not endpoints
    published = {spec.path for spec in ENDPOINTS.values()} | {
        spec.former_path for spec in ENDPOINTS.values() if spec.former_path
    }
    assert published == set(document["paths"])
    assert "/functions/v1/create-organisation" in document["paths"]
    create = document["paths"]["/api/organisations"]["post"]
    schema_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert schema["required"] == ["name"] and "billing_email" in schema["properties"]
    assert "429" in create["responses"] and create["security"] == [{"supabaseToken": []}]


async def test_openapi_states_what_each_operation_answers():
    document = (await call_function("openapi", "GET")).json()
    operations = {op["operationId"]: op for item in document["paths"].values() for op in item.values()}
    assert len(operations) == sum(len(item) for item in document["paths"].values())  # ids are distinct
    status = document["paths"]["/api/ai/score/{interviewId}"]["get"]
    assert status["parameters"] == [
        {"name": "interviewId", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    ]
    for operation_id in ("score_interview", "score_interview_former", "score_interview_status"):
        accepted = operations[operation_id]["responses"]["202"]
        assert accepted["headers"]["Location"]["required"] and accepted["headers"]["Retry-After"]["required"]
    # 503: an unconfigured upstream or an unavailable database; only the document and liveness need neither.
    assert {op_id for op_id, op in operations.items() if "503" not in op["responses"]} == {"openapi", "health_live"} | {
        op_id for op_id in operations if op_id.startswith("api_docs")
    }
    assert all(op["responses"]["200"]["headers"]["x-request-id"]["required"] for op in operations.values())
    # A body whose fields are all optional may be left out (it reads as {}).
    assert operations["acs_token"]["requestBody"]["required"] is False
    assert operations["organisations"]["requestBody"]["required"] is True


async def test_openapi_request_schemas_are_as_strict_as_validation():
    import re

    document = (await call_function("openapi", "GET")).json()
    schemas = document["components"]["schemas"]
    assert schemas["ChatMessage"]["properties"]["role"]["enum"] == ["user", "assistant"]
    organisation = schemas["CreateOrganisationRequest"]["properties"]
    website = organisation["website"]["anyOf"][0]["pattern"]
    assert re.search(website, "https://acme.example/about") and not re.search(website, "javascript:alert(1)")
    email = organisation["billing_email"]["anyOf"][0]
    # The pattern is the validation's own; JSON Schema's "format": "email" would be looser or stricter.
    assert "format" not in email and re.search(email["pattern"], "billing@acme.example")
    assert not re.search(email["pattern"], "not an email")
    blank = re.compile(schemas["CreateOrganisationRequest"]["properties"]["name"]["pattern"])
    assert blank.search(" x ") and not blank.search(" \t\u00a0")  # stripped to nothing: refused
    assert schemas["TranscriptTurn"]["properties"]["speaker"]["pattern"] == blank.pattern
    path = schemas["ParseResumeRequest"]["properties"]["filePath"]
    assert path["maxLength"] == 512
    for bad in ("/abs.pdf", "a/../b.pdf", "a//b.pdf", "a\\b.pdf", "a/b.txt", "a/b.pdf\n", "a/b%2e.pdf"):
        assert not re.search(path["pattern"], bad), bad
    assert re.search(path["pattern"], "5b1c/cv.PDF")
    cleanup = schemas["DataCleanupRequest"]
    assert cleanup["required"] == ["action", "organisationId"]  # a user must name the organisation
    parse = document["paths"]["/api/ai/parse-resume"]["post"]["requestBody"]["content"]
    assert parse["multipart/form-data"]["schema"]["required"] == ["file"]
    assert parse["application/json"]["schema"]["$ref"].endswith("/ParseResumeRequest")


async def test_openapi_describes_the_stream_events():
    document = (await call_function("openapi", "GET")).json()
    ok = document["paths"]["/api/ai/interviewer/stream"]["post"]["responses"]["200"]
    event = ok["content"]["text/event-stream"]["schema"]
    assert event["required"] == ["data"]
    kinds = event["properties"]["data"]["anyOf"]
    refs = [kind["contentSchema"]["$ref"].rsplit("/", 1)[1] for kind in kinds if "contentSchema" in kind]
    assert refs == ["StreamDelta", "StreamDone", "StreamFailure"]
    assert {"type": "string", "const": "[DONE]"} in kinds
    done = document["components"]["schemas"]["StreamDone"]
    assert set(done["required"]) == {"done", "message", "detectedCompetencies", "competencyCovered"}
