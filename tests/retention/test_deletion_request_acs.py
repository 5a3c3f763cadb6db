"""Erasure deletes the candidate's identity in Azure Communication Services (the
real SDK against ACS's double): ACS then revokes its tokens and deletes what it keeps
for it, chat included. Before the mapping row goes, so a failure can be retried."""

import pytest

from shared.platform.auth import SERVICE_CALLER
from shared.retention.deletion_requests import process_deletion_requests
from tests.retention.seed import audit_entries, org_with_retention
from tests.retention.test_deletion_requests import candidate_with_everything, deletion_request, request_deletion


async def candidate_with_acs_identity(db, blob_service, acs, supabase_double):
    org = await org_with_retention(db, 60)
    candidate, _ = await candidate_with_everything(db, blob_service, org, supabase_double)
    identity, _ = await acs.create_user_with_token(["voip", "chat"])
    await db.execute(
        "insert into app.acs_identities (user_id, communication_user_id) values (%s, %s)", (candidate, identity)
    )
    return org, candidate, identity


async def mapped_identities(db, user_id) -> list[str]:
    rows = await db.fetch_all("select communication_user_id from app.acs_identities where user_id = %s", (user_id,))
    return [row["communication_user_id"] for row in rows]


async def process(db, store, auth_admin, cv_storage, org, acs):
    return await process_deletion_requests(
        db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=org, acs_identity=acs
    )


@pytest.mark.parametrize("kind", ["full_deletion", "anonymize"])
async def test_erasure_deletes_the_identity_in_acs_then_its_row(
    db, store, blob_service, auth_admin, cv_storage, supabase_double, acs, acs_double, kind
):
    org, candidate, identity = await candidate_with_acs_identity(db, blob_service, acs, supabase_double)
    request_id = await request_deletion(db, candidate, kind)

    result = await process(db, store, auth_admin, cv_storage, org, acs)

    assert [(r.requestId, r.status) for r in result.results] == [(request_id, "completed")]
    assert acs_double.deleted_identities == [identity]
    assert await mapped_identities(db, candidate) == []
    assert "ACS identity deleted" in (await deletion_request(db, request_id))["notes"]
    [entry] = await audit_entries(db, request_id, "data_deletion_request.acs_identity_deleted")
    assert entry["new_values"]["identities"] == 1 and entry["new_values"]["existed"] == 1
    # The token issued before is no use now: ACS no longer knows the identity.
    assert identity not in acs_double.identities


async def test_acs_down_fails_the_request_keeps_the_row_and_a_rerun_completes_it(
    db, store, blob_service, auth_admin, cv_storage, supabase_double, acs, acs_double
):
    org, candidate, identity = await candidate_with_acs_identity(db, blob_service, acs, supabase_double)
    request_id = await request_deletion(db, candidate, "full_deletion")
    acs_double.fail_next(503, path="/identities")

    first = await process(db, store, auth_admin, cv_storage, org, acs)

    assert [r.status for r in first.results] == ["failed"]
    notes = (await deletion_request(db, request_id))["notes"]
    assert "the ACS identity could not be deleted" in notes and "503" in notes
    assert await mapped_identities(db, candidate) == [identity]  # kept: the next run finds it
    assert acs_double.deleted_identities == []

    second = await process(db, store, auth_admin, cv_storage, org, acs)

    assert [(r.requestId, r.status) for r in second.results] == [(request_id, "completed")]
    assert acs_double.deleted_identities == [identity]
    assert await mapped_identities(db, candidate) == []


async def test_an_identity_already_gone_in_acs_counts_as_deleted(
    db, store, blob_service, auth_admin, cv_storage, supabase_double, acs, acs_double
):
    org, candidate, identity = await candidate_with_acs_identity(db, blob_service, acs, supabase_double)
    await acs.delete_user(identity)  # deleted in ACS by someone else
    request_id = await request_deletion(db, candidate, "anonymize")

    result = await process(db, store, auth_admin, cv_storage, org, acs)

    assert [r.status for r in result.results] == ["completed"]
    assert "ACS identity already deleted" in (await deletion_request(db, request_id))["notes"]
    assert await mapped_identities(db, candidate) == []


async def test_without_acs_configured_a_candidate_with_an_identity_is_not_erased_half_way(
    db, store, blob_service, auth_admin, cv_storage, supabase_double, acs
):
    org, candidate, identity = await candidate_with_acs_identity(db, blob_service, acs, supabase_double)
    request_id = await request_deletion(db, candidate, "full_deletion")

    result = await process(db, store, auth_admin, cv_storage, org, None)

    assert [r.status for r in result.results] == ["failed"]
    assert "ACS is not configured" in (await deletion_request(db, request_id))["notes"]
    assert await mapped_identities(db, candidate) == [identity]
    profile = await db.fetch_one("select count(*) as n from candidate_profiles where user_id = %s", (candidate,))
    assert profile["n"] == 1  # the rows wait for the identity
