"""A small migration runner: plain SQL files applied in name order, each in
its own transaction, recorded in app.schema_migrations.

Run with `python -m shared.platform.migrate` (`make migrate`); development start-up
calls it automatically. An advisory lock keeps concurrent runners apart.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "infra" / "db" / "migrations"
_LOCK_ID = 7_246_115_001  # arbitrary, constant: "talenti migrations"

log = logging.getLogger(__name__)


def pending_files(applied: set[str], directory: Path = MIGRATIONS_DIR) -> list[Path]:
    return [p for p in sorted(directory.glob("*.sql")) if p.name not in applied]


def migrate(url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; return the names applied."""
    import psycopg

    applied_now: list[str] = []
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        conn.execute("select pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            conn.execute("create schema if not exists app")
            conn.execute(
                "create table if not exists app.schema_migrations ("
                " name text primary key, applied_at timestamptz not null default now())"
            )
            applied = {row[0] for row in conn.execute("select name from app.schema_migrations")}
            for path in pending_files(applied, directory):
                with conn.transaction():
                    conn.execute(path.read_text())
                    conn.execute("insert into app.schema_migrations(name) values (%s)", (path.name,))
                log.info("applied migration %s", path.name)
                applied_now.append(path.name)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied_now


def main() -> int:
    from shared.platform.config import get_settings, resolve_database_url

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    url = resolve_database_url(get_settings())
    names = migrate(url)
    print(f"applied {len(names)} migration(s)" + (f": {', '.join(names)}" if names else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
