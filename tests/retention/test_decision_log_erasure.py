"""The AI decision log (app.ai_decisions) goes with the candidate: a full deletion and
an anonymisation both remove every row about them, also their row of a call that
concerned other candidates too (a shortlist), whose rows stay."""

from datetime import UTC, datetime

import pytest

from shared.platform.auth import SERVICE_CALLER
from shared.platform.decision_log import Concerning, DecisionRecorder, ModelCall
from shared.retention.deletion_requests import process_deletion_requests
from tests.ai.decision_log import rows_about
from tests.ai.seed import create_org
from tests.support import create_user


def a_call(purpose: str, outcome="ok") -> ModelCall:
    return ModelCall(
        started_at=datetime.now(UTC),
        purpose=purpose,
        prompt_version="v1",
        model="gpt-test",
        input_sha256="ab" * 32,
        outcome=outcome,
        input_tokens=10,
        output_tokens=5,
        latency_ms=12,
    )


async def log(db, about: Concerning, *calls: ModelCall) -> None:
    recorder = DecisionRecorder(about)
    for call in calls:
        recorder(call)
    await recorder.flush(db)
    assert recorder.pending == []  # written


@pytest.mark.parametrize("kind", ["full_deletion", "anonymize"])
async def test_erasure_removes_the_candidates_decision_log_rows(
    db, cv_storage, store, auth_admin, supabase_double, kind
):
    org = await create_org(db, name="Decision Log Co")
    candidate, bystander = await create_user(db), await create_user(db)
    supabase_double.add_user(str(candidate))
    await log(db, Concerning([candidate]), a_call("parse_resume"))
    await log(db, Concerning([candidate], organisation_id=org), a_call("interviewer"), a_call("score", "failed"))
    await log(db, Concerning([bystander, candidate], organisation_id=org), a_call("shortlist"))
    assert len(await rows_about(db, candidate)) == 4
    request = await db.fetch_one(
        "insert into data_deletion_requests (user_id, request_type) values (%s, %s) returning id", (candidate, kind)
    )

    result = await process_deletion_requests(
        db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=None
    )

    assert (request["id"], "completed") in [(r.requestId, r.status) for r in result.results]
    assert await rows_about(db, candidate) == []
    [kept] = await rows_about(db, bystander)  # the shortlist call's other row stays
    assert kept["purpose"] == "shortlist" and kept["organisation_id"] == org


async def test_nothing_is_logged_about_a_candidate_who_asked_to_be_erased(db):
    """The erasure may run while the model answers (scoring's transcript then is gone):
    the row written afterwards must not outlive it."""
    candidate, other = await create_user(db), await create_user(db)
    await db.execute(
        "insert into data_deletion_requests (user_id, request_type) values (%s, 'anonymize')", (candidate,)
    )
    await log(db, Concerning([candidate, other]), a_call("shortlist"))
    assert await rows_about(db, candidate) == []
    assert len(await rows_about(db, other)) == 1
