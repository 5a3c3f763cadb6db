"""A request holds at most one pool connection at a time, rate limit check included,
so an instance's connections are bounded by its concurrent requests and, above that,
by the pool (DB_POOL_MAX): the number the connection budget multiplies by instances."""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager

import pytest

from tests.support import auth_headers, call_function, create_user

pytestmark = pytest.mark.usefixtures("services")


class CheckoutMeter:
    """Counts connections checked out of the app's pool (psycopg_pool getconn/putconn)."""

    def __init__(self, pool, monkeypatch):
        self.now = self.peak = self.checkouts = 0
        getconn, putconn = pool.getconn, pool.putconn

        async def counted_getconn(*args, **kwargs):
            conn = await getconn(*args, **kwargs)
            self.now += 1
            self.checkouts += 1
            self.peak = max(self.peak, self.now)
            return conn

        async def counted_putconn(conn):
            self.now -= 1
            await putconn(conn)

        monkeypatch.setattr(pool, "getconn", counted_getconn)
        monkeypatch.setattr(pool, "putconn", counted_putconn)


@asynccontextmanager
async def metered(services, monkeypatch):
    pool = await services.db._get_pool()
    with monkeypatch.context() as patch:
        yield CheckoutMeter(pool, patch)


async def test_the_meter_sees_two_connections_held_at_once(services, monkeypatch):
    """The probe itself: a nested checkout reads 2 (what the test below would show for a
    request whose rate limit check held a connection through its handler)."""
    async with metered(services, monkeypatch) as meter, services.db.connection(), services.db.transaction():
        pass
    assert (meter.peak, meter.checkouts, meter.now) == (2, 2, 0)


async def test_a_rate_limited_request_holds_one_connection_at_a_time(db, services, monkeypatch, unique_ip):
    user = await create_user(db)
    async with metered(services, monkeypatch) as meter:
        result = await call_function(
            "organisations", "POST", {"name": f"Budget {uuid.uuid4().hex[:6]}"}, auth_headers(user), client_ip=unique_ip
        )
    assert result.status == 200, result
    # The check's connection goes back to the pool before the handler's transaction takes one.
    assert (meter.peak, meter.checkouts, meter.now) == (1, 2, 0)


async def test_a_refused_request_takes_one_connection_and_never_reaches_the_handler(
    db, services, monkeypatch, unique_ip
):
    user = await create_user(db)
    await services.rate_limiter.db.execute(
        "insert into app.rate_limit_counters (key, window_start, count)"
        " select %s, to_timestamp(floor(extract(epoch from clock_timestamp()) / 60) * 60), 1000",
        (f"organisations|user:{user}",),
    )
    async with metered(services, monkeypatch) as meter:
        result = await call_function(
            "organisations", "POST", {"name": "Refused"}, auth_headers(user), client_ip=unique_ip
        )
    assert result.status == 429, result
    assert (meter.peak, meter.checkouts, meter.now) == (1, 1, 0)
