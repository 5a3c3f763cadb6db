"""The scoring orchestrator driven through the SDK's real replay entry point
(the function the app registers, called with a context JSON of history events).
What it schedules and returns is what the task hub keeps: ids and the role's
context, never the transcript or the scores."""

import json

import pytest

from shared.scoring.models import ORCHESTRATOR
from tests.scoring.history import History, flat_actions
from tests.support import function_host

# Activity names are the functions' own names: the orchestrator passes the function objects.
LOAD_ACTIVITY, SCORE_ACTIVITY = "scoring_load_context", "scoring_score_and_save"
CALL_ACTIVITY, CREATE_TIMER = 0, 5

JOB = {
    "interviewId": "5b0c6f0e-8d3e-4c55-9a43-0f6a3f0b7e11",
    "overrides": {},
    "retry": {"firstRetryIntervalMs": 1000, "maxAttempts": 3},
}
LOADED = {"interviewId": JOB["interviewId"], "applicationId": "a", "jobTitle": "Engineer", "rubric": []}
SAVED = {"success": True, "interviewId": JOB["interviewId"], "humanOverride": False}


def replay(history: History) -> dict:
    orchestrator = function_host().functions[ORCHESTRATOR].get_user_function()
    return json.loads(orchestrator(history.context_json()))


def ok(value):
    return {"ok": True, "value": value, "status": 200, "error": "", "transient": False}


def failure(status, error, transient):
    return {"ok": False, "value": None, "status": status, "error": error, "transient": transient}


def called(state) -> list[str]:
    return [a["functionName"] for a in flat_actions(state) if a["actionType"] == CALL_ACTIVITY]


def test_every_activity_the_orchestrator_calls_is_registered_under_that_name():
    functions = function_host().functions
    for name in (LOAD_ACTIVITY, SCORE_ACTIVITY):
        assert functions[name].get_trigger().type == "activityTrigger"


def test_first_episode_schedules_loading():
    state = replay(History(ORCHESTRATOR, JOB))
    assert state["isDone"] is False
    [action] = flat_actions(state)
    assert action["actionType"] == CALL_ACTIVITY and action["functionName"] == LOAD_ACTIVITY
    assert json.loads(action["input"]) == JOB
    assert state["customStatus"]["step"] == "loading"


def test_happy_path_chains_load_then_score_and_save_and_returns_only_the_summary():
    history = History(ORCHESTRATOR, JOB).scheduled(0, LOAD_ACTIVITY).completed(0, ok(LOADED))
    state = replay(history)
    assert called(state) == [LOAD_ACTIVITY, SCORE_ACTIVITY]
    assert json.loads(flat_actions(state)[1]["input"]) == LOADED
    assert state["customStatus"]["step"] == "scoring" and not state["isDone"]

    history.scheduled(1, SCORE_ACTIVITY).completed(1, ok(SAVED))
    state = replay(history)
    assert state["isDone"] is True
    assert state["output"] == SAVED  # the scores are read from the database, never from the run
    assert state["customStatus"] == {"step": "completed", "message": "Scored"}


def test_a_transient_failure_waits_on_a_durable_timer_then_tries_again():
    history = (
        History(ORCHESTRATOR, JOB)
        .scheduled(0, LOAD_ACTIVITY)
        .completed(0, failure(503, "Database unavailable", transient=True))
    )
    state = replay(history)  # the retry pause is a durable timer, not a sleep
    assert not state["isDone"]
    assert [a["actionType"] for a in flat_actions(state)] == [CALL_ACTIVITY, CREATE_TIMER]

    history.retry_timer(1).scheduled(2, LOAD_ACTIVITY).completed(2, ok(LOADED))
    state = replay(history)
    assert not state["isDone"]
    assert called(state) == [LOAD_ACTIVITY, LOAD_ACTIVITY, SCORE_ACTIVITY]
    assert state["customStatus"]["step"] == "scoring"


def test_when_the_attempts_run_out_the_run_ends_with_the_last_failures_status():
    job = {**JOB, "retry": {"firstRetryIntervalMs": 1000, "maxAttempts": 2}}
    invalid = failure(502, "The AI model returned an invalid answer", transient=True)
    history = (
        History(ORCHESTRATOR, job)
        .scheduled(0, LOAD_ACTIVITY)
        .completed(0, ok(LOADED))
        .scheduled(1, SCORE_ACTIVITY)
        .completed(1, invalid)
        .retry_timer(2)
        .scheduled(3, SCORE_ACTIVITY)
        .completed(3, invalid)
    )
    state = replay(history)
    assert state["isDone"] is True
    assert state["output"] == {
        "success": False,
        "interviewId": JOB["interviewId"],
        "status": 502,
        "error": "The AI model returned an invalid answer",
    }
    assert state["customStatus"]["step"] == "failed"
    assert called(state) == [LOAD_ACTIVITY, SCORE_ACTIVITY, SCORE_ACTIVITY]


def test_an_unexplained_failure_ends_as_500_without_leaking_details():
    job = {**JOB, "retry": {"firstRetryIntervalMs": 1000, "maxAttempts": 1}}
    history = (
        History(ORCHESTRATOR, job)
        .scheduled(0, LOAD_ACTIVITY)
        .completed(0, failure(500, "Scoring failed", transient=True))
    )
    state = replay(history)
    assert state["isDone"] and state["output"]["status"] == 500 and state["output"]["error"] == "Scoring failed"


@pytest.mark.parametrize(
    "status, error", [(404, "Interview not found"), (400, "The transcript has no candidate speech to score")]
)
def test_a_permanent_failure_ends_at_once_without_retry_or_further_steps(status, error):
    history = (
        History(ORCHESTRATOR, JOB).scheduled(0, LOAD_ACTIVITY).completed(0, failure(status, error, transient=False))
    )
    state = replay(history)
    assert state["isDone"] is True
    assert state["output"] == {"success": False, "interviewId": JOB["interviewId"], "status": status, "error": error}
    assert called(state) == [LOAD_ACTIVITY]
    assert state["customStatus"] == {"step": "failed", "message": error}


def test_a_human_override_skips_scoring():
    loaded = {"interviewId": JOB["interviewId"], "humanOverride": True}
    history = History(ORCHESTRATOR, JOB).scheduled(0, LOAD_ACTIVITY).completed(0, ok(loaded))
    state = replay(history)
    assert state["isDone"] and state["output"] == {
        "success": True,
        "interviewId": JOB["interviewId"],
        "humanOverride": True,
    }
    assert called(state) == [LOAD_ACTIVITY]


def test_replaying_a_finished_history_gives_the_same_actions_and_output_every_time():
    history = (
        History(ORCHESTRATOR, JOB)
        .scheduled(0, LOAD_ACTIVITY)
        .completed(0, failure(502, "flaky", transient=True))
        .retry_timer(1)
        .scheduled(2, LOAD_ACTIVITY)
        .completed(2, ok(LOADED))
        .scheduled(3, SCORE_ACTIVITY)
        .completed(3, ok(SAVED))
    )
    first, second = replay(history), replay(history)
    assert first == second
    assert first["isDone"] and first["output"] == SAVED
    # The actions are the ones the history holds, in its order: nothing new is asked on replay.
    assert called(first) == [LOAD_ACTIVITY, LOAD_ACTIVITY, SCORE_ACTIVITY]
