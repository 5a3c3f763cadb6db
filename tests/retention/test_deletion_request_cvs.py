"""The candidate's CV file under full_deletion and anonymize: deleted from CV
storage (the Supabase double's bucket, or a container in Azurite) before the
profile row that points at it changes, and only inside the candidate's own folder."""

import hashlib
import json
import logging
import uuid

import pytest

from shared.platform.auth import SERVICE_CALLER
from shared.platform.errors import UpstreamError
from shared.retention.deletion_requests import process_deletion_requests
from tests.ai.seed import add_profile
from tests.retention.seed import CV_BUCKET, audit_entries
from tests.support import create_user

PDF = b"%PDF-1.7 Jane Citizen's CV"


class SupabaseCvs:
    lease = None

    def __init__(self, double, storage):
        self.double, self.storage = double, storage

    async def put(self, path):
        self.double.put_object(CV_BUCKET, path, PDF)

    async def exists(self, path) -> bool:
        return (CV_BUCKET, path) in self.double.objects

    def fail_next_delete(self):
        self.double.fail_next(500, path=f"/storage/v1/object/{CV_BUCKET}")


class BlobCvs:
    def __init__(self, container, storage):
        self.container, self.storage = container, storage
        self.lease = None

    async def put(self, path):
        await self.container.upload_blob(path, PDF, overwrite=True)

    async def exists(self, path) -> bool:
        return await self.container.get_blob_client(path).exists()


@pytest.fixture(params=["supabase", "blob"])
def cvs(request, supabase_double, supabase_cv_storage, blob_service, blob_cv_storage):
    if request.param == "supabase":
        supabase_double.reset()
        return SupabaseCvs(supabase_double, supabase_cv_storage)
    return BlobCvs(blob_service.get_container_client(CV_BUCKET), blob_cv_storage)


async def candidate_with_cv(db, cvs, path_of=lambda user: f"{user}/cv.pdf", upload=True):
    candidate = await create_user(db)
    await add_profile(db, candidate)
    path = path_of(candidate)
    await db.execute(
        "update candidate_profiles set cv_file_path = %s, cv_uploaded_at = now() where user_id = %s", (path, candidate)
    )
    if upload:
        await cvs.put(path)
    return candidate, path


async def request_deletion(db, user_id, kind) -> uuid.UUID:
    return (
        await db.fetch_one(
            "insert into data_deletion_requests (user_id, request_type) values (%s, %s) returning id", (user_id, kind)
        )
    )["id"]


async def run(db, cv_storage, auth_admin):
    # No interviews, so no recordings store is needed.
    return await process_deletion_requests(db, None, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER)


async def request_row(db, request_id) -> dict:
    return await db.fetch_one("select status, notes from data_deletion_requests where id = %s", (request_id,))


async def cv_path_of(db, user_id):
    row = await db.fetch_one("select cv_file_path from candidate_profiles where user_id = %s", (user_id,))
    return row and row["cv_file_path"]


@pytest.mark.parametrize("kind", ["full_deletion", "anonymize"])
async def test_the_cv_file_is_deleted(db, cvs, auth_admin, kind):
    candidate, path = await candidate_with_cv(db, cvs)
    bystander, other_path = await candidate_with_cv(db, cvs)
    request_id = await request_deletion(db, candidate, kind)

    await run(db, cvs.storage, auth_admin)

    assert not await cvs.exists(path)
    assert await cvs.exists(other_path)
    assert await cv_path_of(db, candidate) is None
    assert await cv_path_of(db, bystander) == other_path
    request = await request_row(db, request_id)
    assert "CV file deleted" in request["notes"]
    assert request["status"] == "completed"
    [entry] = await audit_entries(db, request_id, "data_deletion_request.cv_deleted")
    assert entry["new_values"]["existed"] is True and path not in str(entry["new_values"])  # no file name kept


async def test_a_cv_file_already_gone_counts_as_deleted(db, cvs, auth_admin):
    candidate, _ = await candidate_with_cv(db, cvs, upload=False)
    request_id = await request_deletion(db, candidate, "anonymize")
    await run(db, cvs.storage, auth_admin)
    request = await request_row(db, request_id)
    assert request["status"] == "completed" and "CV file already deleted" in request["notes"]
    assert await cv_path_of(db, candidate) is None


