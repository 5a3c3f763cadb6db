"""AI usage rows (app.ai_usage) charged to a person lose the person, not the spend: a
full deletion and an anonymisation both set their user id null; the organisation's
cost stays, and other people's rows are untouched."""

import pytest

from shared.platform.auth import SERVICE_CALLER
from shared.retention.deletion_requests import process_deletion_requests
from tests.ai.seed import create_org
from tests.support import create_user

ROW = """insert into app.ai_usage (organisation_id, user_id, purpose, model, outcome, input_tokens, output_tokens,
                                  estimated_cost)
         values (%s, %s, 'interviewer', 'gpt-test', 'ok', 10, 20, 0.25) returning id"""


@pytest.mark.parametrize("kind", ["full_deletion", "anonymize"])
async def test_erasure_keeps_the_spend_without_the_person(db, cv_storage, store, auth_admin, supabase_double, kind):
    org = await create_org(db, name="Usage Erasure Co")
    candidate, bystander = await create_user(db), await create_user(db)
    supabase_double.add_user(str(candidate))
    theirs = [(await db.fetch_one(ROW, (o, candidate)))["id"] for o in (org, None)]
    other = (await db.fetch_one(ROW, (org, bystander)))["id"]
    await db.execute("insert into data_deletion_requests (user_id, request_type) values (%s, %s)", (candidate, kind))

    await process_deletion_requests(
        db, store, auth_admin, cv_storage=cv_storage, caller=SERVICE_CALLER, organisation_id=None
    )

    rows = await db.fetch_all(
        "select id, organisation_id, user_id, estimated_cost from app.ai_usage where id = any(%s) order by id",
        ([*theirs, other],),
    )
    by_id = {r["id"]: r for r in rows}
    assert [by_id[i]["user_id"] for i in theirs] == [None, None]
    assert by_id[theirs[0]]["organisation_id"] == org and float(by_id[theirs[0]]["estimated_cost"]) == 0.25
    assert by_id[other]["user_id"] == bystander
