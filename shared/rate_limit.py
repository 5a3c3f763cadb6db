"""Rate limits shared by every instance: fixed-window counters in PostgreSQL.

One statement per check increments the caller's and the client IP's counters
for the current window and returns both counts; the request passes when both
are within the limit. Each increment is atomic, so with a limit of N exactly
N of any number of simultaneous requests pass.
"""

from __future__ import annotations

import math

from shared.errors import RateLimited

_CHECK_SQL = """
with window_start as (
    select to_timestamp(floor(extract(epoch from clock_timestamp()) / %(seconds)s) * %(seconds)s) as at
)
insert into app.rate_limit_counters as c (key, window_start, count)
select k, (select at from window_start), 1 from unnest(%(keys)s::text[]) as k
on conflict (key, window_start) do update set count = c.count + 1
returning c.count,
          extract(epoch from (c.window_start + make_interval(secs => %(seconds)s) - clock_timestamp())) as remaining
"""

_PURGE_SQL = "delete from app.rate_limit_counters where window_start < now() - interval '1 day'"


class RateLimiter:
    def __init__(self, db, limits: dict[str, tuple[int, int]], enabled: bool = True):
        self.db = db
        self.limits = limits
        self.enabled = enabled

    async def check(self, route: str, keys: list[str]) -> None:
        """Count one request for each key on `route`; raise 429 when over the limit."""
        if not self.enabled or route not in self.limits:
            return
        count, seconds = self.limits[route]
        scoped = [f"{route}|{key}" for key in dict.fromkeys(keys)]
        rows = await self.db.fetch_all(_CHECK_SQL, {"keys": scoped, "seconds": seconds})
        if any(row["count"] > count for row in rows):
            retry_after = max(math.ceil(float(row["remaining"])) for row in rows)
            raise RateLimited(retry_after, f"Rate limit exceeded: at most {count} requests per "
                                           f"{seconds} seconds. Please try again later.")

    async def purge_expired(self) -> int:
        """Drop old windows (called by the scheduled retention run)."""
        return await self.db.execute(_PURGE_SQL)
