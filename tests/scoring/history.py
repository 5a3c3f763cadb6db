"""Durable history JSON for driving an orchestrator through the SDK's replay entry
point, as the extension does: events with EventId, IsPlayed and Timestamp,
episodes framed by OrchestratorStarted / OrchestratorCompleted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


class History:
    def __init__(self, name: str, orchestration_input: Any, instance_id: str = "score-test"):
        self.instance_id = instance_id
        self.input = json.dumps(orchestration_input)
        self.events: list[dict] = []
        self.clock = START
        self._event(12)  # OrchestratorStarted
        self._event(0, Name=name, Version="", Input=self.input)  # ExecutionStarted

    def _event(self, kind: int, event_id: int = -1, **fields) -> None:
        self.clock += timedelta(milliseconds=10)
        self.events.append(
            {
                "EventType": kind,
                "EventId": event_id,
                "IsPlayed": False,
                "Timestamp": self.clock.isoformat().replace("+00:00", "Z"),
                **fields,
            }
        )

    def new_episode(self) -> None:
        """Close the current episode and open the next (what came before is played)."""
        self._event(13)
        for event in self.events:
            event["IsPlayed"] = True
        self._event(12)

    def scheduled(self, task_id: int, name: str) -> "History":
        self._event(4, task_id, Name=name)
        return self

    def completed(self, task_id: int, result: Any) -> "History":
        self.new_episode()
        self._event(5, TaskScheduledId=task_id, Result=json.dumps(result))
        return self

    def failed(self, task_id: int, reason: str) -> "History":
        self.new_episode()
        self._event(6, TaskScheduledId=task_id, Reason=reason, Details="Traceback: ...")
        return self

    def retry_timer(self, timer_id: int) -> "History":
        """The extension's retry pause: TimerCreated in the failure's episode, TimerFired in the next."""
        fire_at = (self.clock + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
        self._event(10, timer_id, FireAt=fire_at)
        self.new_episode()
        self._event(11, TimerId=timer_id, FireAt=fire_at)
        return self

    def context_json(self) -> str:
        return json.dumps(
            {
                "history": self.events,
                "instanceId": self.instance_id,
                "isReplaying": any(e["IsPlayed"] for e in self.events),
                "parentInstanceId": None,
                "input": self.input,
                "upperSchemaVersion": 1,
            }
        )


def flat_actions(state: dict) -> list[dict]:
    out = []
    for action in state["actions"]:
        if isinstance(action, list):
            out.extend(flat_actions({"actions": action}))
        elif "compoundActions" in action:
            out.extend(flat_actions({"actions": action["compoundActions"]}))
        else:
            out.append(action)
    return out
