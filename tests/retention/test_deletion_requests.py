"""process_deletion_requests: each request type checked row by row afterwards,
against Azurite, the real database and Supabase Auth's double."""

import asyncio
import json
import uuid

import pytest

from shared.platform.auth import SERVICE_CALLER, Caller
from shared.retention.deletion_requests import process_deletion_requests
from tests.ai.seed import add_profile, create_role
from tests.retention.seed import (
    CV_BUCKET,
    audit_entries,
    existing_blobs,
    interview,
    org_with_retention,
    recorded_interview,
)
from tests.support import create_user

# Every table holding a candidate's rows, and how to count that candidate's rows in it.
CANDIDATE_ROWS = {
    "candidate_profiles": "select count(*) as n from candidate_profiles where user_id = %(u)s",
    "candidate_skills": "select count(*) as n from candidate_skills where user_id = %(u)s",
    "education": "select count(*) as n from education where user_id = %(u)s",
    "employment_history": "select count(*) as n from employment_history where user_id = %(u)s",
    "candidate_dei": "select count(*) as n from candidate_dei where user_id = %(u)s",
    "practice_interviews": "select count(*) as n from practice_interviews where user_id = %(u)s",
    "applications": "select count(*) as n from applications where candidate_id = %(u)s",
    "interviews": """select count(*) as n from interviews i join applications a on a.id = i.application_id
                     where a.candidate_id = %(u)s""",
    "transcript_segments": """select count(*) as n from transcript_segments t join interviews i on i.id = t.interview_id
                              join applications a on a.id = i.application_id where a.candidate_id = %(u)s""",
    "interview_scores": """select count(*) as n from interview_scores s join interviews i on i.id = s.interview_id
                           join applications a on a.id = i.application_id where a.candidate_id = %(u)s""",
    "score_dimensions": """select count(*) as n from score_dimensions s join interviews i on i.id = s.interview_id
                           join applications a on a.id = i.application_id where a.candidate_id = %(u)s""",
    "invitations": """select count(*) as n from invitations v join applications a on a.id = v.application_id
                      where a.candidate_id = %(u)s""",
    "score_reviews": """select count(*) as n from app.score_reviews r join interviews i on i.id = r.interview_id
                        join applications a on a.id = i.application_id where a.candidate_id = %(u)s""",
    # No foreign key to the interview (a full deletion removes that row first), so counted by
    # the event ids candidate_with_everything gives the candidate's call: "<user id>:<event>".
    "processed_events": "select count(*) as n from app.processed_events where event_id like %(u)s::text || ':%%'",
}


async def row_counts(db, user_id) -> dict[str, int]:
    return {table: (await db.fetch_one(sql, {"u": user_id}))["n"] for table, sql in CANDIDATE_ROWS.items()}


