"""Issue 24: one trace for POST /api/ai/score, read from the in-memory exporter:
the HTTP request, the starter, the orchestration's activities (joined to the
request's trace through the traceparent in the orchestration input), the
database statements (SQL text, never parameters) and the model call with its
token counts."""

import json
import logging
import uuid

import pytest

from tests.scoring.conftest import seed_interview
from tests.support import auth_headers, call_function

pytestmark = pytest.mark.usefixtures("scoring_services", "durable")


async def test_a_scoring_request_is_one_trace_through_activities_database_and_model(
    db, model, telemetry_capture, caplog
):
    interview = await seed_interview(db)
    telemetry_capture.exporter.clear()  # the seeding's statements are not the request's
    tokens_before = telemetry_capture.total("talenti.ai.tokens", purpose="score", token_type="output")
    runs_before = telemetry_capture.total("talenti.scoring.run.duration", outcome="succeeded")
    model_calls = {"purpose": "score", "model": "gpt-test-scoring", "outcome": "ok"}
    calls_before = telemetry_capture.total("talenti.ai.call.duration", **model_calls)
    with caplog.at_level(logging.INFO, logger="talenti"):
        result = await call_function(
            "score_interview",
            "POST",
            {"interviewId": str(interview.id)},
            {**auth_headers(interview.recruiter), "x-request-id": "score-trace-1"},
            path="/api/ai/score",
            client_ip=f"2001:db8:{uuid.uuid4().hex[:4]}::1",
        )
    assert result.status == 200, result

    [request] = telemetry_capture.named("POST /api/ai/score")
    assert request.attributes["http.route"] == "/api/ai/score"
    assert request.attributes["http.response.status_code"] == 200
    assert request.parent is None  # the local host: the request starts the trace
    spans = telemetry_capture.trace_of(request)
    names = [s.name for s in spans]
    assert {"scoring.start", "scoring.load_context", "scoring.score_and_save"} <= set(names), names
    by_id = {s.context.span_id: s for s in spans}
    start = next(s for s in spans if s.name == "scoring.start")
    activities = [s for s in spans if s.name in ("scoring.load_context", "scoring.score_and_save")]
    assert all(a.parent.span_id == start.context.span_id for a in activities)
    assert start.parent.span_id == request.context.span_id

    statements = [s for s in spans if s.attributes.get("db.system") == "postgresql"]
    in_activities = [s for s in statements if by_id.get(s.parent.span_id) in activities]
    assert in_activities, "the activities' statements belong to the request's trace"
    texts = [s.attributes["db.statement"] for s in statements]
    assert not [t for t in texts if str(interview.id) in t], "parameters never reach a span"
    assert any("%s" in t or "%(" in t for t in texts)  # the SQL text with its placeholders

    [chat] = [s for s in spans if s.name == "chat gpt-test-scoring"]
    [request_to_model] = model.chat_requests
    assert chat.attributes["talenti.ai.purpose"] == "score"
    assert chat.attributes["gen_ai.usage.input_tokens"] == 10
    assert chat.attributes["gen_ai.usage.output_tokens"] > 0
    assert by_id[chat.parent.span_id].name == "scoring.score_and_save"

    # Metrics: tokens by purpose, model and organisation; the run's duration by outcome.
    output_tokens = telemetry_capture.total(
        "talenti.ai.tokens", purpose="score", token_type="output", organisation=str(interview.organisation_id)
    )
    assert output_tokens == chat.attributes["gen_ai.usage.output_tokens"]
    assert telemetry_capture.total("talenti.ai.tokens", purpose="score", token_type="output") > tokens_before
    assert telemetry_capture.total("talenti.scoring.run.duration", outcome="succeeded") == runs_before + 1
    assert telemetry_capture.total("talenti.ai.call.duration", **model_calls) == calls_before + 1

    # The request's log lines carry its id (the starter's JSON line is written inside the handler).
    started = [json.loads(r.getMessage()) for r in caplog.records if '"scoring.started"' in r.getMessage()]
    assert started and started[0]["requestId"] == "score-trace-1"
    assert started[0]["traceId"] == f"{request.context.trace_id:032x}"
    # So do the activities' (the model call's line is written in the scoring activity).
    calls = [json.loads(r.getMessage()) for r in caplog.records if '"ai.call"' in r.getMessage()]
    assert [(c["purpose"], c["requestId"]) for c in calls] == [("score", "score-trace-1")]
    assert calls[0]["traceId"] == started[0]["traceId"]
