"""The embedded model end to end: a local host started with AI_PROVIDER=local
starts its own model server (devhost/local_model.py) and every AI call goes
through the app's adapter and prompts to SmolLM2 on this machine's CPU.

Skipped with the reason when the model is not installed (`make model`), except
under CI (CI=true), where `make test` installs it and a missing model fails."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support import require_usable_model

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / ".local" / "local-model-answers.json"


@pytest.fixture(scope="package")
def local_model_host(devhosts) -> str:
    require_usable_model()
    base = devhosts.start(
        {"AI_PROVIDER": "local", "LOG_LEVEL": "INFO", "SCORE_WAIT_SECONDS": "220", "RATE_LIMIT_ENABLED": "false"}
    )
    wait_for_model(base)
    return base


def wait_for_model(base_url: str, timeout: float = 300) -> None:
    """The host serves at once and prepares the model behind it (its AI endpoints
    answer 503 meanwhile); the tests start once the supervisor says it is ready,
    so loading competes with no request."""
    deadline = time.monotonic() + timeout
    log_path = host_log(base_url)
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        if "Local AI model: ready" in text:
            return
        if "Local AI model: unusable" in text:
            break
        time.sleep(0.5)
    pytest.fail(f"the local model did not become ready:\n{log_path.read_text()[-2000:] if log_path.exists() else ''}")


def host_log(base_url: str) -> Path:
    """Where devhost.launch writes the host's output (its logs included)."""
    return ROOT / ".local" / f"devhost-{base_url.rsplit(':', 1)[1]}.log"


_EVENT = re.compile(r"talenti (\{.*\})\s*$")


def ai_events(base_url: str) -> list[dict]:
    """The host's `ai.*` log events, in order."""
    events = []
    for line in host_log(base_url).read_text(errors="replace").splitlines():
        match = _EVENT.search(line)
        if match:
            try:
                event = json.loads(match.group(1))
            except ValueError:
                continue
            if str(event.get("event", "")).startswith("ai."):
                events.append(event)
    return events


def answer_report(events: list[dict]) -> dict:
    """Per purpose: model calls, calls without an answer (timeouts: the interviewer's
    competency assessment has 10 s), answers that needed a retry (`ai.invalid_answer`),
    answers that failed their retry too, repaired fields (`ai.repaired`); the repairs made."""
    calls = Counter(e["purpose"] for e in events if e["event"] == "ai.call")
    unanswered = Counter(e["purpose"] for e in events if e["event"] == "ai.call" and e.get("outcome") != "ok")
    invalid = Counter(e["purpose"] for e in events if e["event"] == "ai.invalid_answer")
    failed_twice = Counter(e["purpose"] for e in events if e["event"] == "ai.invalid_answer" and e.get("attempt") == 2)
    repaired = Counter(e["purpose"] for e in events if e["event"] == "ai.repaired")
    actions = Counter(
        f"{e['purpose']}: {e.get('field')}: {e.get('action')}" for e in events if e["event"] == "ai.repaired"
    )
    report = {
        purpose: {
            "calls": calls[purpose],
            "unanswered": unanswered[purpose],
            "retried": invalid[purpose],
            "failedTwice": failed_twice[purpose],
            "repairedFields": repaired[purpose],
        }
        for purpose in sorted(set(calls) | set(invalid) | set(repaired))
    }
    return {"purposes": report, "repairs": dict(actions.most_common(40))}
