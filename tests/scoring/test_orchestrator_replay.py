"""The scoring orchestrator driven through the SDK's real replay entry point
(the function the app registers, called with a context JSON of history events)."""

import json

import pytest

from shared.services.scoring import LOAD_ACTIVITY, ORCHESTRATOR, SAVE_ACTIVITY, SCORE_ACTIVITY
from tests.scoring.history import History, flat_actions
from tests.support import function_host

JOB = {"interviewId": "5b0c6f0e-8d3e-4c55-9a43-0f6a3f0b7e11", "overrides": {},
       "retry": {"firstRetryIntervalMs": 1000, "maxAttempts": 3}}
LOADED = {"interviewId": JOB["interviewId"], "applicationId": "a", "transcript": [], "rubric": []}
SCORED = {"interviewId": JOB["interviewId"], "result": {"success": True, "overall_score": 70}}
SAVED = {"success": True, "interviewId": JOB["interviewId"], "overall_score": 70}


def replay(history: History) -> dict:
    orchestrator = function_host().functions[ORCHESTRATOR].get_user_function()
    return json.loads(orchestrator(history.context_json()))


def ok(value):
    return {"ok": True, "value": value}


def test_first_episode_schedules_loading_with_retry_options():
    state = replay(History(ORCHESTRATOR, JOB))
    assert state["isDone"] is False
    [action] = flat_actions(state)
    assert action["actionType"] == 1 and action["functionName"] == LOAD_ACTIVITY
    assert json.loads(action["input"]) == JOB
    assert action["retryOptions"] == {"firstRetryIntervalInMilliseconds": 1000, "maxNumberOfAttempts": 3}
    assert state["customStatus"]["step"] == "loading"


def test_happy_path_chains_load_score_save_and_returns_the_saved_result():
    history = History(ORCHESTRATOR, JOB).scheduled(0, LOAD_ACTIVITY).completed(0, ok(LOADED))
    state = replay(history)
    assert [a["functionName"] for a in flat_actions(state)] == [LOAD_ACTIVITY, SCORE_ACTIVITY]
    assert json.loads(flat_actions(state)[1]["input"]) == LOADED
    assert state["customStatus"]["step"] == "scoring" and not state["isDone"]

    history.scheduled(1, SCORE_ACTIVITY).completed(1, ok(SCORED))
    state = replay(history)
    assert [a["functionName"] for a in flat_actions(state)] == [LOAD_ACTIVITY, SCORE_ACTIVITY, SAVE_ACTIVITY]
    assert json.loads(flat_actions(state)[2]["input"]) == SCORED
    assert state["customStatus"]["step"] == "saving"

    history.scheduled(2, SAVE_ACTIVITY).completed(2, ok(SAVED))
    state = replay(history)
    assert state["isDone"] is True
    assert state["output"] == SAVED
    assert state["customStatus"] == {"step": "completed", "message": "Scored"}


def test_a_failed_attempt_is_retried_after_the_timer_then_succeeds():
    history = (History(ORCHESTRATOR, JOB).scheduled(0, LOAD_ACTIVITY)
               .failed(0, "Activity function 'scoring_load_context' failed: connection refused"))
    state = replay(history)  # waiting for the retry timer: nothing new asked, nothing thrown
    assert not state["isDone"] and len(flat_actions(state)) == 1

    history.retry_timer(1).scheduled(2, LOAD_ACTIVITY).completed(2, ok(LOADED))
    state = replay(history)
    assert not state["isDone"]
    assert [a["functionName"] for a in flat_actions(state)] == [LOAD_ACTIVITY, SCORE_ACTIVITY]
    assert state["customStatus"]["step"] == "scoring"


def test_when_the_attempts_run_out_the_run_ends_with_the_steps_status():
    job = {**JOB, "retry": {"firstRetryIntervalMs": 1000, "maxAttempts": 2}}
    history = (History(ORCHESTRATOR, job).scheduled(0, LOAD_ACTIVITY).completed(0, ok(LOADED))
               .scheduled(1, SCORE_ACTIVITY).failed(1, "[status=502] The AI model returned an invalid answer")
               .retry_timer(2).scheduled(3, SCORE_ACTIVITY)
               .failed(3, "Activity function 'scoring_score_transcript' failed: "
                          "[status=502] The AI model returned an invalid answer")
               .retry_timer(4))
    state = replay(history)
    assert state["isDone"] is True
    assert state["output"] == {"success": False, "interviewId": JOB["interviewId"], "status": 502,
                               "error": "The AI model returned an invalid answer"}
    assert state["customStatus"]["step"] == "failed"
    assert SAVE_ACTIVITY not in [a["functionName"] for a in flat_actions(state)]


def test_an_unexplained_failure_ends_as_500_without_leaking_details():
    job = {**JOB, "retry": {"firstRetryIntervalMs": 1000, "maxAttempts": 1}}
    history = (History(ORCHESTRATOR, job).scheduled(0, LOAD_ACTIVITY)
               .failed(0, "OperationalError: password authentication failed for user postgres").retry_timer(1))
    state = replay(history)
    assert state["output"]["status"] == 500
    assert "password" not in json.dumps(state)


@pytest.mark.parametrize("status, error", [(404, "Interview not found"),
                                           (400, "The transcript has no candidate speech to score")])
def test_a_permanent_failure_ends_at_once_without_retry_or_further_steps(status, error):
    history = (History(ORCHESTRATOR, JOB).scheduled(0, LOAD_ACTIVITY)
               .completed(0, {"ok": False, "status": status, "error": error}))
    state = replay(history)
    assert state["isDone"] is True
    assert state["output"] == {"success": False, "interviewId": JOB["interviewId"], "status": status, "error": error}
    assert [a["functionName"] for a in flat_actions(state)] == [LOAD_ACTIVITY]
    assert state["customStatus"] == {"step": "failed", "message": error}


def test_a_human_override_report_skips_scoring():
    report = {"success": True, "interviewId": JOB["interviewId"], "humanOverride": True}
    history = History(ORCHESTRATOR, JOB).scheduled(0, LOAD_ACTIVITY).completed(0, ok({"report": report}))
    state = replay(history)
    assert state["isDone"] and state["output"] == report
    assert [a["functionName"] for a in flat_actions(state)] == [LOAD_ACTIVITY]


def test_replaying_a_finished_history_gives_the_same_actions_and_output_every_time():
    history = (History(ORCHESTRATOR, JOB).scheduled(0, LOAD_ACTIVITY).failed(0, "[status=502] flaky")
               .retry_timer(1).scheduled(2, LOAD_ACTIVITY).completed(2, ok(LOADED))
               .scheduled(3, SCORE_ACTIVITY).completed(3, ok(SCORED))
               .scheduled(4, SAVE_ACTIVITY).completed(4, ok(SAVED)))
    first, second = replay(history), replay(history)
    assert first == second
    assert first["isDone"] and first["output"] == SAVED
    # The actions are the ones the history holds, in its order: nothing new is asked on replay.
    assert [a["functionName"] for a in flat_actions(first)] == [LOAD_ACTIVITY, SCORE_ACTIVITY, SAVE_ACTIVITY]