OTHER = uuid.UUID(int=7)  # someone else's folder


@pytest.mark.parametrize(
    "path_of, target_of, own_folder",
    [
        (lambda user: f"{OTHER}/cv.pdf", lambda user: f"{OTHER}/cv.pdf", False),
        (lambda user: f"{user}/../{OTHER}/cv.pdf", lambda user: f"{OTHER}/cv.pdf", False),
        (lambda user: f"/{user}/cv.pdf", lambda user: f"{user}/cv.pdf", True),
        (lambda user: f"{user}\\cv.pdf", lambda user: f"{user}/cv.pdf", True),
        (lambda user: f"{user}x/cv.pdf", lambda user: f"{user}x/cv.pdf", False),
    ],
    ids=["other-folder", "traversal", "leading-slash", "backslash", "folder-prefix"],
)
async def test_a_path_outside_the_candidates_folder_is_reported_and_never_deleted(
    db, cvs, auth_admin, path_of, target_of, own_folder, caplog
):
    candidate, path = await candidate_with_cv(db, cvs, path_of=path_of, upload=False)
    target = target_of(candidate)
    await cvs.put(target)  # a real file where the path points (or would, normalised)
    request_id = await request_deletion(db, candidate, "anonymize")

    await run(db, cvs.storage, auth_admin)

    # The malformed path is never used; a file inside the candidate's own folder goes with the folder.
    assert await cvs.exists(target) is not own_folder
    request = await request_row(db, request_id)
    assert request["status"] == "completed"
    assert "CV path outside the candidate's folder was reported, not deleted" in request["notes"]
    # The path is free text that may name the candidate: only its hash is kept, in the audit log and the log.
    [entry] = await audit_entries(db, request_id, "data_deletion_request.cv_not_deleted")
    digest = hashlib.sha256(path.encode()).hexdigest()
    assert entry["new_values"]["unmanagedCvPathSha256"] == digest
    assert path not in json.dumps(entry["new_values"]) and "unmanagedCvPath" not in entry["new_values"]
    [logged] = [r for r in caplog.records if "retention.unmanaged_cv_path" in r.getMessage()]
    assert logged.levelno == logging.WARNING and digest in logged.getMessage() and path not in logged.getMessage()
    assert await audit_entries(db, request_id, "data_deletion_request.cv_deleted") == []


async def test_a_storage_failure_fails_the_request_and_a_rerun_completes_it(db, cvs, auth_admin):
    candidate, path = await candidate_with_cv(db, cvs)
    request_id = await request_deletion(db, candidate, "anonymize")
    if isinstance(cvs, SupabaseCvs):
        cvs.fail_next_delete()
    else:  # a leased blob cannot be deleted (412)
        cvs.lease = await cvs.container.get_blob_client(path).acquire_lease(-1)

    first = await run(db, cvs.storage, auth_admin)

    assert (request_id, "failed") in [(r.requestId, r.status) for r in first.results]
    request = await request_row(db, request_id)
    assert "FAILED: the CV file could not be deleted" in request["notes"]
    assert "retried on the next run" in request["notes"]
    assert await cvs.exists(path)
    profile = await db.fetch_one(
        "select first_name, cv_file_path from candidate_profiles where user_id = %s", (candidate,)
    )
    assert profile == {"first_name": "Alex", "cv_file_path": path}  # nothing anonymised while the file exists
    if cvs.lease is not None:
        await cvs.lease.release()

    second = await run(db, cvs.storage, auth_admin)

    assert (request_id, "completed") in [(r.requestId, r.status) for r in second.results]
    assert not await cvs.exists(path)
    assert await cv_path_of(db, candidate) is None


async def test_without_cv_storage_the_request_fails_with_the_reason_and_keeps_the_rows(db, cvs, auth_admin):
    candidate, path = await candidate_with_cv(db, cvs)
    request_id = await request_deletion(db, candidate, "full_deletion")
    await run(db, None, auth_admin)
    request = await request_row(db, request_id)
    assert request["status"] == "failed" and "CV storage is not configured" in request["notes"]
    assert await cv_path_of(db, candidate) == path and await cvs.exists(path)
    await db.execute("delete from data_deletion_requests where id = %s", (request_id,))  # leave no due work


