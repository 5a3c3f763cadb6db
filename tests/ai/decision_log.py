"""Helpers for the AI decision log's tests (app.ai_decisions)."""

from __future__ import annotations

import hashlib
import json

COLUMNS = (
    "call_id, occurred_at, purpose, organisation_id, candidate_id, interview_id, model, prompt_version, "
    "rubric_version, input_sha256, outcome, input_tokens, output_tokens, latency_ms"
)


def sent_digest(request: dict) -> str:
    """SHA-256 of what the model double received, as the log defines it: the messages
    and tools (when sent) as compact JSON with sorted keys."""
    payload = {"messages": request["messages"]}
    if request.get("tools"):
        payload["tools"] = request["tools"]
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


async def rows_about(db, candidate_id) -> list[dict]:
    return await db.fetch_all(
        f"select id, {COLUMNS} from app.ai_decisions where candidate_id = %s order by id", (candidate_id,)
    )


def assert_no_text(rows: list[dict], *texts: str) -> None:
    """No column of any row holds any of `texts` (prompts, answers, names)."""
    dumped = json.dumps(rows, default=str)
    for text in texts:
        assert text not in dumped, text
