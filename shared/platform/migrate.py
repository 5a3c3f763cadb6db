"""A small migration runner: plain SQL files applied in name order, each in
its own transaction, recorded in app.schema_migrations.

Run with `python -m shared.platform.migrate` (`make migrate`); development start-up
calls it automatically.

Every transaction starts by taking a transaction-scoped advisory lock and
setting its own timeouts with `set_config(..., is_local => true)`; nothing is
kept on the session between transactions. So the runner is safe through a
transaction-mode pooler (PgBouncer, Supavisor on port 6543), which may hand each
transaction to a different server connection: a session lock taken on one and
released on another would stay held for good. Under the lock the file is looked
up in app.schema_migrations again, so two runners at once apply each file once.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "infra" / "db" / "migrations"
_LOCK_ID = 7_246_115_001  # arbitrary, constant: "talenti migrations"

DEFAULT_LOCK_TIMEOUT_SECONDS = 10.0
DEFAULT_STATEMENT_TIMEOUT_SECONDS = 300.0

log = logging.getLogger(__name__)


class MigrationError(RuntimeError):
    """A migration file could not be applied; nothing of it was kept."""


def pending_files(applied: set[str], directory: Path = MIGRATIONS_DIR) -> list[Path]:
    return [p for p in sorted(directory.glob("*.sql")) if p.name not in applied]


def migrate(
    url: str,
    directory: Path = MIGRATIONS_DIR,
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
    statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT_SECONDS,
    connect: Callable[[], Any] | None = None,
) -> list[str]:
    """Apply pending migrations; return the names this run applied.

    `connect` returns the connection to use (autocommit, no prepared statements);
    by default one to `url`. Raises MigrationError when a file waits longer than
    `lock_timeout` seconds for a lock or runs longer than `statement_timeout`."""
    import psycopg

    if connect is None:

        def connect() -> Any:
            return psycopg.connect(url, autocommit=True, prepare_threshold=None)

    applied_now: list[str] = []
    with connect() as conn:
        with _locked(conn, lock_timeout, statement_timeout, "app.schema_migrations"):
            conn.execute("create schema if not exists app")
            conn.execute(
                "create table if not exists app.schema_migrations ("
                " name text primary key, applied_at timestamptz not null default now())"
            )
            applied = {row[0] for row in conn.execute("select name from app.schema_migrations")}
        for path in pending_files(applied, directory):
            with _locked(conn, lock_timeout, statement_timeout, path.name):
                done = conn.execute("select 1 from app.schema_migrations where name = %s", (path.name,)).fetchone()
                if done:  # another runner applied it while this one waited for the lock
                    continue
                conn.execute(path.read_text())
                conn.execute("insert into app.schema_migrations(name) values (%s)", (path.name,))
            log.info("applied migration %s", path.name)
            applied_now.append(path.name)
    return applied_now


@contextmanager
def _locked(conn: Any, lock_timeout: float, statement_timeout: float, what: str) -> Iterator[None]:
    """One transaction holding the migration lock, with its own timeouts; a lock or
    statement timeout becomes a MigrationError naming the file (the transaction is
    rolled back: nothing of the file stays)."""
    import psycopg.errors

    lock_ms, statement_ms = _ms(lock_timeout), _ms(statement_timeout)
    try:
        with conn.transaction():
            # The wait for another runner's lock lasts as long as that runner's file: bounded by
            # statement_timeout, not by lock_timeout (none yet, whatever the role's default).
            conn.execute(
                "select set_config('statement_timeout', %s, true), set_config('lock_timeout', '0', true)",
                (statement_ms,),
            )
            conn.execute("select pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            conn.execute("select set_config('lock_timeout', %s, true)", (lock_ms,))
            yield
    except psycopg.errors.LockNotAvailable as exc:
        raise MigrationError(
            f"migration {what} waited more than {lock_ms} ms for a lock another session holds "
            "(lock_timeout: MIGRATION_LOCK_TIMEOUT_SECONDS); nothing of it was applied. Find the blocking "
            "session in pg_stat_activity and pg_locks, let it finish, and run the migrations again."
        ) from exc
    except psycopg.errors.QueryCanceled as exc:
        raise MigrationError(
            f"migration {what} ran, or waited for another migration runner, longer than {statement_ms} ms "
            "(statement_timeout: MIGRATION_STATEMENT_TIMEOUT_SECONDS); nothing of it was applied."
        ) from exc


def _ms(seconds: float) -> str:
    return str(max(1, round(seconds * 1000)))


def main() -> int:
    from shared.platform.config import ConfigurationError, get_database_settings, resolve_migrations_url

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        settings = get_database_settings()
        url = resolve_migrations_url(settings)
        names = migrate(
            url,
            lock_timeout=settings.MIGRATION_LOCK_TIMEOUT_SECONDS,
            statement_timeout=settings.MIGRATION_STATEMENT_TIMEOUT_SECONDS,
        )
    except (ConfigurationError, MigrationError) as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    print(f"applied {len(names)} migration(s)" + (f": {', '.join(names)}" if names else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
