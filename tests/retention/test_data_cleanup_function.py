"""POST /api/admin/data-cleanup and the retention timer, called as the worker calls them."""

import uuid

import pytest
from azure.functions.timer import TimerRequest  # the concrete request the worker passes

from shared.platform.config import DEV_SERVICE_KEY
from tests.retention.seed import interview, org_with_retention, recorded_interview
from tests.support import auth_headers, call_function, create_user, function_host

SERVICE = {"x-service-key": DEV_SERVICE_KEY}
pytestmark = pytest.mark.usefixtures("durable")


@pytest.fixture
def wired(services, store, auth_admin, monkeypatch):
    """The app's services with the recordings container in Azurite and Supabase Auth's double."""
    monkeypatch.setitem(services.__dict__, "recordings", store)
    monkeypatch.setitem(services.__dict__, "supabase_admin", auth_admin)
    return services


@pytest.fixture
def unlimited(wired, monkeypatch):
    """One request a minute per caller would make most tests wait; lifted here (restored afterwards)."""
    monkeypatch.setitem(wired.rate_limiter.limits, "admin/data-cleanup", (1000, 60))
    return wired


async def cleanup(body, headers, ip):
    return await call_function("data_cleanup", "POST", body, headers, client_ip=ip, path="/api/admin/data-cleanup")


async def test_service_key_cleans_up_with_the_contract_shape(db, blob_service, unlimited, unique_ip):
    org = await org_with_retention(db, 30, name="Function Co")
    due = await recorded_interview(db, blob_service, org, ended_days_ago=31)
    result = await cleanup({"action": "cleanup_recordings", "organisationId": str(org)}, SERVICE, unique_ip)
    assert result.status == 200, result
    body = result.json()
    assert set(body) == {"success", "totalDeleted", "organisationResults", "processedAt"}
    assert body["success"] is True and body["totalDeleted"] == 1
    assert body["organisationResults"] == [
        {"organisation": "Function Co", "retentionDays": 30, "interviewsProcessed": 1, "unmanagedRecordings": 0}
    ]
    assert (await interview(db, due.interview_id))["recording_deleted_at"] is not None


async def test_deletion_requests_answer_with_the_contract_shape(db, blob_service, unlimited, unique_ip):
    org = await org_with_retention(db, 30)
    recorded = await recorded_interview(db, blob_service, org, ended_days_ago=1)
    request = await db.fetch_one(
        "insert into data_deletion_requests (user_id, request_type) values (%s, 'recording_only') returning id",
        (recorded.candidate_id,),
    )
    result = await cleanup(
        {"action": "process_deletion_requests", "organisationId": str(org), "dryRun": None}, SERVICE, unique_ip
    )
    assert result.status == 200, result
    body = result.json()
    assert set(body) == {"success", "requestsProcessed", "results", "processedAt"}
    assert body["requestsProcessed"] == 1
    assert body["results"] == [{"requestId": str(request["id"]), "status": "completed"}]


async def test_an_org_admin_may_act_on_their_own_organisation_only(db, blob_service, unlimited, unique_ip):
    admin = await create_user(db)
    mine = await org_with_retention(db, 30, member=admin, role="admin")
    theirs = await org_with_retention(db, 30)
    due = await recorded_interview(db, blob_service, mine, ended_days_ago=31)

    other = await cleanup(
        {"action": "cleanup_recordings", "organisationId": str(theirs)}, auth_headers(admin), unique_ip
    )
    assert other.status == 403 and other.json()["error"]
    missing = await cleanup({"action": "cleanup_recordings"}, auth_headers(admin), unique_ip)
    assert missing.status == 400 and missing.json()["details"][0]["field"] == "organisationId"
    dry = await cleanup(
        {"action": "cleanup_recordings", "organisationId": str(mine), "dryRun": True}, auth_headers(admin), unique_ip
    )
    assert dry.status == 200 and dry.json()["totalDeleted"] == 1
    assert (await interview(db, due.interview_id))["recording_deleted_at"] is None
    audit = await db.fetch_one("select count(*) as n from audit_log where entity_id = %s", (due.interview_id,))
    assert audit["n"] == 0


@pytest.mark.parametrize("role", ["recruiter", "hiring_manager", "viewer", "member"])
async def test_other_org_roles_are_refused(db, unlimited, unique_ip, role):
    user = await create_user(db)
    org = await org_with_retention(db, 30, member=user, role=role)
    result = await cleanup({"action": "cleanup_recordings", "organisationId": str(org)}, auth_headers(user), unique_ip)
    assert result.status == 403


