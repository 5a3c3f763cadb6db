"""A wire-level double of the Durable Functions extension's HTTP API, as far as
starting an orchestration goes:

  GET  {rpcBaseUrl}instances/{id}              404 (no such instance yet) or the stored status
  POST {rpcBaseUrl}orchestrators/{name}[/{id}] 202 {"id": ...}; records the start

`client_json()` is the durable client binding the host would pass to a function."""

from __future__ import annotations

import json

from tests.doubles.base import RecordedRequest, Reply, ServiceDouble, json_reply

RPC_PATH = "/runtime/webhooks/durabletask/"


class DurableDouble(ServiceDouble):
    def __init__(self) -> None:
        super().__init__()
        self.started: list[dict] = []  # {"name", "instance_id", "input"}

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.started.clear()

    def client_json(self) -> str:
        return json.dumps(
            {
                "taskHubName": "TestHub",
                "creationUrls": {},
                "managementUrls": {},
                "baseUrl": self.url + RPC_PATH,
                "requiredQueryStringParameters": "",
                "rpcBaseUrl": self.url + RPC_PATH,
            }
        )

    def handle(self, request: RecordedRequest) -> Reply:
        path = request.path.removeprefix(RPC_PATH.rstrip("/")).strip("/").split("/")
        if request.method == "GET" and path[0] == "instances" and len(path) == 2:
            with self._lock:
                known = any(s["instance_id"] == path[1] for s in self.started)
            if not known:
                return json_reply(404, {})
            return json_reply(202, {"name": "x", "instanceId": path[1], "runtimeStatus": "Running"})
        if request.method == "POST" and path[0] == "orchestrators" and len(path) in (2, 3):
            instance_id = path[2] if len(path) == 3 else "generated-id"
            payload = json.loads(request.json) if isinstance(request.json, str) else request.json
            with self._lock:
                self.started.append({"name": path[1], "instance_id": instance_id, "input": payload})
            return json_reply(202, {"id": instance_id})
        return json_reply(404, {"error": "not found"})
