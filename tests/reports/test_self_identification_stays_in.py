"""Self-identification reaches no other answer and no model prompt: the worked
example's candidates, with their words in candidate_dei, shortlisted by the model
double, then audited (the idea of tests/shortlist's DEI check, on these rows)."""

from __future__ import annotations

import json

import pytest

from tests.ai.seed import add_profile
from tests.reports.seed import SECRETS, worked_example
from tests.reports.test_bias_audit_http import report
from tests.shortlist.test_shortlist import rank_in_order
from tests.support import auth_headers, call_function

pytestmark = pytest.mark.usefixtures("ai_services")


async def test_the_shortlist_of_audited_candidates_carries_no_self_identification(db, model_double, unique_ip):
    org = await worked_example(db)
    for n, candidate in enumerate(org.candidates):
        await add_profile(db, candidate, skills=["React", "TypeScript"], first_name=f"Person-{n}")
    model_double.default_responder = rank_in_order(lambda ids: ids)
    shortlist = await call_function(
        "generate_shortlist",
        "POST",
        {"roleId": str(org.role), "limit": 10},
        auth_headers(org.recruiter),
        client_ip=unique_ip,
        path="/api/ai/generate-shortlist",
    )
    assert shortlist.status == 200, shortlist
    assert len(shortlist.json()["matches"]) == 10  # every audited candidate is in it
    audit = await report(auth_headers(org.admin), unique_ip, organisationId=org.id)
    assert audit.status == 200 and audit.json()["assessed"] == 10
    sent = json.dumps(model_double.chat_requests)
    assert sent.count("applicationId") >= 10  # the prompt was captured
    for text in (shortlist.raw.decode(), sent, audit.raw.decode()):
        for secret in SECRETS:
            assert secret not in text