async def candidate_with_everything(db, blob_service, org_id, supabase_double=None):
    """A candidate with a profile, history, DEI data, a practice interview, and a
    recorded, transcribed, scored interview with an invitation."""
    candidate = await create_user(db)
    if supabase_double is not None:
        supabase_double.add_user(str(candidate))
    await add_profile(
        db,
        candidate,
        skills=["Python", "SQL"],
        dei={"gender": "woman", "ethnicity": "x", "disability_status": "none"},
        jobs=[("Engineer", "Acme", "2020-01-01", None, "Built things for Jane Citizen")],
    )
    await db.execute(
        """update candidate_profiles set phone = '+61 400 000 000', postcode = '2010', country = 'Australia',
                  linkedin_url = 'https://linkedin.example/in/jane', portfolio_url = 'https://jane.example',
                  work_rights = 'Temporary skill shortage visa', gpa_wam = 78.5,
                  cv_file_path = %s where user_id = %s""",
        (f"{candidate}/cv.pdf", candidate),
    )
    if supabase_double is not None:
        supabase_double.put_object(CV_BUCKET, f"{candidate}/cv.pdf", b"%PDF-1.7 Jane Citizen")
    await db.execute("insert into education (user_id, institution, degree) values (%s, 'UNSW', 'BSc')", (candidate,))
    await db.execute(
        "insert into practice_interviews (user_id, sample_role_type, feedback) values (%s, 'swe', '{}')", (candidate,)
    )
    recorded = await recorded_interview(db, blob_service, org_id, ended_days_ago=1, candidate=candidate)
    await db.execute(
        "insert into transcript_segments (interview_id, speaker, content, start_time_ms) "
        "values (%s, 'candidate', 'My name is Jane and I live in Surry Hills', 0)",
        (recorded.interview_id,),
    )
    await db.execute(
        """insert into interview_scores (interview_id, overall_score, narrative_summary, candidate_feedback,
                                                      scored_by) values (%s, 82, 'Jane was great', 'Well done Jane', 'ai')""",
        (recorded.interview_id,),
    )
    await db.execute(
        """insert into score_dimensions (interview_id, dimension, score, weight, evidence, cited_quotes)
                        values (%s, 'communication', 8.5, 0.3, 'Jane said...', %s::jsonb)""",
        (recorded.interview_id, json.dumps(["My name is Jane"])),
    )
    # A recruiter's review of the score (app.score_reviews, 011): its reason describes Jane.
    reviewer = await create_user(db)
    await db.execute(
        """insert into app.score_reviews (interview_id, organisation_id, reviewer_id, decision,
                                          previous_score, new_score, reason)
           values (%s, %s, %s, 'confirm', 82, 82, 'Jane explained it well')""",
        (recorded.interview_id, org_id, reviewer),
    )
    await db.execute(
        "insert into invitations (application_id, token, expires_at, status, email_template) "
        "values (%s, %s, now() + interval '7 days', 'opened', 'Dear Jane Citizen, ...')",
        (recorded.application_id, uuid.uuid4().hex),
    )
    # The call's events, as the events handler records them once processed (shared/calls/queries.py).
    await db.execute(
        """insert into app.processed_events (event_id, event_type, interview_id)
           values (%(u)s::text || ':started', 'Microsoft.Communication.CallStarted', %(i)s),
                  (%(u)s::text || ':ended', 'Microsoft.Communication.CallEnded', %(i)s)""",
        {"u": candidate, "i": recorded.interview_id},
    )
    # What the call events write into the interview's metadata (shared/calls/rules.py).
    await db.execute(
        """update interviews set metadata = metadata || %s::jsonb where id = %s""",
        (
            json.dumps(
                {
                    "correlationId": "corr-1",
                    "lastEventAt": "2026-11-01T09:00:00+00:00",
                    "participants": [
                        {"participantId": "8:acs:jane", "rawId": "8:acs:jane", "displayName": "Jane Citizen"}
                    ],
                }
            ),
            recorded.interview_id,
        ),
    )
    return candidate, recorded


async def request_deletion(db, user_id, kind: str) -> uuid.UUID:
    row = await db.fetch_one(
        "insert into data_deletion_requests (user_id, request_type, reason) "
        "values (%s, %s, 'I want my data gone') returning id",
        (user_id, kind),
    )
    return row["id"]


async def deletion_request(db, request_id) -> dict | None:
    return await db.fetch_one("select * from data_deletion_requests where id = %s", (request_id,))


async def test_full_deletion_removes_every_row_blob_and_the_auth_user(
    db, cv_storage, store, blob_service, auth_admin, supabase_double
):
    org = await org_with_retention(db, 60, name="Deletion Co")
    candidate, recorded = await candidate_with_everything(db, blob_service, org, supabase_double)
    bystander, bystander_interview = await candidate_with_everything(db, blob_service, org, supabase_double)
    before = await row_counts(db, bystander)
    request_id = await request_deletion(db, candidate, "full_deletion")

    result = await process_deletion_requests(
        db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=org
    )

    assert [(r.requestId, r.status) for r in result.results] == [(request_id, "completed")]
    assert result.requestsProcessed == 1
    assert await row_counts(db, candidate) == {table: 0 for table in CANDIDATE_ROWS}
    assert await existing_blobs(blob_service, recorded.blobs) == set()
    assert supabase_double.deleted_users == [str(candidate)]
    assert supabase_double.deleted_objects == [(CV_BUCKET, f"{candidate}/cv.pdf")]
    assert (CV_BUCKET, f"{bystander}/cv.pdf") in supabase_double.objects
    request = await deletion_request(db, request_id)
    assert request["status"] == "completed" and request["processed_by"] == "service"
    assert request["processed_at"] is not None and "auth user deleted" in request["notes"]
    assert "CV file deleted" in request["notes"]
    steps = [entry["action"] for entry in await audit_entries(db, request_id)]
    assert steps == [
        "data_deletion_request.claimed",
        "data_deletion_request.recordings_deleted",
        "data_deletion_request.cv_deleted",
        "data_deletion_request.candidate_data_deleted",
        "data_deletion_request.auth_user_deleted",
        "data_deletion_request.completed",
    ]
    # Someone else's data is untouched.
    assert await row_counts(db, bystander) == before
    assert await existing_blobs(blob_service, bystander_interview.blobs) == set(bystander_interview.blobs)