async def test_without_cv_storage_an_anonymisation_fails_even_with_no_cv_on_file(db, auth_admin):
    """Older CVs may still be in the candidate's folder: without CV storage nobody can
    tell, so the request is not called done (it is retried once storage is configured)."""
    candidate = await create_user(db)
    await add_profile(db, candidate)
    request_id = await request_deletion(db, candidate, "anonymize")
    await run(db, None, auth_admin)
    request = await request_row(db, request_id)
    assert request["status"] == "failed" and "CV folder could not be checked" in request["notes"]
    profile = await db.fetch_one("select first_name from candidate_profiles where user_id = %s", (candidate,))
    assert profile["first_name"] != "Anonymised"  # nothing half-done
    await db.execute("delete from data_deletion_requests where id = %s", (request_id,))  # leave no due work


async def test_adapters_answer_whether_the_file_existed(cvs):
    path = f"{uuid.uuid4()}/cv.pdf"
    await cvs.put(path)
    assert await cvs.storage.delete(path) is True
    assert not await cvs.exists(path)
    assert await cvs.storage.delete(path) is False


async def test_an_unreachable_supabase_is_an_upstream_error():
    from shared.adapters.cv_storage import SupabaseCvStorage

    storage = SupabaseCvStorage(url="http://127.0.0.1:9", service_role_key="k", bucket=CV_BUCKET)
    try:
        with pytest.raises(UpstreamError):
            await storage.delete("someone/cv.pdf")
    finally:
        await storage.close()


@pytest.mark.parametrize("kind", ["anonymize", "full_deletion"])
async def test_erasure_empties_the_candidates_whole_cv_folder_and_nothing_else(db, cvs, auth_admin, kind):
    candidate, path = await candidate_with_cv(db, cvs)
    older = [f"{candidate}/cv-2024.pdf", f"{candidate}/archive/cv-2023.pdf"]  # no row names these any more
    others = [f"{OTHER}/cv.pdf", f"{candidate}x/cv.pdf"]  # another folder; a folder whose name only starts alike
    for name in older + others:
        await cvs.put(name)
    request_id = await request_deletion(db, candidate, kind)

    await run(db, cvs.storage, auth_admin)

    assert [name for name in [path, *older] if await cvs.exists(name)] == []
    assert [name for name in others if await cvs.exists(name)] == others
    request = await request_row(db, request_id)
    assert request["status"] == "completed" and "2 more files in the CV folder deleted" in request["notes"]
    [entry] = await audit_entries(db, request_id, "data_deletion_request.cv_folder_deleted")
    assert entry["new_values"]["objects"] == 2


async def test_a_large_cv_folder_is_listed_page_by_page(db, supabase_double, cv_storage, auth_admin):
    candidate = await create_user(db)
    names = [f"{candidate}/v{index:03}.pdf" for index in range(130)]
    for name in names:
        supabase_double.put_object(CV_BUCKET, name, PDF)
    await request_deletion(db, candidate, "full_deletion")

    await run(db, cv_storage, auth_admin)

    assert not [key for key in supabase_double.objects if key[1].startswith(f"{candidate}/")]
    assert supabase_double.list_requests.count((CV_BUCKET, f"{candidate}/")) == 2  # 100, then 30


async def test_a_listing_failure_fails_the_request_and_leaves_the_rows(db, supabase_double, cv_storage, auth_admin):
    candidate = await create_user(db)
    await add_profile(db, candidate)
    supabase_double.fail_next(500, path=f"/storage/v1/object/list/{CV_BUCKET}")
    request_id = await request_deletion(db, candidate, "full_deletion")

    await run(db, cv_storage, auth_admin)

    request = await request_row(db, request_id)
    assert request["status"] == "failed" and "CV folder could not be emptied" in request["notes"]
    assert await db.fetch_one("select 1 from candidate_profiles where user_id = %s", (candidate,))
