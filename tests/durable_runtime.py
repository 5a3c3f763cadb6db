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
    serving = asyncio.create_task(serve(server))
    try:
        await until_started(server, serving)
    except BaseException:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        host.binding_values = previous
        raise
    try:
        yield runtime
    finally:
        server.should_exit = True
        await serving
        host.binding_values = previous
        await close_durable_sdk_session()


async def serve(server: Any) -> None:
    try:
        await server.serve()
    except SystemExit as exit:  # uvicorn exits when it cannot start (a port taken, say): an error here
        raise RuntimeError(f"the Durable runtime's server did not start (exit {exit.code}); see its log") from exit


async def until_started(server: Any, serving: asyncio.Task[None], tries: int = 1_000) -> None:
    """Wait (at most `tries` polls 10 ms apart) for the server to listen; raise what stopped it, if anything."""
    for _ in range(tries):
        if server.started:
            return
        if serving.done():
            serving.result()  # raises what ended it
            raise RuntimeError("the Durable runtime's server stopped before it started")
        await asyncio.sleep(0.01)
    raise RuntimeError(f"the Durable runtime's server did not start after {tries} polls 10 ms apart")


async def close_durable_sdk_session() -> None:
    from azure.durable_functions.models.utils import http_utils

    await http_utils._close_session()


def durable_client(runtime: Any) -> Any:
    from azure.durable_functions import DurableOrchestrationClient

    return DurableOrchestrationClient(runtime.client_json())