@pytest.mark.parametrize(
    "headers, status",
    [
        ({}, 401),
        ({"x-service-key": "wrong-key"}, 401),
        ({"authorization": "Bearer not.a.token"}, 401),
    ],
)
async def test_unauthenticated_callers_are_refused(wired, unique_ip, headers, status):
    result = await cleanup({"action": "cleanup_recordings"}, headers, unique_ip)
    assert result.status == status and result.json()["error"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"action": "delete_everything"}, "action"),
        ({}, "action"),
        ({"action": "cleanup_recordings", "organisationId": "not-a-uuid"}, "organisationId"),
        ({"action": "cleanup_recordings", "dryRun": "sometimes"}, "dryRun"),
    ],
)
async def test_invalid_bodies_get_400(unlimited, unique_ip, body, field):
    result = await cleanup(body, SERVICE, unique_ip)
    assert result.status == 400 and [d["field"] for d in result.json()["details"]] == [field]


async def test_unknown_organisation_is_404_and_missing_storage_503(unlimited, unique_ip, monkeypatch):
    result = await cleanup({"action": "cleanup_recordings", "organisationId": str(uuid.uuid4())}, SERVICE, unique_ip)
    assert result.status == 404
    monkeypatch.delitem(unlimited.__dict__, "recordings")  # the test settings name no storage
    result = await cleanup({"action": "cleanup_recordings"}, SERVICE, unique_ip)
    assert result.status == 503 and "RECORDINGS_STORAGE_CONNECTION_STRING" in result.json()["error"]


async def test_one_request_a_minute(db, wired, unique_ip):
    admin = await create_user(db)
    org = await org_with_retention(db, 30, member=admin, role="org_admin")
    body = {"action": "cleanup_recordings", "organisationId": str(org), "dryRun": True}
    assert (await cleanup(body, auth_headers(admin), unique_ip)).status == 200
    limited = await cleanup(body, auth_headers(admin), unique_ip)
    assert limited.status == 429 and limited.json()["retryAfter"] >= 1


async def test_the_timer_runs_both_actions_for_every_organisation_and_purges_old_rows(db, blob_service, wired):
    org = await org_with_retention(db, 30)
    due = await recorded_interview(db, blob_service, org, ended_days_ago=31)
    recent = await recorded_interview(db, blob_service, org, ended_days_ago=1)
    request = await db.fetch_one(
        "insert into data_deletion_requests (user_id, request_type) values (%s, 'recording_only') returning id",
        (recent.candidate_id,),
    )
    await db.execute(
        "insert into app.rate_limit_counters (key, window_start, count) "
        "values ('timer-test', now() - interval '2 days', 1)"
    )
    await db.execute(
        "insert into app.processed_events (event_id, event_type, processed_at) values "
        "('timer-old', 'x', now() - interval '8 days'), ('timer-new', 'x', now() - interval '1 day')"
    )

    await function_host().invoke("retention_timer", TimerRequest(past_due=False))

    assert (await interview(db, due.interview_id))["recording_deleted_at"] is not None
    assert (await interview(db, recent.interview_id))["recording_deleted_at"] is not None  # by the request
    row = await db.fetch_one("select status, processed_by from data_deletion_requests where id = %s", (request["id"],))
    assert (row["status"], row["processed_by"]) == ("completed", "service")
    assert await db.fetch_one("select 1 from app.rate_limit_counters where key = 'timer-test'") is None
    kept = await db.fetch_all("select event_id from app.processed_events where event_id like 'timer-%%'")
    assert [row["event_id"] for row in kept] == ["timer-new"]  # a day-old id still guards redelivery


async def test_the_timer_purges_decision_log_rows_older_than_the_configured_period(db, wired, monkeypatch):
    monkeypatch.setattr(wired.settings, "AI_DECISION_LOG_RETENTION_DAYS", 200)
    candidate = await create_user(db)
    for days in (201, 199):
        await db.execute(
            """insert into app.ai_decisions (call_id, occurred_at, purpose, candidate_id, model, prompt_version,
                                             input_sha256, outcome, latency_ms)
               values (gen_random_uuid(), now() - make_interval(days => %s), 'score', %s, 'm', 'v1',
                       repeat('a', 64), 'ok', 1)""",
            (days, candidate),
        )

    await function_host().invoke("retention_timer", TimerRequest(past_due=False))

    kept = await db.fetch_all(
        "select (now() - occurred_at) < interval '200 days' as recent from app.ai_decisions where candidate_id = %s",
        (candidate,),
    )
    assert [row["recent"] for row in kept] == [True]


def test_no_route_template_starts_with_a_segment_the_host_reserves():
    """The Functions host refuses templates starting with `admin` or `runtime`
    (whatever the route prefix); /api/admin/data-cleanup is served all the same."""
    from shared.platform.http import ENDPOINTS

    templates = [f.get_trigger().route for f in function_host().functions.values() if f.is_http_function()]
    assert not [t for t in templates if t.strip("/").lower().startswith(("admin", "runtime"))]
    assert "/api/admin/data-cleanup" in {spec.path for spec in ENDPOINTS.values()}
