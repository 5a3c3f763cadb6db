"""The parity tool against two real instances of the app under the local host:
identical deployments match; a deployment whose model fails differs from one
whose model answers, on exactly the AI endpoints."""

import json

import pytest

from shared.interviewer import competency_prompts as competencies
from shared.platform.config import DEV_SERVICE_KEY
from tests.doubles.openai_server import OpenAIDouble, text_reply, tool_call_reply
from tests.parity.test_parity import parity
from tests.support import create_user, user_token

LIMITS = {
    "RATE_LIMITS": json.dumps(
        {
            route: "1000/60"
            for route in (
                "ai/interviewer",
                "ai/score",
                "ai/parse-resume",
                "ai/extract-requirements",
                "ai/generate-shortlist",
                "acs/token",
                "azure/speech-token",
                "invitations/send",
                "organisations",
                "admin/data-cleanup",
            )
        }
    )
}


def interviewer_model(body):
    """Answers interviewer turns; any other structured request gets an invalid answer (502)."""
    if body.get("tools"):
        name = body["tools"][0]["function"]["name"]
        return tool_call_reply(name, {"detectedCompetencies": []} if name == competencies.TOOL_NAME else {})
    return text_reply("Welcome. Tell me about a project you are proud of.", chunks=3)


@pytest.fixture(scope="module")
def model():
    with OpenAIDouble(api_key="sk-parity", default_responder=interviewer_model) as double:
        yield double


def model_env(double) -> dict[str, str]:
    return {**LIMITS, "AI_BASE_URL": double.url + "/v1", "AI_API_KEY": "sk-parity", "AI_MODEL": "gpt-test"}


def run(capsys, old: str, new: str, token: str, *extra: str) -> tuple[int, dict]:
    code = parity.main(
        [
            "--old",
            f"{old}/functions/v1",
            "--new",
            f"{new}/functions/v1",
            "--old-backend",
            "app",
            "--old-token",
            token,
            "--new-token",
            token,
            "--old-service-key",
            DEV_SERVICE_KEY,
            "--new-service-key",
            DEV_SERVICE_KEY,
            "--timeout",
            "20",
            "--json",
            *extra,
        ]
    )
    return code, json.loads(capsys.readouterr().out)


def mismatches(report: dict) -> list[dict]:
    return [r for r in report["results"] if r.get("status_match") is False or r.get("shape_match") is False]


async def test_two_identical_local_hosts_match(capsys, devhosts, model, db):
    first, second = devhosts.start(model_env(model)), devhosts.start(model_env(model))
    code, report = run(capsys, first, second, user_token(await create_user(db)))
    assert report["summary"]["errors"] == 0, report
    assert code == 0 and mismatches(report) == []
    assert report["summary"]["matched"] >= 25


async def test_a_host_whose_model_fails_differs_on_the_ai_endpoints(capsys, devhosts, model, db):
    broken = OpenAIDouble(api_key="sk-parity")  # no responder: every call fails upstream
    with broken:
        healthy, failing = devhosts.start(model_env(model)), devhosts.start(model_env(broken))
        code, report = run(
            capsys,
            healthy,
            failing,
            user_token(await create_user(db)),
            "--endpoint",
            "ai-interviewer",
            "--endpoint",
            "create-organisation",
        )
    assert code == 1
    differing = {(r["endpoint"], r["name"]) for r in mismatches(report)}
    assert differing and {endpoint for endpoint, _ in differing} == {"ai-interviewer"}
    assert any(r["new_status"] == 502 for r in mismatches(report))
