"""devhost/durable.py, the local Durable runtime, driving a small app of its own
through the SDK's replay entry point: fan-out, retries that succeed and that run
out, timers, failures of the orchestrator, of an activity and of the runtime
itself, and the HTTP API's refusals."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from functools import lru_cache

import azure.durable_functions as df
import azure.functions as func
import httpx
import pytest
from starlette.applications import Starlette

from devhost.durable import WEBHOOK_PATH, DurableRuntime, _flatten
from devhost.server import FunctionHost

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
attempts: dict[str, int] = {}  # activity key -> calls so far


@app.activity_trigger(input_name="number")
def double(number: int) -> int:
    return number * 2


@app.activity_trigger(input_name="key")
def flaky(key: str) -> str:
    """Fails until its third call for a key."""
    attempts[key] = attempts.get(key, 0) + 1
    if attempts[key] < 3:
        raise ConnectionError(f"attempt {attempts[key]} failed")
    return f"{key} done after {attempts[key]}"


@app.activity_trigger(input_name="anything")
def broken(anything: str) -> str:
    raise ValueError("always broken")


@app.orchestration_trigger(context_name="context")
def fan_out(context):
    results = yield context.task_all([context.call_activity("double", n) for n in context.get_input()])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def retrying(context):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=10, max_number_of_attempts=3)
    return (yield context.call_activity_with_retry("flaky", options, context.get_input()))


@app.orchestration_trigger(context_name="context")
def retries_run_out(context):
    context.set_custom_status({"step": "trying"})
    options = df.RetryOptions(first_retry_interval_in_milliseconds=10, max_number_of_attempts=2)
    return (yield context.call_activity_with_retry("broken", options, "x"))


@app.orchestration_trigger(context_name="context")
def sleeper(context):
    yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=20))
    return "woke"


@app.orchestration_trigger(context_name="context")
def long_sleeper(context):
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=60))
    return "woke"


@app.orchestration_trigger(context_name="context")
def calls_a_stranger(context):
    try:
        yield context.call_activity("nobody", 1)
    except Exception as failure:
        return f"caught: {failure}"
    return "not reached"


@app.orchestration_trigger(context_name="context")
def waits_for_an_event(context):
    return (yield context.wait_for_external_event("approval"))


@app.orchestration_trigger(context_name="context")
def raises_at_once(context):
    context.set_custom_status("about to fail")
    raise RuntimeError("the orchestrator gave up")
    yield  # a generator, as orchestrators are


@lru_cache(maxsize=1)
def function_host() -> FunctionHost:
    return FunctionHost(app)  # once: the app's metadata is read (and checked) once per app


@pytest.fixture
async def runtime():
    attempts.clear()
    host = function_host()
    runtime = DurableRuntime(host, "http://127.0.0.1:9")
    host.binding_values = runtime.binding_values
    yield runtime
    for instance in runtime.instances.values():  # nothing left running into the next test
        if instance.runner is not None and not instance.runner.done():
            instance.runner.cancel()


@pytest.fixture
async def client(runtime):
    transport = httpx.ASGITransport(app=Starlette(routes=runtime.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9") as client:
        yield client


async def finished(runtime, instance_id: str, timeout: float = 20) -> dict:
    async with asyncio.timeout(timeout):
        while runtime.instances[instance_id].runtime_status in ("Pending", "Running"):
            await asyncio.sleep(0.01)
    return runtime.instances[instance_id].status_json()


async def start(client, name: str, payload=None, instance_id: str | None = None) -> httpx.Response:
    path = f"{WEBHOOK_PATH}/orchestrators/{name}" + (f"/{instance_id}" if instance_id else "")
    # The SDK sends the input JSON-encoded inside a JSON string.
    return await client.post(path, content=json.dumps(json.dumps(payload)) if payload is not None else b"")


async def test_a_fan_out_runs_every_activity_and_the_status_follows_it(runtime, client):
    started = await start(client, "fan_out", [1, 2, 3], "fan-1")
    assert started.status_code == 202
    assert started.headers["location"] == started.json()["statusQueryGetUri"]
    assert started.json()["id"] == "fan-1"
    status = await finished(runtime, "fan-1")
    assert status["runtimeStatus"] == "Completed" and status["output"] == 12 and status["input"] == [1, 2, 3]
    answer = await client.get(f"{WEBHOOK_PATH}/instances/fan-1")
    assert answer.status_code == 200 and answer.json()["output"] == 12
    scheduled = [e["Name"] for e in runtime.instances["fan-1"].history if e["EventType"] == 4]
    assert scheduled == ["double", "double", "double"]


async def test_an_activity_retried_until_it_succeeds(runtime, client):
    await start(client, "retrying", "job-a", "retry-1")
    status = await finished(runtime, "retry-1")
    assert status["runtimeStatus"] == "Completed" and status["output"] == "job-a done after 3"
    history = runtime.instances["retry-1"].history
    assert [e["EventType"] for e in history].count(6) == 2  # two failures, each followed by a timer
    assert [e["EventType"] for e in history].count(10) == 2


async def test_retries_that_run_out_fail_the_orchestration_with_the_activitys_reason(runtime, client):
    await start(client, "retries_run_out", None, "out-1")
    status = await finished(runtime, "out-1")
    assert status["runtimeStatus"] == "Failed"
    assert "Orchestrator function 'retries_run_out' failed" in status["output"]
    assert "always broken" in status["output"]
    assert status["customStatus"] == {"step": "trying"}  # the state the orchestrator had set
    assert [e["EventType"] for e in runtime.instances["out-1"].history].count(4) == 2  # two attempts
    answer = await client.get(f"{WEBHOOK_PATH}/instances/out-1")
    assert answer.status_code == 500


async def test_a_timer_fires_and_the_orchestration_goes_on(runtime, client):
    await start(client, "sleeper", None, "timer-1")
    status = await finished(runtime, "timer-1")
    assert status["runtimeStatus"] == "Completed" and status["output"] == "woke"
    assert [e["EventType"] for e in runtime.instances["timer-1"].history].count(11) == 1  # fired once


async def test_an_unknown_activity_fails_as_the_extension_reports_it(runtime, client):
    await start(client, "calls_a_stranger", None, "stranger-1")
    status = await finished(runtime, "stranger-1")
    assert status["runtimeStatus"] == "Completed"
    assert "Activity function 'nobody' failed" in status["output"] and "doesn't exist" in status["output"]


async def test_an_orchestrator_that_raises_fails_with_its_message_and_status(runtime, client):
    await start(client, "raises_at_once", None, "raise-1")
    status = await finished(runtime, "raise-1")
    assert status["runtimeStatus"] == "Failed" and "the orchestrator gave up" in status["output"]
    assert status["customStatus"] == "about to fail"


async def test_an_action_this_runtime_cannot_carry_out_fails_the_instance_and_says_so(runtime, client):
    await start(client, "waits_for_an_event", None, "event-1")
    status = await finished(runtime, "event-1")
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith("The local Durable runtime failed: action type")


async def test_starting_a_running_id_is_409_and_a_finished_one_is_replaced(runtime, client):
    first = await start(client, "sleeper", None, "same")
    again = await start(client, "sleeper", None, "same")
    assert first.status_code == 202 and again.status_code == 409
    assert "'same' is already" in again.json()["ExceptionMessage"]
    assert (await client.get(f"{WEBHOOK_PATH}/instances/same")).status_code == 202  # still pending or running
    await finished(runtime, "same")
    replaced = await start(client, "fan_out", [5], "same")
    assert replaced.status_code == 202
    assert (await finished(runtime, "same"))["output"] == 10


async def test_the_http_api_refuses_what_it_cannot_run(runtime, client):
    not_json = await client.post(f"{WEBHOOK_PATH}/orchestrators/fan_out", content=b"{oops")
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["ExceptionMessage"]
    unknown = await start(client, "no_such_orchestrator", [1])
    assert unknown.status_code == 400 and "doesn't exist" in unknown.json()["ExceptionMessage"]
    activity = await start(client, "double", 1)  # a function, but not an orchestrator
    assert activity.status_code == 400
    assert (await client.get(f"{WEBHOOK_PATH}/instances/nobody")).status_code == 404
    plain = await client.post(f"{WEBHOOK_PATH}/orchestrators/fan_out", json=[4])  # input not double-encoded
    assert plain.status_code == 202
    assert (await finished(runtime, plain.json()["id"]))["output"] == 8


async def test_terminate_stops_a_run_and_purge_forgets_a_finished_one(runtime, client):
    await start(client, "long_sleeper", None, "long-1")
    instance = f"{WEBHOOK_PATH}/instances/long-1"
    refused = await client.delete(instance)  # still running: the history is kept
    assert refused.status_code == 400 and "still running" in refused.json()["ExceptionMessage"]
    assert (await client.post(f"{instance}/terminate", params={"reason": "erased"})).status_code == 202
    status = runtime.instances["long-1"].status_json()
    assert status["runtimeStatus"] == "Terminated" and status["output"] == "erased"
    assert (await client.post(f"{instance}/terminate")).status_code == 410  # already ended
    purged = await client.delete(instance)
    assert purged.status_code == 200 and purged.json() == {"instancesDeleted": 1}
    assert "long-1" not in runtime.instances and runtime.purged == ["long-1"]
    assert (await client.delete(instance)).status_code == 404
    assert (await client.post(f"{instance}/terminate")).status_code == 404


def test_the_client_binding_points_at_this_host(runtime):
    binding = json.loads(runtime.binding_values("any", {"type": "durableClient"}))
    assert binding["rpcBaseUrl"] == f"http://127.0.0.1:9{WEBHOOK_PATH}/"
    assert binding["managementUrls"]["id"] == "INSTANCEID"
    assert runtime.binding_values("any", {"type": "blob"}) is None


def test_actions_are_flattened_in_scheduling_order():
    nested = [[{"n": 1}, {"compoundActions": [{"n": 2}, [{"n": 3}]]}], {"n": 4}]
    assert [a["n"] for a in _flatten(nested)] == [1, 2, 3, 4]
