"""The suite's guard (tests/conftest.py): a test connects only to loopback or a unix
socket, sync or asyncio, and a unit test connects to nothing at all. A guard that let a
connection through would fail these with a connect error or a timeout (2 s at most each),
not the guard's refusal."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

OFF_MACHINE = ("203.0.113.1", 443)  # TEST-NET-3: for documentation, never routed
REFUSED = "tests reach only loopback"
# httpx's asyncio connections (anyio) raise what failed inside an exception group.
REFUSED_IN_GROUP = pytest.RaisesGroup(
    pytest.RaisesExc(AssertionError, match=REFUSED), allow_unwrapped=True, flatten_subgroups=True
)


@pytest.fixture
def listener():
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()


@pytest.mark.io
def test_an_io_test_connects_to_loopback_and_nothing_else(listener, tmp_path):
    for host in ("127.0.0.1", "localhost"):
        socket.create_connection((host, listener[1]), timeout=2).close()
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as client:
        server.bind(str(tmp_path / "s"))
        server.listen()
        client.connect(str(tmp_path / "s"))

    with socket.socket() as raw:
        raw.settimeout(2)
        with pytest.raises(AssertionError, match=REFUSED):
            raw.connect(OFF_MACHINE)
        with pytest.raises(AssertionError, match=REFUSED):
            raw.connect_ex(OFF_MACHINE)
    with socket.socket(socket.AF_INET6) as raw:
        raw.settimeout(2)
        with pytest.raises(AssertionError, match=REFUSED):
            raw.connect(("::ffff:203.0.113.1", 443))
    with pytest.raises(AssertionError, match=REFUSED):
        socket.create_connection(OFF_MACHINE, timeout=2)
    with pytest.raises(AssertionError, match=REFUSED):
        socket.getaddrinfo("example.com", 443)  # not even looked up
    with pytest.raises(AssertionError, match=REFUSED):
        httpx.get(f"https://{OFF_MACHINE[0]}/", timeout=2)


@pytest.mark.io
async def test_asyncio_and_httpx_connections_are_guarded_too(listener):
    _, writer = await asyncio.open_connection(*listener)
    writer.close()
    await writer.wait_closed()

    with pytest.raises(AssertionError, match=REFUSED):
        await asyncio.wait_for(asyncio.open_connection(*OFF_MACHINE), 2)
    with pytest.raises(AssertionError, match=REFUSED):
        await asyncio.wait_for(asyncio.open_connection("example.com", 443), 2)
    async with httpx.AsyncClient(timeout=2) as client:
        with REFUSED_IN_GROUP:
            await client.get(f"https://{OFF_MACHINE[0]}/")
        with REFUSED_IN_GROUP:
            await client.get("https://example.com/")


def test_a_unit_test_connects_to_nothing_not_even_loopback(listener):
    with socket.socket() as raw, pytest.raises(AssertionError, match="unit test connected"):
        raw.connect(listener)
