"""devhost's Durable runtime served on loopback from the test process and wired into
the function host `call_function` uses, for the test packages whose functions take a
Durable client (scoring, retention)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


@asynccontextmanager
async def durable_runtime() -> AsyncIterator[Any]:
    import uvicorn
    from starlette.applications import Starlette

    from devhost.durable import DurableRuntime
    from devhost.launch import free_port
    from tests.support import function_host

    host = function_host()
    port = free_port()
    runtime = DurableRuntime(host, f"http://127.0.0.1:{port}")
    previous, host.binding_values = host.binding_values, runtime.binding_values
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=runtime.routes()), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield runtime
    finally:
        server.should_exit = True
        await serving
        host.binding_values = previous
        await close_durable_sdk_session()


async def close_durable_sdk_session() -> None:
    from azure.durable_functions.models.utils import http_utils

    await http_utils._close_session()


def durable_client(runtime: Any) -> Any:
    from azure.durable_functions import DurableOrchestrationClient

    return DurableOrchestrationClient(runtime.client_json())
