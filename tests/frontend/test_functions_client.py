"""The frontend's own client against the app: `@supabase/functions-js` (and
supabase-js with the cutover's fetch wrapper) calling every former function by
name under /functions/v1, with the bodies the frontend sends, from Node.

The Node files make the calls and check what the frontend reads; the checks
here look at what the calls left behind (rows, emails, tokens issued)."""

from __future__ import annotations

from tests.frontend.node import chromium_path, run_node_tests

# Tests in each Node file (a file that lost a test fails here too).
CALLS = 15
USAGE_LIMIT = 1
CORS = 3
BROWSER = 2


async def test_every_former_name_answers_the_frontends_bodies(world, db, resend, acs_double, speech_double):
    run = run_node_tests("functions_client.test.mjs", world.fixture())
    run.assert_all_passed(CALLS)

    users, ids = world.users, world.ids
    created = await db.fetch_all(
        """select o.name, o.website, ou.role from organisations o join org_users ou on ou.organisation_id = o.id
           where ou.user_id = %s""",
        (users["creator"],),
    )
    assert [(r["name"], r["website"], r["role"]) for r in created] == [
        ("Acme Corporation", "https://acme.example", "admin")
    ]
    transcript = await db.fetch_all(
        "select speaker, content from transcript_segments where interview_id = %s order by start_time_ms, created_at",
        (ids["liveInterview"],),
    )
    assert [r["speaker"] for r in transcript] == ["candidate", "ai"]
    assert transcript[1]["content"].startswith("Welcome!")
    scores = await db.fetch_all(
        "select overall_score, scored_by from interview_scores where interview_id = %s", (ids["scoredInterview"],)
    )
    assert [(r["overall_score"], r["scored_by"]) for r in scores] == [(75, "ai")]
    [invitation] = await db.fetch_all(
        "select status, token from invitations where application_id = %s", (ids["application"],)
    )
    assert invitation["status"] == "sent"
    [email] = [e for e in resend.sent_emails if e["to"] == ["jordan.candidate@example.test"]]
    assert invitation["token"] in email["html"]
    assert acs_double.identities_created >= 1 and speech_double.tokens_issued >= 1


async def test_usage_limit_reaches_the_ui_as_the_former_function_said_it(world, openai_double):
    openai_double.fail_insufficient_credits()
    try:
        run = run_node_tests("usage_limit.test.mjs", world.fixture())
    finally:
        openai_double.reset()  # an unspent failure must not reach another test's call
    run.assert_all_passed(USAGE_LIMIT)


def test_cors_preflight_for_the_headers_supabase_js_sends(world):
    run = run_node_tests("cors.test.mjs", world.fixture(refusedOrigin="https://attacker.example"))
    run.assert_all_passed(CORS)


def test_the_client_in_a_browser_across_origins(world):
    fixture = world.fixture(chromium=chromium_path())
    run_node_tests("browser_client.test.mjs", fixture).assert_all_passed(BROWSER)
