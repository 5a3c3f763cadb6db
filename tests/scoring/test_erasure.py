"""Erasure reaches scoring's copies: after `anonymize` or `full_deletion`, neither the
status route nor a new score request answers with any of the candidate's words, and
the Durable task hub (the local runtime, as the functions use it) holds none. Runs
really score first (model double, local Durable runtime, real database)."""

import asyncio
import json

import pytest

from shared.platform.auth import SERVICE_CALLER
from shared.retention.deletion_requests import process_deletion_requests
from shared.scoring.service import ScoringSettings, instance_id_for, start_scoring
from tests.durable_runtime import durable_client
from tests.scoring.conftest import TRANSCRIPT, seed_interview
from tests.support import auth_headers, call_function

pytestmark = pytest.mark.usefixtures("scoring_services", "durable")

# What only the candidate said (their turns), and what the model wrote about them.
CANDIDATE_WORDS = ("payments platform", "idempotency keys", "A strong, clear candidate", "go deeper on trade-offs")


def task_hub_text(durable) -> str:
    """Everything the task hub keeps: every instance's input, history, status and output."""
    return json.dumps(
        [
            {"input": i.input, "history": i.history, "custom": i.custom_status, "output": i.output}
            for i in durable.instances.values()
        ],
        default=str,
    )


def words_in(text: str) -> list[str]:
    folded = " ".join(text.split()).casefold()
    return [words for words in CANDIDATE_WORDS if words.casefold() in folded]


async def score(interview, body=None):
    return await call_function(
        "score_interview",
        "POST",
        {"interviewId": str(interview.id), **(body or {})},
        auth_headers(interview.recruiter),
        path="/api/ai/score",
    )


async def poll(interview):
    return await call_function(
        "score_interview_status",
        "GET",
        headers=auth_headers(interview.recruiter),
        path=f"/api/ai/score/{interview.id}",
        path_params={"interviewId": str(interview.id)},
    )


async def scored_run_left_in_the_hub(db, durable):
    """An interview scored by a run nobody polled (as the call-ended event starts it): the
    finished instance stays in the task hub until something purges it."""
    interview = await seed_interview(db)
    client = durable_client(durable)
    run = await start_scoring(client, interview.id, ScoringSettings(1, 2, 0.05))
    await durable.instances[run.instance_id].runner
    assert durable.instances[run.instance_id].runtime_status == "Completed"
    candidate = await db.fetch_one(
        "select a.candidate_id from applications a where a.id = %s", (interview.application_id,)
    )
    return interview, candidate["candidate_id"], client


@pytest.fixture
def erase(db, auth_admin, cv_storage):  # Supabase Auth and Storage: the retention tests' doubles (conftest)
    async def erase(client, interview, candidate, kind):
        """Run the candidate's request (only their organisation's: other tests' requests are left alone)."""
        await erase_with(db, auth_admin, cv_storage, client, interview, candidate, kind)

    return erase


async def erase_with(db, auth_admin, cv_storage, client, interview, candidate, kind):
    await db.execute("insert into data_deletion_requests (user_id, request_type) values (%s, %s)", (candidate, kind))
    result = await process_deletion_requests(
        db,
        None,
        auth_admin,
        cv_storage=cv_storage,
        caller=SERVICE_CALLER,
        task_hub=client,
        organisation_id=interview.organisation_id,
    )
    assert [r.status for r in result.results] == ["completed"], result


async def test_a_run_keeps_no_candidate_words_in_the_task_hub(db, durable):
    interview, _, _ = await scored_run_left_in_the_hub(db, durable)
    assert words_in(task_hub_text(durable)) == []
    # The words are where they belong: in the database.
    assert words_in(json.dumps((await poll(interview)).json())) != []


async def test_a_finished_run_is_answered_from_the_database_and_its_history_purged(db, durable):
    interview, _, _ = await scored_run_left_in_the_hub(db, durable)
    await db.execute("update interview_scores set overall_score = 33 where interview_id = %s", (interview.id,))
    polled = await poll(interview)
    assert polled.status == 200 and polled.json()["overall_score"] == 33  # the record, not the run's output
    assert instance_id_for(interview.id) not in durable.instances
    assert instance_id_for(interview.id) in durable.purged
    scored = await score(await seed_interview(db))
    assert scored.status == 200
    assert instance_id_for(scored.json()["interviewId"]) not in durable.instances  # purged once answered


@pytest.mark.parametrize("kind", ["anonymize", "full_deletion"])
async def test_after_erasure_no_route_and_no_store_has_the_candidates_words(db, durable, model, erase, kind):
    interview, candidate, client = await scored_run_left_in_the_hub(db, durable)
    assert words_in(json.dumps((await poll(interview)).json()))  # before: the recruiter sees them

    await erase(client, interview, candidate, kind)

    assert instance_id_for(interview.id) not in durable.instances
    assert words_in(task_hub_text(durable)) == []
    polled = await poll(interview)
    assert words_in(polled.raw.decode()) == []
    assert polled.status == (200 if kind == "anonymize" else 404)
    asked = len(model.chat_requests)
    statuses = []
    for body in ({}, {"rescore": True}, {"rescore": True, "transcripts": TRANSCRIPT}):
        again = await score(interview, body)
        assert words_in(again.raw.decode()) == [], (body, again.status)
        statuses.append(again.status)
    # Anonymised: the kept score (without its texts), then never scored again; deleted: gone.
    assert statuses == ([200, 422, 422] if kind == "anonymize" else [404, 404, 404])
    # The supplied transcript of an erased interview is not scored: after anonymisation the
    # record keeps no transcript, and after full deletion there is no interview.
    assert all(words_in(json.dumps(r["messages"])) == [] for r in model.chat_requests[asked:])
    assert words_in(task_hub_text(durable)) == []


async def test_erasure_stops_a_running_scoring_and_nothing_is_saved_afterwards(db, durable, model, erase):
    from tests.doubles.openai_server import ScriptedReply
    from tests.scoring.conftest import scoring_answer

    def slow(request):
        reply: ScriptedReply = scoring_answer(request)
        reply.delay = 0.5
        return reply

    model.default_responder = slow
    interview = await seed_interview(db)
    candidate = (
        await db.fetch_one("select candidate_id from applications where id = %s", (interview.application_id,))
    )["candidate_id"]
    client = durable_client(durable)
    run = await start_scoring(client, interview.id, ScoringSettings(1, 1, 0.05))
    assert durable.instances[run.instance_id].runtime_status == "Running"

    await erase(client, interview, candidate, "anonymize")

    assert run.instance_id not in durable.instances
    await asyncio.sleep(0.8)  # the model's answer arrives after the erasure
    assert await db.fetch_all("select * from interview_scores where interview_id = %s", (interview.id,)) == []
