"""GET /api/me/data-export: every row about the signed-in user, from retention's
registry (shared/retention/rules.py EXPORT_RULES), read in one read-only snapshot."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.adapters.ports import Database
from shared.platform.logs import log_event
from shared.privacy import queries, rules
from shared.privacy.models import DataExport
from shared.retention.rules import EXPORT_RULES


async def export_my_data(db: Database, user_id: uuid.UUID) -> DataExport:
    """The user's rows, section by section; nothing about anyone else (each rule selects
    by this user's id, and drops other people's identities and secrets in the database)."""
    data = {}
    async with db.transaction() as conn:
        await queries.consistent_snapshot(conn)
        for rule in EXPORT_RULES:
            if rule.select is not None:
                data[rule.section] = await queries.export_rows(conn, rule.select, rule.omit, user_id)
    # Counts only: the rows are the person's and never reach a log line.
    log_event("privacy.data_exported", userId=str(user_id), rows=sum(len(rows) for rows in data.values()))
    return rules.build_document(user_id, data, EXPORT_RULES, datetime.now(UTC))