@pytest.mark.parametrize("kind, left", [("full_deletion", 0), ("anonymize", 2), ("recording_only", 2)])
async def test_processed_event_ids_go_with_a_full_deletion_and_only_the_candidates(
    db, cv_storage, store, blob_service, auth_admin, supabase_double, kind, left
):
    """app.processed_events has no foreign key to the interview: only the registry's
    statement removes its rows. Anonymising keeps them (event ids, types and the interview
    id; the retention timer purges them after 7 days)."""
    org = await org_with_retention(db, 60)
    candidate, recorded = await candidate_with_everything(db, blob_service, org, supabase_double)
    _, bystanders = await candidate_with_everything(db, blob_service, org, supabase_double)
    await request_deletion(db, candidate, kind)

    result = await process_deletion_requests(
        db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=org
    )

    assert [r.status for r in result.results] == ["completed"]
    events = "select count(*) as n from app.processed_events where interview_id = %s"
    assert (await db.fetch_one(events, (recorded.interview_id,)))["n"] == left
    assert (await db.fetch_one(events, (bystanders.interview_id,)))["n"] == 2


async def test_auth_failure_fails_the_request_and_a_rerun_completes_it(
    db, cv_storage, store, blob_service, auth_admin, supabase_double
):
    org = await org_with_retention(db, 60)
    candidate, _ = await candidate_with_everything(db, blob_service, org, supabase_double)
    request_id = await request_deletion(db, candidate, "full_deletion")
    supabase_double.fail_next(500, path="/auth/v1/admin/users")

    first = await process_deletion_requests(
        db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=org
    )

    assert [r.status for r in first.results] == ["failed"]  # tried once in a run, not again and again
    request = await deletion_request(db, request_id)
    assert request["status"] == "failed" and "auth user not deleted" in request["notes"]
    assert "500" in request["notes"]
    assert await row_counts(db, candidate) == {table: 0 for table in CANDIDATE_ROWS}  # not rolled back
    assert supabase_double.deleted_users == []

    second = await process_deletion_requests(
        db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=org
    )

    assert [(r.requestId, r.status) for r in second.results] == [(request_id, "completed")]
    assert supabase_double.deleted_users == [str(candidate)]
    assert (await deletion_request(db, request_id))["status"] == "completed"


async def test_an_auth_user_already_gone_counts_as_deleted(db, cv_storage, store, auth_admin):
    candidate = await create_user(db)  # unknown to Supabase Auth's double
    request_id = await request_deletion(db, candidate, "full_deletion")
    result = await process_deletion_requests(
        db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=None
    )
    assert (request_id, "completed") in [(r.requestId, r.status) for r in result.results]
    assert "auth user already deleted" in (await deletion_request(db, request_id))["notes"]


async def test_without_auth_admin_full_deletion_fails_with_the_reason(db, cv_storage, store, blob_service):
    org = await org_with_retention(db, 60)
    candidate, _ = await candidate_with_everything(db, blob_service, org)
    request_id = await request_deletion(db, candidate, "full_deletion")
    await process_deletion_requests(db, store, None, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=org)
    request = await deletion_request(db, request_id)
    assert request["status"] == "failed" and "SUPABASE_SERVICE_ROLE_KEY" in request["notes"]


async def test_recording_only_deletes_recordings_and_nothing_else(
    db, cv_storage, store, blob_service, auth_admin, supabase_double
):
    org = await org_with_retention(db, 60)
    candidate, recorded = await candidate_with_everything(db, blob_service, org, supabase_double)
    before = await row_counts(db, candidate)
    request_id = await request_deletion(db, candidate, "recording_only")

    result = await process_deletion_requests(
        db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=org
    )

    assert [r.status for r in result.results] == ["completed"]
    assert await existing_blobs(blob_service, recorded.blobs) == set()
    row = await interview(db, recorded.interview_id)
    assert row["recording_deleted_at"] is not None and row["recording_url"] is None
    assert not any("contentLocation" in chunk for chunk in row["metadata"]["recordings"])
    assert await row_counts(db, candidate) == before
    assert supabase_double.deleted_users == []
    [entry] = await audit_entries(db, recorded.interview_id, "interview.recording_deleted")
    assert entry["new_values"]["deletionRequestId"] == str(request_id)


