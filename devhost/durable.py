"""Durable Functions for the local host (development only; not deployed).

Azure's Durable extension keeps orchestrations in the task hub's storage and
drives them by replay. This module does the same in memory, for one local
process: a restart forgets every instance, nothing is shared between
processes, and it is not meant to carry load. What it keeps faithful is the
part the app's code sees:

- the durable client binding: the JSON document the SDK's
  `DurableOrchestrationClient` is built from, with `rpcBaseUrl` and the
  management URLs pointing at this host;
- the subset of the extension's HTTP API the SDK calls: start
  (`POST {rpc}orchestrators/{name}[/{instanceId}]`, the input JSON-encoded
  twice), status (`GET {rpc}instances/{id}`), terminate
  (`POST {rpc}instances/{id}/terminate`: 202, or 410 when it already ended) and
  purge (`DELETE {rpc}instances/{id}`: 200 with `instancesDeleted`, 404 when
  unknown, 400 while it runs; `purged` lists what was purged);
- execution by replay through the SDK's own entry point: the orchestrator
  function from the app's metadata is called with a context JSON holding the
  history, returns the actions it wants, and this runtime carries them out
  (activities are the app's real activity functions, called as the worker
  calls them), appends the results to the history and replays until done.

Supported actions: call activity, call activity with retry (attempts and the
first retry interval of RetryOptions; like the extension's default backoff
coefficient of 1, every pause is that interval, and a timer follows every
failed attempt, the last included, as the SDK's replay expects), and timers.
Starting an instance whose id is still running is refused (409), as the
extension does with `overridableExistingInstanceStates: NonRunningStates`;
a finished one is replaced.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
from azure.functions.durable_functions import ActivityTriggerConverter, OrchestrationTriggerConverter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger("devhost.durable")

TASK_HUB = "TalentiLocal"
WEBHOOK_PATH = "/runtime/webhooks/durabletask"
REPLAY_SCHEMA = 1  # V2: a flat list of actions (compound actions nest theirs)
OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"

# History event types (azure.durable_functions.models.history.HistoryEventType).
EXECUTION_STARTED, TASK_SCHEDULED, TASK_COMPLETED, TASK_FAILED = 0, 4, 5, 6
TIMER_CREATED, TIMER_FIRED, ORCHESTRATOR_STARTED, ORCHESTRATOR_COMPLETED = 10, 11, 12, 13
# Action types (azure.durable_functions.models.actions.ActionType).
CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY, CREATE_TIMER = 0, 1, 5

ACTIVE = ("Pending", "Running")
HTTP_STATUS = {"Pending": 202, "Running": 202, "Completed": 200, "Failed": 500, "Terminated": 200}


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Instance:
    name: str
    instance_id: str
    input: str | None  # the orchestration input as JSON text
    history: list[dict] = field(default_factory=list)
    runtime_status: str = "Pending"
    custom_status: Any = None
    output: Any = None
    created: datetime = field(default_factory=_now)
    updated: datetime = field(default_factory=_now)
    next_id: int = 0  # the next task/timer id, allocated in history order as the SDK does
    actions_done: int = 0  # how many of the orchestrator's actions have been carried out
    retries: dict[int, dict] = field(default_factory=dict)  # task or timer id -> its retry state
    inbox: asyncio.Queue = field(default_factory=asyncio.Queue)  # completion events, as they happen
    runner: asyncio.Task | None = None

    def status_json(self) -> dict:
        return {
            "name": self.name,
            "instanceId": self.instance_id,
            "runtimeStatus": self.runtime_status,
            "input": json.loads(self.input) if self.input is not None else None,
            "customStatus": self.custom_status,
            "output": self.output,
            "createdTime": _iso(self.created),
            "lastUpdatedTime": _iso(self.updated),
        }


class OrchestratorFailed(Exception):
    pass


class DurableRuntime:
    """Runs the app's orchestrations in this process; see the module docstring."""

    def __init__(self, host, base_url: str, task_hub: str = TASK_HUB):
        self.host = host  # devhost.server.FunctionHost: the app's functions, invoked as the worker does
        self.base_url = base_url.rstrip("/")
        self.task_hub = task_hub
        self.instances: dict[str, Instance] = {}
        self.purged: list[str] = []  # instance ids whose history was purged, in order
        self._tasks: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks
        self._of_type = lambda kind: {n for n, f in host.functions.items() if f.get_trigger().type == kind}

    # --- the client binding ----------------------------------------------------------

    @property
    def webhook_url(self) -> str:
        return self.base_url + WEBHOOK_PATH

    def management_urls(self, instance_id: str) -> dict[str, str]:
        query = f"taskHub={self.task_hub}&connection=Storage"
        instance = f"{self.webhook_url}/instances/{instance_id}"
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{instance}?{query}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
            "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{instance}?{query}",
            "restartPostUri": f"{instance}/restart?{query}",
            "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
        }

    def client_json(self) -> str:
        """The durable client binding as the worker passes it (a JSON string)."""
        query = f"taskHub={self.task_hub}&connection=Storage"
        return json.dumps(
            {
                "taskHubName": self.task_hub,
                "creationUrls": {
                    "createNewInstancePostUri": f"{self.webhook_url}/orchestrators/{{functionName}}[/{{instanceId}}]?{query}",
                    "createAndWaitOnNewInstancePostUri": f"{self.webhook_url}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}"
                    f"&pollingInterval={{intervalInSeconds}}&{query}",
                },
                "managementUrls": self.management_urls("INSTANCEID"),
                "baseUrl": self.webhook_url,
                "requiredQueryStringParameters": query,
                "rpcBaseUrl": self.webhook_url + "/",
            }
        )

    def binding_values(self, function_name: str, binding: dict) -> Any:
        """FunctionHost's hook for input bindings other than the trigger."""
        if binding["type"] == "durableClient":
            return self.client_json()
        return None

    def routes(self) -> list[Route]:
        return [
            Route(WEBHOOK_PATH + "/orchestrators/{name}", self._start_endpoint, methods=["POST"]),
            Route(WEBHOOK_PATH + "/orchestrators/{name}/{instance_id}", self._start_endpoint, methods=["POST"]),
            Route(WEBHOOK_PATH + "/instances/{instance_id}", self._status_endpoint, methods=["GET"]),
            Route(WEBHOOK_PATH + "/instances/{instance_id}", self._purge_endpoint, methods=["DELETE"]),
            Route(WEBHOOK_PATH + "/instances/{instance_id}/terminate", self._terminate_endpoint, methods=["POST"]),
        ]

    # --- the HTTP API -------------------------------------------------------------------

    async def _start_endpoint(self, request: Request) -> Response:
        name = request.path_params["name"]
        raw = await request.body()
        try:
            given = json.loads(raw) if raw.strip() else None
        except ValueError:
            return JSONResponse({"ExceptionMessage": "The request body is not JSON"}, status_code=400)
        # The SDK sends the input already JSON-encoded, inside a JSON string.
        payload = given if isinstance(given, str) or given is None else json.dumps(given)
        try:
            instance = self.start(name, request.path_params.get("instance_id"), payload)
        except LookupError as problem:
            return JSONResponse({"ExceptionMessage": str(problem)}, status_code=400)
        except FileExistsError as problem:
            return JSONResponse({"ExceptionMessage": str(problem)}, status_code=409)
        urls = self.management_urls(instance.instance_id)
        return JSONResponse(urls, status_code=202, headers={"Location": urls["statusQueryGetUri"]})

    async def _status_endpoint(self, request: Request) -> Response:
        instance = self.instances.get(request.path_params["instance_id"])
        if instance is None:
            return Response(status_code=404)
        return JSONResponse(instance.status_json(), status_code=HTTP_STATUS.get(instance.runtime_status, 200))

    async def _purge_endpoint(self, request: Request) -> Response:
        instance_id = request.path_params["instance_id"]
        instance = self.instances.get(instance_id)
        if instance is None:
            return Response(status_code=404)
        if instance.runtime_status in ACTIVE:
            return JSONResponse({"ExceptionMessage": f"Instance '{instance_id}' is still running."}, status_code=400)
        del self.instances[instance_id]
        self.purged.append(instance_id)
        log.info("orchestration %s purged", instance_id)
        return JSONResponse({"instancesDeleted": 1})

    async def _terminate_endpoint(self, request: Request) -> Response:
        instance = self.instances.get(request.path_params["instance_id"])
        if instance is None:
            return Response(status_code=404)
        if instance.runtime_status not in ACTIVE:
            return Response(status_code=410)
        if instance.runner is not None:
            instance.runner.cancel()
        instance.output = request.query_params.get("reason")
        self._finish(instance, "Terminated")
        return Response(status_code=202)

    # --- running orchestrations -----------------------------------------------------------

    def start(self, name: str, instance_id: str | None, payload: str | None) -> Instance:
        if name not in self._of_type("orchestrationTrigger"):
            raise LookupError(f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function.")
        instance_id = instance_id or uuid.uuid4().hex
        existing = self.instances.get(instance_id)
        if existing is not None and existing.runtime_status in ACTIVE:
            raise FileExistsError(f"An instance with ID '{instance_id}' is already {existing.runtime_status.lower()}.")
        instance = Instance(name=name, instance_id=instance_id, input=payload)
        self.instances[instance_id] = instance
        instance.runner = self._spawn(self._run(instance))
        log.info("orchestration %s started (%s)", instance_id, name)
        return instance

    async def _run(self, instance: Instance) -> None:
        instance.runtime_status = "Running"
        self._append(instance, ORCHESTRATOR_STARTED)
        self._append(instance, EXECUTION_STARTED, Name=instance.name, Version="", Input=instance.input)
        try:
            while True:
                state = await self._replay(instance)
                instance.custom_status = state.get("customStatus")
                if state.get("isDone"):
                    self._append(instance, ORCHESTRATOR_COMPLETED)
                    instance.output = state.get("output")
                    self._finish(instance, "Completed")
                    return
                actions = list(_flatten(state.get("actions") or []))
                for action in actions[instance.actions_done :]:
                    self._carry_out(instance, action)
                instance.actions_done = len(actions)
                self._append(instance, ORCHESTRATOR_COMPLETED)
                event = await instance.inbox.get()
                for past in instance.history:
                    past["IsPlayed"] = True
                self._append(instance, ORCHESTRATOR_STARTED)
                self._record_completion(instance, event)
        except OrchestratorFailed as failure:
            instance.output = f"Orchestrator function '{instance.name}' failed: {failure}"
            self._finish(instance, "Failed")
        except Exception as error:  # this runtime's own failure (e.g. an unsupported action)
            log.exception("orchestration %s could not run", instance.instance_id)
            instance.output = f"The local Durable runtime failed: {error}"
            self._finish(instance, "Failed")

    async def _replay(self, instance: Instance) -> dict:
        """One call of the orchestrator's replay entry point, as the worker makes it."""
        context = {
            "history": instance.history,
            "instanceId": instance.instance_id,
            "isReplaying": any(e["IsPlayed"] for e in instance.history),
            "parentInstanceId": None,
            "input": instance.input,
            "upperSchemaVersion": REPLAY_SCHEMA,
        }
        trigger = OrchestrationTriggerConverter.decode(
            func.meta.Datum(json.dumps(context), "string"), trigger_metadata={}
        )
        try:
            return json.loads(await self.host.invoke(instance.name, trigger))
        except Exception as error:
            message, _, state = str(error).partition(OUT_OF_PROC_MARKER)
            if state:
                instance.custom_status = json.loads(state).get("customStatus")
            raise OrchestratorFailed(message) from None

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _finish(self, instance: Instance, runtime_status: str) -> None:
        instance.runtime_status = runtime_status
        instance.updated = _now()
        log.info("orchestration %s %s", instance.instance_id, runtime_status.lower())

    def _append(self, instance: Instance, event_type: int, event_id: int = -1, **fields: Any) -> None:
        instance.history.append(
            {"EventType": event_type, "EventId": event_id, "IsPlayed": False, "Timestamp": _iso(_now()), **fields}
        )
        instance.updated = _now()

    def _new_id(self, instance: Instance) -> int:
        instance.next_id += 1
        return instance.next_id - 1

    def _carry_out(self, instance: Instance, action: dict) -> None:
        kind = action.get("actionType")
        if kind in (CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY):
            retry = action.get("retryOptions") if kind == CALL_ACTIVITY_WITH_RETRY else None
            self._schedule_activity(instance, action["functionName"], action.get("input"), retry, attempt=1)
        elif kind == CREATE_TIMER:
            fire_at = datetime.fromisoformat(action["fireAt"].replace("Z", "+00:00"))
            self._create_timer(instance, fire_at)
        else:
            raise NotImplementedError(f"action type {kind} is not supported by the local Durable runtime")

    def _schedule_activity(
        self, instance: Instance, name: str, payload: str | None, retry: dict | None, attempt: int
    ) -> None:
        task_id = self._new_id(instance)
        self._append(instance, TASK_SCHEDULED, task_id, Name=name, Input=payload)
        if retry is not None:
            instance.retries[task_id] = {"name": name, "input": payload, "options": retry, "attempt": attempt}
        self._spawn(self._run_activity(instance, task_id, name, payload))

    def _create_timer(self, instance: Instance, fire_at: datetime, retry_of: dict | None = None) -> None:
        timer_id = self._new_id(instance)
        self._append(instance, TIMER_CREATED, timer_id, FireAt=_iso(fire_at))
        if retry_of is not None:
            instance.retries[timer_id] = retry_of

        async def fire() -> None:
            await asyncio.sleep(max(0.0, (fire_at - _now()).total_seconds()))
            instance.inbox.put_nowait({"EventType": TIMER_FIRED, "TimerId": timer_id, "FireAt": _iso(fire_at)})

        self._spawn(fire())

    async def _run_activity(self, instance: Instance, task_id: int, name: str, payload: str | None) -> None:
        """The app's activity function, called as the worker calls it; its result
        or failure goes to the instance's inbox."""
        try:
            if name not in self._of_type("activityTrigger"):
                raise LookupError(f"The function '{name}' doesn't exist or is not an activity function.")
            value = ActivityTriggerConverter.decode(
                func.meta.Datum(payload if payload is not None else "null", "json"), trigger_metadata={}
            )
            result = await self.host.invoke(name, value)
            encoded = ActivityTriggerConverter.encode(result, expected_type=None).value
            event = {"EventType": TASK_COMPLETED, "TaskScheduledId": task_id, "Result": encoded}
        except Exception as error:
            log.warning("activity %s of %s failed: %s", name, instance.instance_id, error)
            event = {
                "EventType": TASK_FAILED,
                "TaskScheduledId": task_id,
                "Reason": f"Activity function '{name}' failed: {error}",
                "Details": "".join(traceback.format_exception_only(type(error), error)).strip(),
            }
        instance.inbox.put_nowait(event)

    def _record_completion(self, instance: Instance, event: dict) -> None:
        """Append a completion, then what the extension's retry handling adds in the same episode."""
        kind = event.pop("EventType")
        self._append(instance, kind, **event)
        if kind == TASK_FAILED and event["TaskScheduledId"] in instance.retries:
            retry = instance.retries.pop(event["TaskScheduledId"])
            pause = timedelta(milliseconds=retry["options"]["firstRetryIntervalInMilliseconds"])
            self._create_timer(instance, _now() + pause, retry_of=retry)
        elif kind == TASK_COMPLETED:
            instance.retries.pop(event["TaskScheduledId"], None)
        elif kind == TIMER_FIRED and event["TimerId"] in instance.retries:
            retry = instance.retries.pop(event["TimerId"])
            if retry["attempt"] < retry["options"]["maxNumberOfAttempts"]:
                self._schedule_activity(
                    instance, retry["name"], retry["input"], retry["options"], attempt=retry["attempt"] + 1
                )


def _flatten(actions: list) -> Any:
    """The orchestrator's actions in scheduling order (lists per yield in replay
    schema V1, compound actions in V2)."""
    for action in actions:
        if isinstance(action, list):
            yield from _flatten(action)
        elif "compoundActions" in action:
            yield from _flatten(action["compoundActions"])
        else:
            yield action
