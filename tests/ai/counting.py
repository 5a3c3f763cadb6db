"""A Database wrapper that counts the statements a service runs (tests and benchmarks)."""

from __future__ import annotations

from contextlib import asynccontextmanager


class CountingDatabase:
    def __init__(self, db):
        self.db = db
        self.queries = 0

    @asynccontextmanager
    async def connection(self):
        async with self.db.connection() as conn:
            yield _CountingConnection(conn, self)

    @asynccontextmanager
    async def transaction(self):
        async with self.db.transaction() as conn:
            yield _CountingConnection(conn, self)


class _CountingConnection:
    def __init__(self, conn, counter: CountingDatabase):
        self._conn = conn
        self._counter = counter

    async def execute(self, *args, **kwargs):
        self._counter.queries += 1
        return await self._conn.execute(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._conn, name)