async def test_anonymize_removes_personal_data_and_keeps_scores(
    db, cv_storage, store, blob_service, auth_admin, supabase_double
):
    org = await org_with_retention(db, 60)
    candidate, recorded = await candidate_with_everything(db, blob_service, org, supabase_double)
    request_id = await request_deletion(db, candidate, "anonymize")

    result = await process_deletion_requests(
        db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=org
    )

    assert [r.status for r in result.results] == ["completed"]
    profile = await db.fetch_one("select * from candidate_profiles where user_id = %s", (candidate,))
    assert (profile["first_name"], profile["last_name"]) == ("Anonymised", "Candidate")
    for column in (
        "email",
        "phone",
        "suburb",
        "state",
        "postcode",
        "country",
        "linkedin_url",
        "portfolio_url",
        "cv_file_path",
        "cv_uploaded_at",
        "work_rights",
        "gpa_wam",
        "availability",
        "work_mode",
    ):
        assert profile[column] is None, column
    counts = await row_counts(db, candidate)
    assert counts["candidate_dei"] == counts["education"] == counts["employment_history"] == 0
    assert counts["transcript_segments"] == counts["practice_interviews"] == 0
    assert counts["candidate_skills"] == 2 and counts["applications"] == 1 and counts["interviews"] == 1
    score = await db.fetch_one("select * from interview_scores where interview_id = %s", (recorded.interview_id,))
    assert score["overall_score"] == 82 and score["narrative_summary"] is None and score["candidate_feedback"] is None
    dimension = await db.fetch_one("select * from score_dimensions where interview_id = %s", (recorded.interview_id,))
    assert float(dimension["score"]) == 8.5 and dimension["evidence"] is None and dimension["cited_quotes"] is None
    # The review stays (the record of human oversight) without its reason.
    [kept] = await db.fetch_all("select * from app.score_reviews where interview_id = %s", (recorded.interview_id,))
    assert (kept["decision"], kept["new_score"], kept["reason"]) == ("confirm", 82, None)
    assert await existing_blobs(blob_service, recorded.blobs) == set()
    assert (await interview(db, recorded.interview_id))["recording_url"] is None
    assert supabase_double.deleted_users == []  # the login stays: that is full_deletion's job
    assert supabase_double.deleted_objects == [(CV_BUCKET, f"{candidate}/cv.pdf")]
    assert "data_deletion_request.anonymised" in [e["action"] for e in await audit_entries(db, request_id)]
    # No copies: the call's participants and ids in the metadata, the invitation's wording.
    metadata = (await interview(db, recorded.interview_id))["metadata"]
    assert set(metadata) <= {"lastEventAt", "recordings"} and "Jane" not in json.dumps(metadata)
    assert metadata["lastEventAt"] == "2026-11-01T09:00:00+00:00"
    # Each chunk as the events handler wrote it named the call and the recording in ACS: both go.
    kept = json.dumps(metadata)
    assert "serverCallId" not in kept and f"call-{recorded.interview_id}" not in kept and "documentId" not in kept
    assert [(c["index"], c["formatType"]) for c in metadata["recordings"]] == [(0, "Wav"), (1, "Wav")]
    invitation = await db.fetch_one(
        "select email_template, status from invitations where application_id = %s", (recorded.application_id,)
    )
    assert invitation == {"email_template": None, "status": "opened"}


async def test_a_failed_recording_delete_fails_the_request_before_any_row_is_touched(
    db, cv_storage, store, blob_service, auth_admin, supabase_double
):
    org = await org_with_retention(db, 60)
    candidate, recorded = await candidate_with_everything(db, blob_service, org, supabase_double)
    before = await row_counts(db, candidate)
    request_id = await request_deletion(db, candidate, "full_deletion")
    lease = await blob_service.get_container_client("recordings").get_blob_client(recorded.blobs[0]).acquire_lease(-1)
    try:
        await process_deletion_requests(
            db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=org
        )
    finally:
        await lease.release()
    request = await deletion_request(db, request_id)
    assert request["status"] == "failed" and "could not be deleted" in request["notes"]
    assert await row_counts(db, candidate) == before  # the rows still point at the blob that is left
    assert supabase_double.deleted_users == []
    assert supabase_double.deleted_objects == []  # nor is the CV touched before the recordings are gone


