"""The two entry points of ACS events, called as the worker calls them: the Event
Grid trigger `acs_events` (the library's own converter builds its event) and the
webhook `POST /api/acs/webhook`; both with a Durable client binding that points
at the Durable API double."""

import json
from datetime import UTC, datetime, timedelta

import azure.functions as func
import pytest
from azure.functions.eventgrid import EventGridEventInConverter

from shared.calls.service import handle_trigger_event
from shared.platform.db import DatabaseUnavailable
from tests.calls.conftest import (
    PREVIOUS_SECRET,
    WEBHOOK_SECRET,
    call_data,
    chunk,
    cloud_event,
    grid_event,
    interview_row,
    new_call,
    recording_data,
    recording_subject,
    seed_interview,
    validation_event,
)
from tests.support import Result, function_host, make_request

pytestmark = pytest.mark.usefixtures("services", "call_settings")

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def trigger_event(raw: dict) -> func.EventGridEvent:
    return EventGridEventInConverter.decode(func.meta.Datum(json.dumps(raw), "json"), trigger_metadata={})


async def run_trigger(raw: dict, durable) -> None:
    function = function_host().functions["acs_events"]
    return await function.get_user_function()(event=trigger_event(raw), client=durable.client_json())


async def call_webhook(
    body,
    durable,
    *,
    secret: str | None = WEBHOOK_SECRET,
    query: str = "",
    headers: dict | None = None,
    method: str = "POST",
) -> Result:
    headers = dict(headers or {})
    if secret is not None and not query:
        headers["x-acs-webhook-secret"] = secret
    request = make_request(method, "/api/acs/webhook", body, headers, query)
    response = (
        await function_host().functions["acs_webhook"].get_user_function()(req=request, client=durable.client_json())
    )
    return Result(response, bytes(response.body))


async def linked_interview(db, status="invited", **columns):
    call = new_call()
    return await seed_interview(db, status=status, metadata=dict(call), **columns), call


async def processed(db, event_id) -> int:
    return (await db.fetch_one("select count(*) as n from app.processed_events where event_id = %s", (event_id,)))["n"]


# --- the Event Grid trigger ----------------------------------------------------------------


async def test_trigger_applies_call_started(db, durable):
    seeded, call = await linked_interview(db)
    await run_trigger(grid_event("CallStarted", call_data(call, wrapped=False), at=T0), durable)
    row = await interview_row(db, seeded.interview_id)
    assert row["status"] == "in_progress" and row["started_at"] == T0


async def test_trigger_redelivered_five_times_changes_once_and_scores_once(db, durable):
    seeded, call = await linked_interview(db, status="in_progress", started_at=T0)
    raw = grid_event("CallEnded", call_data(call, durationOfCall=42), at=T0 + timedelta(seconds=42))
    for _ in range(5):
        await run_trigger(raw, durable)
    row = await interview_row(db, seeded.interview_id)
    assert (row["status"], row["duration_seconds"]) == ("completed", 42)
    assert await processed(db, raw["id"]) == 1
    assert [s["input"]["interviewId"] for s in durable.started] == [str(seeded.interview_id)]


async def test_trigger_logs_a_malformed_event_without_raising(db, durable, caplog):
    raw = grid_event("CallStarted", {"isTwoParty": True})
    await run_trigger(raw, durable)  # raising would make Event Grid redeliver it for a day
    assert await processed(db, raw["id"]) == 0
    assert "acs_event_rejected" in caplog.text


async def test_trigger_raises_on_a_database_outage_so_event_grid_redelivers(db, database_url, services):
    from shared.platform.db import Database

    seeded, call = await linked_interview(db)
    fragile = Database(database_url, min_size=1, max_size=1)
    pid = (await fragile.fetch_one("select pg_backend_pid() as pid"))["pid"]
    await db.execute("select pg_terminate_backend(%s)", (pid,))
    with pytest.raises(DatabaseUnavailable):  # raised: Event Grid redelivers the event
        await handle_trigger_event(
            fragile, services.settings, trigger_event(grid_event("CallStarted", call_data(call)))
        )
    await fragile.close()
    assert (await interview_row(db, seeded.interview_id))["status"] == "invited"


# --- the webhook ---------------------------------------------------------------------------


async def test_webhook_answers_the_validation_handshake_before_any_secret(db, durable):
    result = await call_webhook([validation_event("code-123")], durable, secret=None)
    assert result.status == 200 and result.json() == {"validationResponse": "code-123"}


