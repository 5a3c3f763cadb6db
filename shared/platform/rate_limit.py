"""Rate limits shared by every instance: fixed-window counters in PostgreSQL.

One statement per check increments the caller's and the client IP's counters
for the current window and returns both counts; the request passes when each
is within its limit. Each increment is atomic, so with a limit of N exactly
N of any number of simultaneous requests pass.

The client address gets a multiple of the per-user budget
(RATE_LIMIT_IP_MULTIPLIER): a whole office behind one NAT address must not
share one user's allowance, while one address still cannot spin up users
without bound. An IPv6 client is counted by its /64 network: one subscriber
is given a whole /64 and can pick any of its 2^64 addresses per request.

Failed credentials (a wrong token, service key or webhook secret) count
against the client's address (Bucket.AUTH_FAILURES); past that budget the
address is answered 429 before its credentials are checked, so guessing a
secret costs a whole window per handful of tries.
"""

from __future__ import annotations

import ipaddress
import math
import time
from typing import TYPE_CHECKING, Any

from shared.platform import telemetry
from shared.platform.buckets import Bucket
from shared.platform.db import fetch_row
from shared.platform.errors import PaymentRequired, RateLimited

if TYPE_CHECKING:
    from shared.platform.db import Conn, Database


_CHECK_SQL = """
with window_start as (
    select to_timestamp(floor(extract(epoch from clock_timestamp()) / %(seconds)s) * %(seconds)s) as at
)
insert into app.rate_limit_counters as c (key, window_start, count)
select k, (select at from window_start), 1 from unnest(%(keys)s::text[]) as k
on conflict (key, window_start) do update set count = c.count + 1
returning c.key, c.count,
          extract(epoch from (c.window_start + make_interval(secs => %(seconds)s) - clock_timestamp())) as remaining
"""

_PURGE_SQL = "delete from app.rate_limit_counters where window_start < now() - interval '1 day'"


IPV6_PREFIX = 64


def address_key(address: str) -> str:
    """The rate-limit key of a client address: itself for IPv4, its /64 for IPv6."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"ip:{address[:64]}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is the IPv4 client a.b.c.d
            return f"ip:{ip.ipv4_mapped}"
        return f"ip:{ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False)}"
    return f"ip:{ip}"


def allowances(
    bucket: Bucket, count: int, ip_multiplier: int, *, user_key: str | None, ip_key: str | None
) -> dict[str, int]:
    """Counter key -> requests allowed in the window: the user's budget, the address's multiple of it."""
    allowed = {}
    if user_key is not None:
        allowed[f"{bucket}|{user_key}"] = count
    if ip_key is not None:
        allowed.setdefault(f"{bucket}|{ip_key}", count * ip_multiplier)
    return allowed


def refusal(rows: list[dict[str, Any]], allowed: dict[str, int]) -> tuple[int, int] | None:
    """(the limit that was passed, seconds until its window ends), or None when every count is within."""
    over = [row for row in rows if row["count"] > allowed[row["key"]]]
    if not over:
        return None
    return (min(allowed[row["key"]] for row in over), max(1, max(math.ceil(float(row["remaining"])) for row in over)))


async def count_in_window(conn: Conn, key: str, seconds: int) -> tuple[int, int]:
    """Count one more for `key` in the current fixed window, on the caller's connection:
    inside a transaction the count is undone with it, and the counter row stays locked
    until it ends, so concurrent callers take turns. Returns (the count now, seconds
    until the window ends). For quotas a feature checks itself, e.g. per organisation."""
    row = await fetch_row(conn, _CHECK_SQL, {"keys": [key], "seconds": seconds})
    return int(row["count"]), max(1, math.ceil(float(row["remaining"])))


class RateLimiter:
    def __init__(
        self, db: Database, limits: dict[Bucket, tuple[int, int]], enabled: bool = True, ip_multiplier: int = 5
    ):
        self.db = db
        self.limits = limits
        self.enabled = enabled
        self.ip_multiplier = ip_multiplier
        # Addresses past their failure budget -> when their window ends (monotonic).
        # Per instance: the database counter is shared, each instance learns on
        # the first failure it sees past the budget.
        self._locked_out: dict[str, float] = {}

    async def check(self, bucket: Bucket, *, user_key: str | None, ip_key: str | None) -> None:
        """Count one request for the user and the client address; raise 429 when either is over."""
        if not self.enabled or bucket not in self.limits:
            return
        count, seconds = self.limits[bucket]
        allowed = allowances(bucket, count, self.ip_multiplier, user_key=user_key, ip_key=ip_key)
        if not allowed:
            return
        rows = await self.db.fetch_all(_CHECK_SQL, {"keys": list(allowed), "seconds": seconds})
        refused = refusal(rows, allowed)
        if refused is not None:
            limit, retry_after = refused
            telemetry.rate_limit_refused.add(1, {"bucket": str(bucket)})
            raise RateLimited(
                retry_after,
                f"Rate limit exceeded: at most {limit} requests per {seconds} seconds. Please try again later.",
            )

    async def spend_model_budget(self, user_key: str) -> None:
        """Count one model request against the user's day; 402 "Usage limit" past it."""
        limit = self.limits.get(Bucket.AI_DAILY)
        if not self.enabled or limit is None:
            return
        count, seconds = limit
        refused = await self._count_one(f"{Bucket.AI_DAILY}|{user_key}", count, seconds)
        if refused is not None:
            raise PaymentRequired(
                f"Usage limit reached: at most {count} AI requests per user per day. "
                f"Try again in {math.ceil(refused[1] / 3600)} hour(s)."
            )

    def refuse_locked_out(self, ip_key: str) -> None:
        """429 for an address past its failure budget, before any credential is checked."""
        until = self._locked_out.get(ip_key)
        if until is None:
            return
        remaining = until - time.monotonic()
        if remaining <= 0:
            del self._locked_out[ip_key]
            return
        raise _too_many_failures(remaining)

    async def count_failure(self, ip_key: str) -> None:
        """Count a failed credential for the address; past the budget, raise 429 (and
        refuse the address's credentials until its window ends)."""
        limit = self.limits.get(Bucket.AUTH_FAILURES)
        if not self.enabled or limit is None:
            return
        count, seconds = limit
        refused = await self._count_one(f"{Bucket.AUTH_FAILURES}|{ip_key}", count, seconds)
        if refused is not None:
            if len(self._locked_out) > 10_000:  # bounded: forget the oldest lockouts first
                self._locked_out.pop(next(iter(self._locked_out)))
            self._locked_out[ip_key] = time.monotonic() + refused[1]
            raise _too_many_failures(refused[1])

    async def _count_one(self, key: str, count: int, seconds: int) -> tuple[int, int] | None:
        """Count one event under `key` in its window; (limit, seconds left) once past `count`."""
        allowed = {key: count}
        rows = await self.db.fetch_all(_CHECK_SQL, {"keys": list(allowed), "seconds": seconds})
        return refusal(rows, allowed)

    async def purge_expired(self) -> int:
        """Drop old windows (called by the scheduled retention run)."""
        return await self.db.execute(_PURGE_SQL)


def _too_many_failures(retry_after: float) -> RateLimited:
    telemetry.rate_limit_refused.add(1, {"bucket": str(Bucket.AUTH_FAILURES)})
    return RateLimited(
        math.ceil(retry_after),
        "Rate limit exceeded: too many failed sign-in or secret attempts from this address. Please try again later.",
    )
