"""The app against a plain FastAPI peer, side by side in one run.

Three servers on uvicorn, one process each, on the same fresh database, serve
GET /api/health (one `select 1`) and POST /api/organisations (HS256 token
check, body model, the rate-limit statement, the creation):
- app: this app's local host;
- peer: the plain FastAPI app (benchmarks/peer_app.py) creating the
  organisation as a plain app does, BEGIN, four inserts, COMMIT;
- peer-one: the same FastAPI app given the app's own one-statement creation,
  so app/peer-one is the framework and host alone.
The load client is raw asyncio sockets with keep-alive (parsing only the
status line, Content-Length or chunked framing), so it costs far less CPU than
the servers. Windows rotate server and endpoint (A B C, B C A, ...) so all see
the same machine noise.

Then the app's own CPU per request in process: the organisation function
called as the worker calls it (no local host, no HTTP server), against the
time its two statements take alone, and the peers' FastAPI apps called through
ASGI in the same way.

    .venv/bin/python -m benchmarks.bench_peer [--seconds 2] [--rounds 10] [--connections 8]
Goal: organisation creation throughput >= 1.1 x the plain peer's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import ROOT, bench_database

SUPABASE_URL = "http://127.0.0.1:9"  # nothing listens: tokens are checked locally
ISSUER = f"{SUPABASE_URL}/auth/v1"
# The servers, in report order: the app, the plain peer, the peer given the app's statement.
SERVERS = ("app", "peer", "peer-one")
PEER_CREATION = {"peer": "transaction", "peer-one": "one-statement"}
UNLIMITED = json.dumps({"organisations": "1000000/60"})  # the statement runs, the limit is never hit


# -- a light HTTP/1.1 keep-alive client on raw sockets ----------------------------


class Connection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked = None, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            body = bytearray()
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    return status, bytes(body)
                body += await self.reader.readexactly(size + 2)
                del body[-2:]
        return status, await self.reader.readexactly(length or 0)


def raw_request(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "host: 127.0.0.1", f"content-length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Window:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0  # CPU seconds of the server's process during the window
    db_cpu: float = 0.0  # and of the database's backends


async def load(port: int, make_request, connections: int, seconds: float) -> Window:
    """`connections` keep-alive connections, each sending back to back until the time is up."""
    window = Window()
    deadline = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        conn = Connection("127.0.0.1", port)
        await conn.open()
        try:
            while time.perf_counter() < deadline:
                raw, expect = make_request(index)
                started = time.perf_counter()
                status, _ = await conn.send(raw)
                if status == expect:
                    window.latencies_ms.append((time.perf_counter() - started) * 1000)
                else:
                    window.errors += 1
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    window.seconds = time.perf_counter() - started
    return window


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


# -- the two servers ---------------------------------------------------------------


def start_peer(env: dict[str, str], creation: str) -> tuple[subprocess.Popen, int]:
    import httpx

    from devhost.launch import free_port

    port = free_port()
    with open(Path(ROOT) / ".local" / f"peer-{port}.log", "wb") as log:  # the child keeps its own handle
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.peer_app", "--port", str(port), "--creation", creation],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return process, port
        except httpx.HTTPError:
            time.sleep(0.2)
        if process.poll() is not None:
            break
    process.kill()
    raise RuntimeError("the peer app did not start; see .local/peer-*.log")


async def create_users(database_url: str, count: int) -> list[uuid.UUID]:
    import psycopg

    users = [uuid.uuid4() for _ in range(count)]
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for user in users:
            await conn.execute(
                "insert into auth.users (id, email) values (%s, %s)", (user, f"{user.hex[:8]}@bench.test")
            )
    return users


def requests_for(tokens: list[str]):
    health = raw_request("GET", "/api/health")

    def health_request(_index: int):
        return health, 200

    def organisation_request(index: int):
        body = json.dumps(
            {
                "name": f"Peer bench {uuid.uuid4().hex[:8]}",
                "industry": "Software",
                "website": "https://bench.example",
                "billing_email": "billing@bench.example",
            }
        ).encode()
        return raw_request(
            "POST",
            "/api/organisations",
            {"authorization": f"Bearer {tokens[index % len(tokens)]}", "content-type": "application/json"},
            body,
        ), 200

    return {"GET /api/health": health_request, "POST /api/organisations": organisation_request}


async def measured_load(port: int, pid: int, database: str, make_request, connections: int, seconds: float) -> Window:
    """`load`, with the CPU the server and PostgreSQL spent meanwhile (a busy machine
    stretches wall time much more than CPU time)."""
    from benchmarks.common import backends_of, cpu_seconds

    backends = backends_of(database)
    server, db = cpu_seconds([pid]), cpu_seconds(backends)
    window = await load(port, make_request, connections, seconds)
    window.server_cpu, window.db_cpu = cpu_seconds([pid]) - server, cpu_seconds(backends) - db
    return window


async def side_by_side(
    ports: dict[str, int],
    pids: dict[str, int],
    database: str,
    tokens: list[str],
    *,
    seconds: float,
    rounds: int,
    connections: int,
) -> dict:
    requests = requests_for(tokens)
    windows: dict[tuple[str, str], list[Window]] = {(s, e): [] for s in ports for e in requests}
    for port in ports.values():  # warm-up: pools filled, code paths compiled
        for make in requests.values():
            await load(port, make, connections, 1.0)
    order = list(ports)
    for round_no in range(rounds):
        for endpoint, make in requests.items():
            shift = round_no % len(order)  # each server takes each place in turn
            for server in order[shift:] + order[:shift]:
                windows[(server, endpoint)].append(
                    await measured_load(ports[server], pids[server], database, make, connections, seconds)
                )
    figures = {}
    for endpoint in requests:  # each round's windows saw the same background load
        for peer in order[1:]:
            pairs = zip(windows[("app", endpoint)], windows[(peer, endpoint)], strict=True)
            figures[("paired", peer, endpoint)] = sorted(
                len(a.latencies_ms) / a.seconds / (len(b.latencies_ms) / b.seconds) for a, b in pairs
            )
    for (server, endpoint), runs in list(windows.items()):
        latencies = [x for w in runs for x in w.latencies_ms]
        total_seconds = sum(w.seconds for w in runs)
        figures[(server, endpoint)] = {
            "requests": len(latencies),
            "errors": sum(w.errors for w in runs),
            "throughput": len(latencies) / total_seconds,
            "p50": percentile(latencies, 0.50),
            "p99": percentile(latencies, 0.99),
            "server_cpu_ms": 1000 * sum(w.server_cpu for w in runs) / max(1, len(latencies)),
            "db_cpu_ms": 1000 * sum(w.db_cpu for w in runs) / max(1, len(latencies)),
        }
    return figures


# -- in-process cost -------------------------------------------------------------------


async def in_process(database_url: str, token: str, user: uuid.UUID, count: int) -> dict:
    """CPU per request with no HTTP server: the app's function as the worker calls it,
    the peers' FastAPI apps through ASGI, and the statements alone."""
    os.environ.update(
        {
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "DB_AUTO_MIGRATE": "false",
            "SUPABASE_URL": SUPABASE_URL,
            "LOG_LEVEL": "WARNING",
            "RATE_LIMITS": UNLIMITED,
        }
    )
    from shared.organisations.queries import CREATE_ORGANISATION_SQL
    from shared.platform.config import DEV_JWT_SECRET, reset_settings
    from shared.platform.db import Database, jsonb
    from shared.platform.rate_limit import _CHECK_SQL
    from tests.support import call_function

    reset_settings()
    headers = {"authorization": f"Bearer {token}"}

    def body() -> dict:
        return {
            "name": f"In process {uuid.uuid4().hex[:8]}",
            "industry": "Software",
            "website": "https://bench.example",
            "description": None,
            "billing_email": "billing@bench.example",
        }

    async def app_health() -> bool:
        return (await call_function("health", "GET")).status == 200

    async def app_organisation() -> bool:
        return (await call_function("organisations", "POST", body(), headers)).status == 200

    db = Database(database_url, min_size=1, max_size=2)

    async def sql_health() -> bool:
        return (await db.fetch_one("select 1 as ok")) is not None

    async def sql_organisation() -> bool:
        values = body()
        async with db.connection() as conn:
            await (
                await conn.execute(
                    _CHECK_SQL, {"keys": [f"organisations|user:{user}", "organisations|ip:x"], "seconds": 60}
                )
            ).fetchall()
            cur = await conn.execute(
                CREATE_ORGANISATION_SQL, {**values, "user_id": user, "ip_address": "x", "new_values": jsonb(values)}
            )
            return (await cur.fetchone()) is not None

    from benchmarks.peer_app import create_app, create_in_transaction

    async def sql_organisation_transaction() -> bool:
        """The plain peer's creation: BEGIN, four statements, COMMIT."""
        values = body()
        async with db.connection() as conn:
            await (
                await conn.execute(
                    _CHECK_SQL, {"keys": [f"organisations|user:{user}", "organisations|ip:x"], "seconds": 60}
                )
            ).fetchall()
            params = {**values, "user_id": user, "ip_address": "x", "new_values": jsonb(values)}
            return (await create_in_transaction(conn, params)) is not None

    peer = create_app(database_url, DEV_JWT_SECRET, ISSUER, pool_max=2, creation="transaction")
    peer_one = create_app(database_url, DEV_JWT_SECRET, ISSUER, pool_max=2, creation="one-statement")
    peer_headers = [(b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/json")]

    async def asgi(target, method: str, path: str, headers, payload: bytes) -> int:
        """One request through an ASGI app, no server: what the app adds above uvicorn."""
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [*headers, (b"content-length", str(len(payload)).encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        sent, status = False, 0

        async def receive():
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await target(scope, receive, send)
        return status

    import function_app
    from devhost.server import build_app
    from shared.platform.config import get_settings
    from tests.support import function_host

    # The local host's own Starlette app (routes, CORS) around the same functions, called through ASGI.
    local_host = build_app(function_app.app, cors_origins=get_settings().cors_origins, host=function_host())

    async def host_health() -> bool:
        return await asgi(local_host, "GET", "/api/health", [], b"") == 200

    async def host_organisation() -> bool:
        return await asgi(local_host, "POST", "/api/organisations", peer_headers, json.dumps(body()).encode()) == 200

    async def peer_health() -> bool:
        return await asgi(peer, "GET", "/api/health", [], b"") == 200

    async def peer_organisation() -> bool:
        return await asgi(peer, "POST", "/api/organisations", peer_headers, json.dumps(body()).encode()) == 200

    async def peer_one_organisation() -> bool:
        return await asgi(peer_one, "POST", "/api/organisations", peer_headers, json.dumps(body()).encode()) == 200

    cases = {
        "app: health": app_health,
        "app: organisations": app_organisation,
        "app through the local host's ASGI app: health": host_health,
        "app through the local host's ASGI app: organisations": host_organisation,
        "peer: health": peer_health,
        "peer: organisations (BEGIN, 4 inserts, COMMIT)": peer_organisation,
        "peer-one: organisations (the app's statement)": peer_one_organisation,
        "SQL alone: health": sql_health,
        "SQL alone: organisations (the app's statement)": sql_organisation,
        "SQL alone: organisations (BEGIN, 4 inserts, COMMIT)": sql_organisation_transaction,
    }
    results = {name: {"cpu": [], "wall": []} for name in cases}
    async with peer.router.lifespan_context(peer), peer_one.router.lifespan_context(peer_one):
        for case in cases.values():  # warm-up
            for _ in range(20):
                assert await case(), "an in-process request failed"
        for _ in range(count):  # interleaved, one at a time: CPU time is this process's alone
            for name, case in cases.items():
                cpu, wall = time.process_time(), time.perf_counter()
                ok = await case()
                results[name]["cpu"].append((time.process_time() - cpu) * 1000)
                results[name]["wall"].append((time.perf_counter() - wall) * 1000)
                assert ok, f"{name} failed"
    await db.close()
    from shared.platform.wiring import get_services

    await get_services().close()
    return {
        name: {"cpu_ms": statistics.mean(r["cpu"]), "wall_ms": statistics.median(r["wall"])}
        for name, r in results.items()
    }


# -- the run -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one window")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--in-process", type=int, default=300, help="requests per case in process")
    args = parser.parse_args(argv or [])  # `make bench` calls main() with its own argv in place

    from devhost.launch import start_devhost, stop
    from shared.platform.config import DEV_JWT_SECRET
    from tests.doubles.tokens import mint_hs256

    with bench_database() as url:
        users = asyncio.run(create_users(url, args.connections))
        tokens = [mint_hs256(DEV_JWT_SECRET, str(u), supabase_url=SUPABASE_URL) for u in users]
        env = {
            "APP_ENV": "test",
            "DATABASE_URL": url,
            "DB_AUTO_MIGRATE": "false",
            "LOG_LEVEL": "WARNING",
            "SUPABASE_URL": SUPABASE_URL,
            "SUPABASE_JWT_SECRET": DEV_JWT_SECRET,
            "SUPABASE_JWT_ISSUER": ISSUER,
            "RATE_LIMITS": UNLIMITED,
        }
        from psycopg.conninfo import conninfo_to_dict

        processes: dict[str, subprocess.Popen] = {}
        try:
            processes["app"], app_base = start_devhost(env)
            ports = {"app": int(app_base.rsplit(":", 1)[1])}
            for peer, creation in PEER_CREATION.items():
                processes[peer], ports[peer] = start_peer(env, creation)
            figures = asyncio.run(
                side_by_side(
                    ports,
                    {name: process.pid for name, process in processes.items()},
                    conninfo_to_dict(url)["dbname"],
                    tokens,
                    seconds=args.seconds,
                    rounds=args.rounds,
                    connections=args.connections,
                )
            )
        finally:
            for process in processes.values():
                stop(process)
        costs = asyncio.run(in_process(url, tokens[0], users[0], args.in_process))

    print(
        f"side by side: {args.rounds} rounds x {args.seconds:g} s windows per server and endpoint, "
        f"{args.connections} keep-alive connections, raw asyncio client\n"
        "  peer: plain FastAPI, creation as BEGIN, four inserts, COMMIT; peer-one: the same given the app's statement"
    )
    print(
        f"{'endpoint':<26}{'server':<10}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'server CPU/req':>16}{'db CPU/req':>12}"
    )
    summary: dict = {"load": {}, "ratios": {}, "in_process": costs}
    for endpoint in ("GET /api/health", "POST /api/organisations"):
        for server in SERVERS:
            f = figures[(server, endpoint)]
            summary["load"][f"{server} {endpoint}"] = f
            print(
                f"{endpoint:<26}{server:<10}{f['throughput']:8.1f}{f['p50']:9.2f}{f['p99']:9.2f}{f['errors']:8d}"
                f"{f['server_cpu_ms']:13.2f} ms{f['db_cpu_ms']:9.2f} ms"
            )
        app = figures[("app", endpoint)]
        for peer in SERVERS[1:]:
            other, paired = figures[(peer, endpoint)], figures[("paired", peer, endpoint)]
            ratios = {
                "throughput": app["throughput"] / other["throughput"],
                "p99": app["p99"] / other["p99"],
                "throughput_per_round_median": statistics.median(paired),
                "throughput_per_round_range": (paired[0], paired[-1]),
            }
            summary["ratios"][f"app/{peer} {endpoint}"] = ratios
            print(
                f"  app/{peer}: throughput x{ratios['throughput']:.2f} "
                f"(per round: median x{statistics.median(paired):.2f}, "
                f"x{paired[0]:.2f} to x{paired[-1]:.2f}), p99 x{ratios['p99']:.2f}"
            )
    print("in process, one request at a time (mean CPU of this process, median wall):")
    for name, c in costs.items():
        print(f"  {name:<54} cpu {c['cpu_ms']:6.2f} ms   wall {c['wall_ms']:6.2f} ms")
    creation = summary["ratios"]
    print(
        f"organisation creation throughput app/peer = {creation['app/peer POST /api/organisations']['throughput']:.2f}"
        " (goal >= 1.10); app/peer-one (framework and host alone) = "
        f"{creation['app/peer-one POST /api/organisations']['throughput']:.2f}"
    )
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