async def test_webhook_answers_the_cloudevents_options_handshake(durable):
    result = await call_webhook(
        None, durable, secret=None, method="OPTIONS", headers={"WebHook-Request-Origin": "eventgrid.azure.net"}
    )
    assert result.status == 200 and result.headers["webhook-allowed-origin"] == "eventgrid.azure.net"
    assert (await call_webhook(None, durable, secret=None, method="OPTIONS")).status == 400


@pytest.mark.parametrize(
    "secret, query",
    [
        (None, ""),
        ("wrong-secret", ""),
        (None, "secret=wrong"),
        (None, f"secret={WEBHOOK_SECRET}"),
        (WEBHOOK_SECRET[:-1], ""),
    ],
)
async def test_webhook_without_the_right_secret_is_401_and_writes_nothing(db, durable, secret, query):
    seeded, call = await linked_interview(db)
    raw = grid_event("CallStarted", call_data(call))
    result = await call_webhook([raw], durable, secret=secret, query=query)
    assert result.status == 401 and result.json()["error"]
    assert (await interview_row(db, seeded.interview_id))["status"] == "invited"
    assert await processed(db, raw["id"]) == 0


@pytest.mark.parametrize("how", ["header", "previous", "query during a migration window"])
async def test_webhook_accepts_the_secret_in_its_header_and_the_previous_one(db, durable, services, how, monkeypatch):
    seeded, call = await linked_interview(db)
    raw = grid_event("CallStarted", call_data(call))
    if how == "header":
        result = await call_webhook([raw], durable)
    elif how == "previous":
        result = await call_webhook([raw], durable, secret=PREVIOUS_SECRET)
    else:
        monkeypatch.setattr(services.settings, "ACS_WEBHOOK_SECRET_IN_QUERY", True)
        result = await call_webhook([raw], durable, query=f"secret={WEBHOOK_SECRET}")
    assert result.status == 200 and result.json() == {"success": True, "processed": 1}
    assert (await interview_row(db, seeded.interview_id))["status"] == "in_progress"


async def test_webhook_secret_in_the_query_is_refused_by_default(db, durable):
    seeded, call = await linked_interview(db)
    raw = grid_event("CallStarted", call_data(call))
    result = await call_webhook([raw], durable, query=f"secret={WEBHOOK_SECRET}")
    assert result.status == 401 and "x-acs-webhook-secret" in result.json()["error"]
    assert (await interview_row(db, seeded.interview_id))["status"] == "invited"


async def test_webhook_checks_the_secret_before_parsing_a_large_body(db, durable, monkeypatch):
    """Without the right secret only a validation-sized body is read: a large one is a
    401 (not a 413, and never parsed), a small one is parsed only for the handshake."""
    import shared.platform.http as http

    parsed = []
    real_loads = http.json.loads
    monkeypatch.setattr(http.json, "loads", lambda raw, *a, **k: parsed.append(len(raw)) or real_loads(raw, *a, **k))
    big = [grid_event("CallStarted", call_data(new_call(), padding="x" * 200_000))]
    result = await call_webhook(big, durable, secret="wrong-secret")
    assert result.status == 401 and not [size for size in parsed if size > 200_000]
    assert (await call_webhook(big, durable)).status == 200
    assert [size for size in parsed if size > 200_000]  # with the secret it is read


async def test_webhook_refuses_a_2_mb_body_with_413_and_writes_nothing(db, durable):
    seeded, call = await linked_interview(db)
    raw = grid_event("CallStarted", call_data(call, padding="x" * (2 * 1024 * 1024)))
    result = await call_webhook([raw], durable)
    assert result.status == 413 and result.json()["error"]
    assert await processed(db, raw["id"]) == 0


async def test_webhook_batch_reports_the_bad_event_and_processes_the_rest(db, durable):
    seeded, call = await linked_interview(db)
    bad = grid_event("CallEnded", {"callDurationInSeconds": "long"})
    batch = [
        grid_event("CallStarted", call_data(call), at=T0),
        bad,
        grid_event("CallEnded", call_data(call, callDurationInSeconds=75), at=T0 + timedelta(seconds=75)),
    ]
    result = await call_webhook(batch, durable)
    assert result.status == 200
    body = result.json()
    assert body["success"] is True and body["processed"] == 2
    assert [f["id"] for f in body["failed"]] == [bad["id"]] and body["failed"][0]["error"]
    row = await interview_row(db, seeded.interview_id)
    assert (row["status"], row["duration_seconds"]) == ("completed", 75)
    assert len(durable.started) == 1  # auto-scoring through the function's Durable client