async def test_in_production_the_auth_deletion_cascades_and_the_run_still_finishes(
    db, cv_storage, store, blob_service, supabase_double, database_url
):
    """Supabase Auth deletes auth.users in the same database, which cascades to the
    request row itself: the outcome survives in audit_log."""
    import psycopg

    from shared.adapters.supabase_admin import SupabaseAdmin

    class CascadingAuth(SupabaseAdmin):
        async def delete_user(self, user_id) -> bool:
            existed = await super().delete_user(user_id)
            async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
                await conn.execute("delete from auth.users where id = %s", (user_id,))
            return existed

    supabase_double.reset()
    org = await org_with_retention(db, 60)
    candidate, _ = await candidate_with_everything(db, blob_service, org, supabase_double)
    request_id = await request_deletion(db, candidate, "full_deletion")

    result = await process_deletion_requests(
        db,
        store,
        CascadingAuth(supabase_double.url, supabase_double.service_role_key),
        cv_storage=cv_storage,
        caller=SERVICE_CALLER,
        organisation_id=org,
    )

    assert [r.status for r in result.results] == ["completed"]
    assert await deletion_request(db, request_id) is None
    [done] = await audit_entries(db, request_id, "data_deletion_request.completed")
    assert done["new_values"]["subjectUserId"] == str(candidate)


async def test_two_runs_at_once_claim_each_request_once(db, cv_storage, store, blob_service, auth_admin):
    org = await org_with_retention(db, 60)
    role = await create_role(db, org)
    requests = []
    for _ in range(8):
        recorded = await recorded_interview(db, blob_service, org, ended_days_ago=1, chunks=1, role_id=role)
        requests.append(await request_deletion(db, recorded.candidate_id, "recording_only"))

    first, second = await asyncio.gather(
        process_deletion_requests(
            db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=org
        ),
        process_deletion_requests(
            db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=org
        ),
    )

    claimed = [r.requestId for r in first.results + second.results]
    assert sorted(claimed) == sorted(requests)
    for request_id in requests:
        assert len(await audit_entries(db, request_id, "data_deletion_request.claimed")) == 1
        assert (await deletion_request(db, request_id))["status"] == "completed"


async def test_an_org_admin_processes_only_their_organisations_candidates(
    db, cv_storage, store, blob_service, auth_admin
):
    admin = await create_user(db)
    mine = await org_with_retention(db, 60, member=admin, role="org_admin")
    theirs = await org_with_retention(db, 60)
    own = await recorded_interview(db, blob_service, mine, ended_days_ago=1)
    other = await recorded_interview(db, blob_service, theirs, ended_days_ago=1)
    own_request = await request_deletion(db, own.candidate_id, "recording_only")
    other_request = await request_deletion(db, other.candidate_id, "recording_only")

    result = await process_deletion_requests(
        db, store, auth_admin, cv_storage=cv_storage, caller=Caller(user_id=admin), organisation_id=mine
    )

    assert [r.requestId for r in result.results] == [own_request]
    assert (await deletion_request(db, own_request))["processed_by"] == str(admin)
    assert (await deletion_request(db, other_request))["status"] == "pending"
    claimed = (await audit_entries(db, own_request, "data_deletion_request.claimed"))[0]
    assert claimed["user_id"] == admin and claimed["organisation_id"] == mine
    await db.execute("delete from data_deletion_requests where id = %s", (other_request,))  # leave no pending work


async def test_dry_run_lists_due_requests_and_changes_nothing(db, cv_storage, store, blob_service, auth_admin):
    org = await org_with_retention(db, 60)
    recorded = await recorded_interview(db, blob_service, org, ended_days_ago=1)
    request_id = await request_deletion(db, recorded.candidate_id, "full_deletion")
    result = await process_deletion_requests(
        db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=org, dry_run=True
    )
    assert [(r.requestId, r.status) for r in result.results] == [(request_id, "pending")]
    assert (await deletion_request(db, request_id))["status"] == "pending"
    assert await existing_blobs(blob_service, recorded.blobs) == set(recorded.blobs)
    assert await audit_entries(db, request_id) == []
    await db.execute("delete from data_deletion_requests where id = %s", (request_id,))


@pytest.mark.parametrize("stale, expected", [(True, ["completed"]), (False, [])])
async def test_a_request_abandoned_in_processing_is_taken_up_again(
    db, cv_storage, store, blob_service, auth_admin, stale, expected
):
    org = await org_with_retention(db, 60)
    recorded = await recorded_interview(db, blob_service, org, ended_days_ago=1)
    request_id = await request_deletion(db, recorded.candidate_id, "recording_only")
    await db.execute(
        "update data_deletion_requests set status = 'processing', processed_at = now() - %s::interval where id = %s",
        ("2 hours" if stale else "5 minutes", request_id),
    )
    result = await process_deletion_requests(
        db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=org
    )
    assert [r.status for r in result.results] == expected
    await db.execute("delete from data_deletion_requests where id = %s", (request_id,))
