"""Database access: one async connection pool and a small query helper.

psycopg is imported on first use, not at module load, to keep cold start
short. Prepared statements are off so Supabase's transaction pooler works.

An outage is answered quickly: a connection is waited for at most
`pool_timeout` seconds, and a connection that cannot be had or breaks becomes
`DatabaseUnavailable` (503 with Retry-After). The pool reconnects by itself
once the server is back.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, nullcontext
from typing import TYPE_CHECKING, Any, TypeAlias
from uuid import UUID

from opentelemetry.trace import SpanKind

from shared.platform import telemetry
from shared.platform.errors import ServiceUnavailable

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool


Row: TypeAlias = dict[str, Any]  # rows come back as dicts (psycopg's dict_row)
Conn: TypeAlias = "AsyncConnection[Row]"
Id: TypeAlias = UUID | str  # a row id as a query parameter
Params: TypeAlias = Sequence[Any] | dict[str, Any] | None

CONNECT_TIMEOUT_SECONDS = 5


class DatabaseUnavailable(ServiceUnavailable):
    default_message = "Database unavailable"


class Database:
    """Pooled async PostgreSQL access. Services receive one of these."""

    def __init__(
        self, url: str | Callable[[], str], *, min_size: int = 1, max_size: int = 10, pool_timeout: float = 3.0
    ):
        # A callable is resolved in a worker thread on first use (it may start
        # an embedded server or run migrations, which block).
        self.url = url
        self._min_size = min_size
        self._max_size = max_size
        self._pool_timeout = pool_timeout
        self._pool: AsyncConnectionPool[AsyncConnection[Row]] | None = None
        self._opening = asyncio.Lock()

    async def _get_pool(self) -> AsyncConnectionPool[AsyncConnection[Row]]:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await self._open()
        return self._pool

    async def _open(self) -> AsyncConnectionPool[AsyncConnection[Row]]:
        if callable(self.url):
            self.url = await asyncio.to_thread(self.url)
        url: str = self.url
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        pool: AsyncConnectionPool[AsyncConnection[Row]] = AsyncConnectionPool(
            url,
            min_size=self._min_size,
            max_size=self._max_size,
            kwargs={
                "prepare_threshold": None,
                "row_factory": dict_row,
                "autocommit": True,
                "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                "cursor_factory": traced_cursor_class(),
            },
            open=False,
            timeout=self._pool_timeout,
            reconnect_timeout=0,  # keep trying in the background while the server is down
        )
        await pool.open(wait=False)
        return pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        """A connection in autocommit mode (each statement commits itself)."""
        import psycopg
        from psycopg_pool import PoolClosed, PoolTimeout

        pool = await self._get_pool()
        waiting = time.perf_counter()
        try:
            async with pool.connection() as conn:
                telemetry.db_pool_wait.record((time.perf_counter() - waiting) * 1000)
                yield conn
        except (PoolTimeout, PoolClosed, psycopg.OperationalError) as exc:  # PoolClosed: shutting down
            if isinstance(exc, psycopg.OperationalError) and not conn_broken(exc):
                raise
            telemetry.db_pool_exhausted.add(1, {"cause": type(exc).__name__})
            raise DatabaseUnavailable() from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """A connection inside one transaction: all or nothing."""
        async with self.connection() as conn, conn.transaction():
            yield conn

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        async with self.connection() as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchone()

    async def fetch_all(self, sql: str, params: Params = None) -> list[Row]:
        async with self.connection() as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchall()

    async def execute(self, sql: str, params: Params = None) -> int:
        async with self.connection() as conn:
            cur = await conn.execute(sql, params)
            return cur.rowcount


_traced_cursor: type | None = None


def traced_cursor_class() -> type:
    """The pool's cursor class: each statement is a CLIENT span whose `db.statement` is the SQL
    text alone (parameters never leave the process: they hold candidates' data)."""
    global _traced_cursor
    if _traced_cursor is None:
        from psycopg import AsyncCursor

        class TracedCursor(AsyncCursor[Row]):
            async def execute(self, query: Any, params: Params = None, **kwargs: Any) -> Any:  # type: ignore[override]
                with _statement_span(query, self.connection):
                    return await super().execute(query, params, **kwargs)

            async def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
                with _statement_span(query, self.connection):
                    await super().executemany(query, params_seq, **kwargs)

        _traced_cursor = TracedCursor
    return _traced_cursor


def _statement_span(query: Any, conn: Any) -> Any:
    if not telemetry.tracing():
        return nullcontext()
    if isinstance(query, bytes):
        text = query.decode(errors="replace")
    elif isinstance(query, str):
        text = query
    else:  # psycopg.sql.Composed: rendered with identifiers quoted, still no parameters
        try:
            text = query.as_string(conn)
        except Exception:
            text = "<composed statement>"
    text = " ".join(text.split())
    operation = text.split(" ", 1)[0].upper() if text else "SQL"
    return telemetry.tracer.start_as_current_span(
        f"{operation} postgresql",
        kind=SpanKind.CLIENT,
        attributes={"db.system": "postgresql", "db.operation": operation, "db.statement": text[:4000]},
    )


def conn_broken(exc: Exception) -> bool:
    """Whether an OperationalError means the server or the connection is gone
    (as opposed to, say, a statement the server refused)."""
    sqlstate = getattr(exc, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(("08", "57P"))  # connection exception, shutdown


async def fetch_one(conn: Conn, sql: str, params: Params = None) -> Row | None:
    """fetch_one on a connection the caller already holds (inside a transaction)."""
    cur = await conn.execute(sql, params)
    return await cur.fetchone()


async def fetch_row(conn: Conn, sql: str, params: Params = None) -> Row:
    """The one row a statement always returns (INSERT ... RETURNING)."""
    row = await fetch_one(conn, sql, params)
    if row is None:
        raise RuntimeError("the statement returned no row")
    return row


async def fetch_all(conn: Conn, sql: str, params: Params = None) -> list[Row]:
    cur = await conn.execute(sql, params)
    return await cur.fetchall()


def jsonb(value: Any) -> str:
    """Encode a value for a `%s::jsonb` parameter."""
    return json.dumps(value, default=str)