async def test_webhook_takes_cloudevents_batches_and_single_events(db, durable):
    seeded, call = await linked_interview(db)
    events = [
        cloud_event("CallStarted", call_data(call), at=T0),
        cloud_event("CallParticipantAdded", call_data(call, user={"rawId": "8:acs:c"}, participantId="p"), at=T0),
    ]
    result = await call_webhook(
        json.dumps(events), durable, headers={"content-type": "application/cloudevents-batch+json; charset=utf-8"}
    )
    assert result.status == 200 and result.json()["processed"] == 2
    recording = cloud_event(
        "RecordingFileStatusUpdated", recording_data([chunk(0)]), subject=recording_subject(call["serverCallId"])
    )
    result = await call_webhook(
        json.dumps(recording), durable, headers={"content-type": "application/cloudevents+json"}
    )
    assert result.status == 200 and result.json()["processed"] == 1
    row = await interview_row(db, seeded.interview_id)
    assert row["status"] == "in_progress" and row["recording_url"] and len(row["metadata"]["participants"]) == 1


async def test_webhook_redelivery_five_times_changes_the_interview_once(db, durable):
    seeded, call = await linked_interview(db)
    raw = grid_event("CallStarted", call_data(call), at=T0)
    results = [await call_webhook([raw], durable) for _ in range(5)]
    assert all(r.status == 200 and r.json()["processed"] == 1 for r in results)
    assert await processed(db, raw["id"]) == 1
    first_update = (await interview_row(db, seeded.interview_id))["updated_at"]
    await call_webhook([raw], durable)
    assert (await interview_row(db, seeded.interview_id))["updated_at"] == first_update


@pytest.mark.parametrize("body, status", [("{not json", 400), ("[]", 400), ("42", 400)])
async def test_webhook_bad_bodies(durable, body, status):
    result = await call_webhook(body, durable, headers={"content-type": "application/json"})
    assert result.status == status and result.json()["error"]


async def test_webhook_wrong_method_and_missing_configuration(durable, call_settings, monkeypatch):
    assert (await call_webhook(None, durable, method="GET")).status == 405
    monkeypatch.setattr(call_settings, "ACS_WEBHOOK_SECRET", None)
    result = await call_webhook([validation_event()], durable)
    assert result.status == 503 and "ACS_WEBHOOK_SECRET" in result.json()["error"]


async def test_trigger_event_is_one_trace_with_its_statements_and_counted(db, durable, telemetry_capture):
    seeded, call = await linked_interview(db)
    raw = grid_event("CallStarted", call_data(call, wrapped=False), at=T0)
    processed_before = telemetry_capture.total("talenti.events.processed", outcome="processed")
    duplicates_before = telemetry_capture.total("talenti.events.processed", outcome="duplicate")
    telemetry_capture.exporter.clear()
    await run_trigger(raw, durable)
    [event_span] = [s for s in telemetry_capture.spans() if s.name.startswith("acs.event ")]
    assert event_span.attributes["messaging.message.id"] == raw["id"]
    assert event_span.attributes["talenti.event_outcome"] == "applied"
    in_trace = telemetry_capture.trace_of(event_span)
    statements = [s for s in in_trace if s.attributes.get("db.system") == "postgresql"]
    assert statements and all(s.parent is not None for s in statements)
    assert event_span.parent is None  # no host span in tests: the event starts its trace

    await run_trigger(raw, durable)  # redelivered
    assert telemetry_capture.total("talenti.events.processed", outcome="processed") == processed_before + 1
    assert telemetry_capture.total("talenti.events.processed", outcome="duplicate") == duplicates_before + 1


async def test_a_webhook_cloud_event_carrying_a_traceparent_is_linked_to_it(db, durable, telemetry_capture):
    seeded, call = await linked_interview(db)
    producer_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    event = {**cloud_event("CallStarted", call_data(call)), "traceparent": f"00-{producer_trace}-00f067aa0ba902b7-01"}
    result = await call_webhook([event], durable)
    assert result.status == 200, result
    [span] = [s for s in telemetry_capture.spans() if s.name == "acs.event Microsoft.Communication.CallStarted"]
    assert [f"{link.context.trace_id:032x}" for link in span.links] == [producer_trace]
    [request] = telemetry_capture.named("POST /api/acs/webhook")
    assert span.parent.span_id == request.context.span_id  # inside the webhook request's trace
