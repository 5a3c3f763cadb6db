"""The data export's one query shape: a registry rule's rows as a JSON array, the rule's
omitted columns dropped in the database (they never reach the app)."""

from __future__ import annotations

from typing import Any

from shared.platform.db import Conn, Id, fetch_one


async def consistent_snapshot(conn: Conn) -> None:
    """Every section read from the same snapshot, and nothing written."""
    await conn.execute("set transaction isolation level repeatable read, read only")


async def export_rows(conn: Conn, select: str, omit: tuple[str, ...], user_id: Id) -> list[Any]:
    # `select` is registry text (shared/retention/rules.py), never request input; the user is a parameter.
    row = await fetch_one(
        conn,
        f"""select coalesce(jsonb_agg(to_jsonb(x) - %(omit)s::text[]), '[]'::jsonb) as rows
              from ({select}) x""",
        {"user": user_id, "omit": list(omit)},
    )
    return list(row["rows"]) if row else []
