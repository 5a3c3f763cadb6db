"""The scoring steps on a real PostgreSQL: loading the context and saving the
result (one transaction, idempotent, human overrides kept)."""

import copy

import pytest
from psycopg.errors import CheckViolation

from shared.platform.errors import BadRequest, NotFound
from shared.scoring.rules import DEFAULT_RUBRIC_VERSION, HUMAN_OVERRIDE_MESSAGE
from shared.scoring.service import load_context, run_step, save_result
from tests.scoring.conftest import score_rows, seed_interview


def job(interview_id, **overrides):
    return {"interviewId": str(interview_id), "overrides": overrides}


def scored(interview, overall=74, scores=(7.0, 8.0)):
    dims = [
        {
            "dimension": "technical_skills",
            "score": scores[0],
            "weight": 0.6,
            "evidence": "Solid design.",
            "cited_quotes": ["event-driven design"],
        },
        {"dimension": "communication", "score": scores[1], "weight": 0.4, "evidence": "Clear.", "cited_quotes": []},
    ]
    result = {
        "success": True,
        "interviewId": str(interview.id),
        "dimensions": dims,
        "overall_score": overall,
        "narrative_summary": "Good.",
        "candidate_feedback": "Keep going.",
        "anti_cheat_risk_level": "low",
        "anti_cheat_notes": "None.",
        "humanOverride": False,
        "message": None,
    }
    return {
        "interviewId": str(interview.id),
        "applicationId": str(interview.application_id),
        "result": result,
        "modelVersion": "gpt-test-scoring",
        "promptVersion": "scoring-v1",
        "rubricVersion": "custom-abc",
    }


async def application_status(db, application_id):
    return (await db.fetch_one("select status from applications where id = %s", (application_id,)))["status"]


# --- loading ---------------------------------------------------------------------


async def test_load_context_uses_the_role_the_organisation_and_the_stored_transcript(db):
    interview = await seed_interview(
        db, rubric={"technical_skills": {"weight": 2}, "communication": {"weight": 2}}, values=["Ownership", "Care"]
    )
    context = await load_context(
        db, job(interview.id, jobTitle="Forged", orgValues=["Forged"], requirements={"skills": ["Forged"]})
    )
    assert context["jobTitle"] == "Platform Engineer"  # the record wins over the request
    assert context["requirements"]["skills"] == ["React", "TypeScript", "GraphQL"]
    assert context["orgValues"] == ["Ownership", "Care"]
    assert {d["dimension"]: d["weight"] for d in context["rubric"]} == {"technical_skills": 0.5, "communication": 0.5}
    assert context["rubricVersion"].startswith("custom-")
    assert "transcript" not in context and "led the migration" not in str(context)  # never crosses the boundary


async def test_load_context_uses_request_role_fields_only_where_the_record_has_none(db):
    interview = await seed_interview(db)
    await db.execute("update job_roles set description = null, requirements = null where id = %s", (interview.role_id,))
    context = await load_context(
        db, job(interview.id, jobTitle="Staff Engineer", jobDescription="Runs the platform", orgValues=["Speed"])
    )
    assert context["jobTitle"] == "Platform Engineer" and context["jobDescription"] == "Runs the platform"
    assert context["orgValues"] == ["Speed"] and context["requirements"] is None
    assert context["rubricVersion"] == DEFAULT_RUBRIC_VERSION and len(context["rubric"]) == 8


@pytest.mark.parametrize("transcript", [[], [{"speaker": "ai", "content": "Hello?", "start_time_ms": 0}]])
async def test_no_candidate_speech_is_a_permanent_400(db, transcript):
    interview = await seed_interview(db, transcript=transcript)
    outcome = await run_step(load_context, db, job(interview.id))
    assert outcome == {
        "ok": False,
        "value": None,
        "status": 400,
        "transient": False,
        "error": "The transcript has no candidate speech to score",
    }


async def test_unknown_interview_and_invalid_stored_rubric(db):
    with pytest.raises(NotFound):
        await load_context(db, job("00000000-0000-4000-8000-000000000000"))
    interview = await seed_interview(db, rubric={"a": {"weight": 0}})
    with pytest.raises(BadRequest, match="role's scoring rubric"):
        await load_context(db, job(interview.id))


# --- saving ----------------------------------------------------------------------


async def test_saving_twice_leaves_one_score_and_one_set_of_dimensions(db):
    interview = await seed_interview(db)
    first = await save_result(db, scored(interview, overall=74))
    assert first["overall_score"] == 74
    await save_result(db, scored(interview, overall=81, scores=(8.0, 8.5)))
    scores, dimensions = await score_rows(db, interview.id)
    assert len(scores) == 1 and scores[0]["overall_score"] == 81
    assert (
        scores[0]["scored_by"],
        scores[0]["model_version"],
        scores[0]["prompt_version"],
        scores[0]["rubric_version"],
    ) == ("ai", "gpt-test-scoring", "scoring-v1", "custom-abc")
    assert [(d["dimension"], float(d["score"])) for d in dimensions] == [
        ("communication", 8.5),
        ("technical_skills", 8.0),
    ]
    assert dimensions[1]["cited_quotes"] == ["event-driven design"]
    assert await application_status(db, interview.application_id) == "interviewed"


async def test_a_failure_while_saving_leaves_the_previous_score_intact(db):
    interview = await seed_interview(db)
    await save_result(db, scored(interview, overall=74))
    broken = scored(interview, overall=99)
    broken["result"]["dimensions"][1]["score"] = 11  # the database refuses it after the score row is updated
    with pytest.raises(CheckViolation, match="score_dimensions_score_check"):
        await save_result(db, broken)
    scores, dimensions = await score_rows(db, interview.id)
    assert [s["overall_score"] for s in scores] == [74]
    assert sorted(float(d["score"]) for d in dimensions) == [7.0, 8.0]


async def test_a_human_override_is_never_overwritten_and_the_answer_says_so(db):
    interview = await seed_interview(db)
    await save_result(db, scored(interview, overall=74))
    await db.execute(
        "update interview_scores set human_override = true, overall_score = 90, "
        "human_override_reason = 'Panel review', human_override_by = %s where interview_id = %s",
        (interview.recruiter, interview.id),
    )
    before = await score_rows(db, interview.id)
    answer = await save_result(db, scored(interview, overall=50, scores=(5.0, 5.0)))
    assert answer["humanOverride"] is True and answer["message"] == HUMAN_OVERRIDE_MESSAGE
    assert answer["overall_score"] == 90 and len(answer["dimensions"]) == 2
    assert await score_rows(db, interview.id) == before
    # Loading reports the person's score straight away: the model is not asked.
    loaded = await load_context(db, job(interview.id))
    assert loaded == {"interviewId": str(interview.id), "humanOverride": True}


@pytest.mark.parametrize(
    "status, expected", [("invited", "interviewed"), ("shortlisted", "shortlisted"), ("hired", "hired")]
)
async def test_the_application_moves_to_interviewed_but_never_back(db, status, expected):
    interview = await seed_interview(db, application_status=status)
    await save_result(db, copy.deepcopy(scored(interview)))
    assert await application_status(db, interview.application_id) == expected
