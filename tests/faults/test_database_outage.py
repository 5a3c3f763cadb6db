"""PostgreSQL goes away mid-traffic and comes back: callers get a quick 503
`Database unavailable` with Retry-After (never a 500, never a long wait),
health says `degraded`, and once the database is back the same local host
process serves again. Nothing is lost or duplicated: every 200 is one row,
every 503 wrote nothing.

The outage is a real network cut: the app reaches PostgreSQL through a TCP
relay on loopback, which the test closes (dropping every connection) and
reopens, so the shared test server keeps running for everyone else."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import suppress

import httpx
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from devhost.launch import free_port
from tests.support import auth_headers, create_user

POOL_TIMEOUT = 1.0


class Relay:
    """TCP on 127.0.0.1:<port> -> the PostgreSQL server's unix socket; `cut()` drops everything."""

    def __init__(self, socket_path: str):
        self.socket_path = socket_path
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.links):
            writer.transport.abort()
        await self.server.wait_closed()
        self.links.clear()

    async def _link(self, client_reader, client_writer) -> None:
        try:
            server_reader, server_writer = await asyncio.open_unix_connection(self.socket_path)
        except OSError:
            client_writer.transport.abort()
            return
        self.links |= {client_writer, server_writer}

        async def pump(reader, writer):
            with suppress(Exception):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.transport.abort()

        await asyncio.gather(pump(client_reader, server_writer), pump(server_reader, client_writer))
        self.links -= {client_writer, server_writer}


@pytest.fixture
async def relay(database_url):
    params = conninfo_to_dict(database_url)
    relay = Relay(f"{params['host']}/.s.PGSQL.{params.get('port', 5432)}")
    await relay.open()
    yield relay
    if relay.server is not None and relay.server.is_serving():
        await relay.cut()


@pytest.fixture
def outage_host(devhosts, database_url, relay):
    params = conninfo_to_dict(database_url)
    url = make_conninfo(**{**params, "host": "127.0.0.1", "port": str(relay.port)})
    return devhosts.start(
        {"DATABASE_URL": url, "DB_POOL_TIMEOUT_SECONDS": str(POOL_TIMEOUT), "RATE_LIMIT_ENABLED": "false"}
    )


async def test_an_outage_is_a_quick_503_and_the_app_recovers_without_a_restart(db, relay, outage_host):
    user = await create_user(db)
    tag = uuid.uuid4().hex[:8]
    outcomes: list[tuple[str, int]] = []

    async with httpx.AsyncClient(base_url=outage_host, timeout=30, headers=auth_headers(user)) as client:

        async def create(n: int, timeout: float | None = None) -> None:
            name = f"outage-{tag}-{n}"
            response = await client.post(
                "/api/organisations", json={"name": name}, timeout=timeout or httpx.USE_CLIENT_DEFAULT
            )
            assert response.status_code in (200, 503), response.text
            if response.status_code == 503:
                assert response.json()["error"] == "Database unavailable"
                assert int(response.headers["retry-after"]) >= 1
            outcomes.append((name, response.status_code))

        await asyncio.gather(*(create(n) for n in range(10)))
        assert [status for _, status in outcomes] == [200] * 10  # before: all served

        await relay.cut()
        # Bounded by the pool's wait, not the old 15 s: a slower answer is a client timeout here.
        during = await asyncio.gather(
            *(create(n, timeout=POOL_TIMEOUT + 10) for n in range(10, 16)), return_exceptions=True
        )
        assert not [e for e in during if isinstance(e, BaseException)], during
        assert {status for name, status in outcomes[10:]} == {503}
        health = await client.get("/api/health")
        assert health.status_code == 503 and health.json()["status"] == "degraded"

        await relay.open()
        for _ in range(50):  # the pool reconnects by itself
            if (await client.get("/api/health")).status_code == 200:
                break
            await asyncio.sleep(0.2)
        await asyncio.gather(*(create(n) for n in range(16, 26)))
        assert [status for _, status in outcomes[16:]] == [200] * 10

    created = {
        row["name"]
        for row in await db.fetch_all("select name from public.organisations where name like %s", (f"outage-{tag}-%",))
    }
    served = {name for name, status in outcomes if status == 200}
    assert created == served  # nothing lost, nothing written by a 503
    rows = await db.fetch_one("select count(*) as n from public.organisations where name like %s", (f"outage-{tag}-%",))
    assert rows["n"] == len(served)  # nothing duplicated
