"""The audit_log table: every change the backend makes on someone's behalf."""

from __future__ import annotations

from typing import Any

from shared.platform.db import Conn, jsonb

_INSERT = """insert into public.audit_log
                 (user_id, organisation_id, action, entity_type, entity_id, old_values, new_values, ip_address)
             values (%s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s)"""


def _params(
    action: str,
    entity_type: str,
    entity_id: Any = None,
    user_id: Any = None,
    organisation_id: Any = None,
    old_values: Any = None,
    new_values: Any = None,
    ip_address: str | None = None,
) -> tuple[Any, ...]:
    return (
        user_id,
        organisation_id,
        action,
        entity_type,
        entity_id,
        None if old_values is None else jsonb(old_values),
        None if new_values is None else jsonb(new_values),
        ip_address,
    )


async def record(
    conn: Conn,
    *,
    action: str,
    entity_type: str,
    entity_id: Any = None,
    user_id: Any = None,
    organisation_id: Any = None,
    old_values: Any = None,
    new_values: Any = None,
    ip_address: str | None = None,
) -> None:
    await conn.execute(
        _INSERT, _params(action, entity_type, entity_id, user_id, organisation_id, old_values, new_values, ip_address)
    )


async def record_many(conn: Conn, entries: list[dict[str, Any]]) -> None:
    """Several entries (each with `record`'s keyword arguments) in one pipelined round trip."""
    if entries:
        async with conn.cursor() as cur:
            await cur.executemany(_INSERT, [_params(**entry) for entry in entries])
