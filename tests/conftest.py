"""Test-wide fixtures: a real PostgreSQL (embedded through pgserver unless
TEST_DATABASE_URL names one), migrated once per session into a fresh
database, and the app's settings pointed at it."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Fixtures every feature's tests may use: the AI model's wire double and clients on it.
pytest_plugins = ["tests.ai.fixtures"]

# Settings for every test: set before the app is imported anywhere.
os.environ["APP_ENV"] = "test"
# Many tests present wrong credentials on purpose from the same few addresses; the
# failure budget has its own tests (tests/http/test_guessing.py), with its default.
os.environ.setdefault("RATE_LIMITS", '{"auth/failures": "100000/600"}')
os.environ.setdefault("SUPABASE_URL", "http://127.0.0.1:9")  # nothing listens: no accidental calls
for _name in (
    "AI_API_KEY",
    "AI_BASE_URL",
    "AI_MODEL",
    "AZURE_OPENAI_ENDPOINT",
    "ACS_CONNECTION_STRING",
    "AZURE_SPEECH_KEY",
    "RESEND_API_KEY",
    "RECORDINGS_STORAGE_CONNECTION_STRING",
):
    os.environ.pop(_name, None)


def _server_url() -> str:
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return explicit
    from shared.platform.embedded_db import start_embedded_postgres

    return start_embedded_postgres(ROOT / ".local" / "pg")


def _with_database(url: str, name: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    return make_conninfo(**{**conninfo_to_dict(url), "dbname": name})


@contextmanager
def fresh_database():
    """A new database with every migration applied, dropped afterwards."""
    import psycopg

    from shared.platform.migrate import migrate

    server = _server_url()
    name = f"talenti_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = _with_database(server, name)
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def database_url() -> str:
    """The session's database; the app's settings point at it."""
    from shared.platform.config import reset_settings

    with fresh_database() as url:
        os.environ["DATABASE_URL"] = url
        reset_settings()
        yield url


@pytest.fixture(scope="session")
async def db(database_url):
    from shared.platform.db import Database

    database = Database(database_url, min_size=1, max_size=20)
    yield database
    await database.close()


@pytest.fixture(scope="session")
async def services(database_url):
    """The app's process-wide services, pointed at the test database."""
    from shared.platform.config import reset_settings
    from shared.platform.wiring import Services, set_services

    reset_settings()
    svc = Services()
    set_services(svc)
    yield svc
    await svc.close()
    set_services(None)


@pytest.fixture
def unique_ip() -> str:
    """A client address of its own, so rate-limit counters never collide between tests."""
    return f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::1"  # documentation range, never contacted


@pytest.fixture(scope="session")
def devhost_env(database_url) -> dict[str, str]:
    """Environment of the local host under test; doubles add their URLs here."""
    return {
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "DB_AUTO_MIGRATE": "false",
        "SUPABASE_URL": os.environ["SUPABASE_URL"],
        "LOG_LEVEL": "WARNING",
        "RATE_LIMITS": os.environ["RATE_LIMITS"],
    }


class DevhostProcesses:
    """Starts the app under the local host in its own process, over real HTTP;
    each test package can start one with the environment its doubles need."""

    def __init__(self, base_env: dict[str, str]):
        self.base_env = base_env
        self.processes = []

    def start(self, extra_env: dict[str, str] | None = None) -> str:
        from devhost.launch import start_devhost

        env = {**self.base_env, **(extra_env or {})}
        process, base = start_devhost(env)
        self.processes.append(process)
        return base

    def stop_all(self) -> None:
        from devhost.launch import stop

        for process in self.processes:
            stop(process)


@pytest.fixture(scope="session")
def devhosts(devhost_env):
    """Factory: `devhosts.start({"AI_BASE_URL": ...})` returns a base URL."""
    processes = DevhostProcesses(devhost_env)
    yield processes
    processes.stop_all()


@pytest.fixture(scope="session")
def devhost(devhosts) -> str:
    """The app with no external services configured."""
    return devhosts.start()


@pytest.fixture(scope="session")
def azurite():
    """A real Azurite Blob service on loopback (npm package, installed by `make test`).

    Yields a connection string for the development account."""
    from devhost.azurite import AzuriteMissing, running_azurite

    try:
        with running_azurite(ROOT / ".local") as connection_string:
            yield connection_string
    except AzuriteMissing as missing:
        pytest.fail(str(missing))


# --- unit and io ------------------------------------------------------------------------------

# A test is "io" when it needs a server: the database, Azurite, a local host, a
# wire-level double (fixtures named *_double), or it lives in a folder whose
# tests drive processes; every other test is "unit" and runs in `make test-fast`.
IO_FIXTURES = frozenset({"database_url", "azurite", "devhosts"})
IO_FOLDERS = frozenset({"http", "frontend", "faults", "api_contract", "local_model", "deploy", "parity", "doubles"})


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        folder = Path(str(item.fspath)).relative_to(ROOT / "tests").parts[0]
        fixtures = set(getattr(item, "fixturenames", ()))
        io = (
            item.get_closest_marker("io") is not None
            or folder in IO_FOLDERS
            or fixtures & IO_FIXTURES
            or any(name.endswith("_double") for name in fixtures)
        )
        item.add_marker(pytest.mark.io if io else pytest.mark.unit)
        item.add_marker(pytest.mark.xdist_group(xdist_group(item)))
    if os.environ.get("PYTEST_XDIST_WORKER"):  # every worker collects, and must order, alike
        items.sort(key=start_rank)


# --- parallel runs (`make test`: pytest-xdist, --dist loadgroup) -----------------------------

# A worker runs whole groups: a module; or the tests on one set of session or package
# fixtures that start servers (so they start once per run, not once per worker); or the
# embedded model's tests (one model server and one self-test verdict file at a time).
MODEL_GROUP = "local_model"
PACKAGE_GROUPS = frozenset({"frontend", MODEL_GROUP})
# The longest groups start first, so that the other worker runs the rest meanwhile
# (measured: schemathesis runs for its whole time budget, 180 s; the model's tests
# about 130 s, the next longest group about 15 s). The rest keep their order.
LONG_FIRST = ("tests/api_contract/test_schemathesis.py", "api_contract", MODEL_GROUP)


def xdist_group(item) -> str:
    parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
    if parts[0] == MODEL_GROUP or parts[-1].startswith("test_local_model"):
        return MODEL_GROUP
    if parts[0] in PACKAGE_GROUPS:
        return parts[0]
    if "contract_host" in getattr(item, "fixturenames", ()):
        return "api_contract"
    return "/".join(("tests", *parts))


def start_rank(item) -> int:
    """Its place among LONG_FIRST (its module, else its group), else after them all."""
    group = xdist_group(item)
    for rank, name in enumerate(LONG_FIRST):
        if name in (group, Path(str(item.fspath)).relative_to(ROOT).as_posix()):
            return rank
    return len(LONG_FIRST)


# --- hermetic: loopback only ------------------------------------------------------------------

# Every socket the test process connects (sync, asyncio and httpx all end in socket.connect)
# must stay on this machine: a unix socket, 127.0.0.0/8 or ::1; a host name other than
# localhost is not even looked up. A unit test connects to nothing at all. The guard sees this
# process only (not the local hosts, Azurite or the model server it starts, nor libpq's own
# sockets): the addresses those are given are loopback ones.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})
LOOPBACK_ONLY = "tests reach only loopback (127.0.0.0/8, ::1, localhost) and unix sockets"


class NotHermetic(AssertionError):
    """A test reached past loopback, or a unit test connected at all."""


def _host(address) -> str | None:
    host = address[0] if isinstance(address, tuple) and address else address
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    return host if isinstance(host, str) else None


def _ip(host: str):
    import ipaddress

    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def on_loopback(family: int, address) -> bool:
    """Whether a connection to `address` stays on this machine."""
    import socket

    if family == socket.AF_UNIX:
        return True
    host = _host(address) if family in (socket.AF_INET, socket.AF_INET6) else None
    if host is None:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    ip = _ip(host)
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return ip is not None and (ip.is_loopback or (mapped is not None and mapped.is_loopback))


def resolved_locally(host) -> bool:
    """Whether getaddrinfo answers for `host` without asking a name server."""
    if host is None:
        return True
    name = _host(host)
    return name is not None and (name == "" or name.lower() in LOOPBACK_NAMES or _ip(name) is not None)


class ConnectionGuard:
    def __init__(self):
        self.unit_test: str | None = None  # the unit test running, if one is

    def check(self, sock, address) -> None:
        if self.unit_test is not None:
            raise NotHermetic(f"unit test connected to {address!r}: mark it io or use an io fixture")
        if not on_loopback(sock.family, address):
            raise NotHermetic(f"a test connected to {address!r}: {LOOPBACK_ONLY}")


@pytest.fixture(scope="session", autouse=True)
def _connection_guard():
    """Installed before any other session fixture starts a server or opens a connection."""
    import socket

    guard = ConnectionGuard()
    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def guarded_connect(self, address):
        guard.check(self, address)
        return connect(self, address)

    def guarded_connect_ex(self, address):
        guard.check(self, address)
        return connect_ex(self, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if not resolved_locally(host):
            raise NotHermetic(f"a test looked up {host!r}: {LOOPBACK_ONLY}")
        return getaddrinfo(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", guarded_connect)
        patch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
        patch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
        yield guard


@pytest.fixture(autouse=True)
def _unit_tests_make_no_connections(request, _connection_guard):
    """A unit test that opens a connection is an io test in disguise: fail it."""
    if request.node.get_closest_marker("unit") is None:
        yield
        return
    _connection_guard.unit_test = request.node.nodeid
    try:
        yield
    finally:
        _connection_guard.unit_test = None


@pytest.fixture
def telemetry_capture():
    """Spans and metrics the app records during this test (tests/telemetry.py)."""
    from tests.telemetry import Capture

    capture = Capture.start()
    yield capture
    capture.stop()
