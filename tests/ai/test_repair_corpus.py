"""Repair before retry: the misbehaviour corpus (tests/ai/repair_corpus.py) per
structured purpose, the repair functions alone (no I/O), the schemas sent, and
a few answers end to end through the OpenAI wire double and the SDK."""

from __future__ import annotations

import json
import re

import pytest

from shared.ai.answers import (
    AnswerRejected,
    answer_spec,
    clip,
    json_object,
    judge,
    normal_name,
    read_arguments,
    tool_schema,
)
from shared.interviewer.models import AnswerAssessment
from shared.platform.errors import UpstreamError
from shared.requirements.models import ExtractedRequirements
from shared.resumes import prompts as resume_prompt
from shared.resumes.models import ParsedResume
from shared.scoring import prompts as scoring_prompt
from shared.scoring.models import ModelScoring
from shared.shortlist import prompts as shortlist_prompt
from shared.shortlist.models import ShortlistRanking
from tests.ai import repair_corpus as corpus

PURPOSES = corpus.purposes()
ROWS = [pytest.param(key, case, id=f"{key}: {case.name}") for key, cases in corpus.CORPUS.items() for case in cases]
# What may happen to an essential field: nothing that changes what it says (extra
# keys beside its own may go).
ESSENTIAL_REPAIRS = re.compile(
    r"^(mapped a variant spelling|number sent as text read|clamped to the|"
    r"rounded to a whole number|key spelt differently|\d+ unknown keys? dropped)"
)


def essential(spec: dict, field: str) -> bool:
    node = spec
    for part in field.split(".") if field != "(answer)" else []:
        options = [o for o in node.get("anyOf", ()) if o.get("type") != "null"]
        node = options[0] if len(options) == 1 else node
        node = node["items"] if part.isdigit() else node.get("properties", {}).get(part, {})
    return bool(node.get("x-essential")) and field != "(answer)"


@pytest.mark.parametrize("key, case", ROWS)
def test_corpus_answer_gets_its_expected_outcome(key, case):
    purpose = PURPOSES[key]
    result = corpus.run(purpose, case)
    assert result.outcome == case.outcome, result.problems
    if result.answer is not None and case.expect is not None:
        assert case.expect(result.answer), result.answer
    assert (result.outcome == "repaired") == bool(result.repairs)
    for repair in result.repairs:  # no false repair of an essential
        if essential(purpose.spec, repair.field):
            assert ESSENTIAL_REPAIRS.match(repair.action), repair


def test_corpus_figures(capsys):
    figures = corpus.tally()
    assert figures["wrong"] == []
    assert sum(figures["by_purpose"].values()) >= 30 and min(figures["by_purpose"].values()) >= 5
    assert figures["repaired"] == figures["repairable"] > 0  # 100% of repairable answers repaired
    assert figures["false_repairs"] == 0 and figures["refused"] == figures["refusable"] > 0
    with capsys.disabled():
        print(
            f"\nrepair corpus: {figures['repaired']}/{figures['repairable']} repairable repaired, "
            f"{figures['refused']}/{figures['refusable']} essential faults refused, "
            f"{figures['false_repairs']} false repairs, {figures['ok']} accepted as sent"
        )


def test_every_misbehaviour_of_the_issue_is_in_the_corpus():
    tags = {tag for cases in corpus.CORPUS.values() for case in cases for tag in case.tags}
    assert {
        "over-long",
        "wrong case",
        "extra keys",
        "missing optional",
        "stringified",
        "fence",
        "trailing prose",
        "empty list",
        "content",
        "essential",
    } <= tags


# --- the repair functions alone -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, limit, clipped",
    [
        ("2000 Sydney NSW, Australia (CBD)", 20, "2000 Sydney NSW"),
        ("short", 20, "short"),
        ("Supercalifragilisticexpialidocious", 10, "Supercalif"),  # no boundary: cut at the limit
        ("one two three", 8, "one two"),
        ("one two three", 7, "one two"),
        ("alpha, beta", 7, "alpha"),
    ],
)
def test_clip_cuts_at_a_word_boundary(text, limit, clipped):
    assert clip(text, limit) == clipped and len(clip(text, limit)) <= limit


@pytest.mark.parametrize(
    "name, normal",
    [
        ("Technical Skills", "technical_skills"),
        ("technicalSkills", "technical_skills"),
        (" technical-skills ", "technical_skills"),
        ("TECHNICAL_SKILLS", "technical_skills"),
        ("3F1D2C9E-0B7A", "3f1d2c9e_0b7a"),
        ("HIGH", "high"),
    ],
)
def test_normal_names(name, normal):
    assert normal_name(name) == normal


@pytest.mark.parametrize(
    "text, found, repaired",
    [
        ('{"a": 1}', {"a": 1}, False),
        ('```json\n{"a": 1}\n```', {"a": 1}, True),
        ('```\n{"a": 1}\n```', {"a": 1}, True),
        ('{"a": 1}\nHope this helps!', {"a": 1}, True),
        ('Sure. {"a": {"b": [1, 2]}} Done.', {"a": {"b": [1, 2]}}, True),
        ('"{\\"a\\": 1}"', {"a": 1}, True),
        ('{"a": "a } brace"} and {braces} in prose', {"a": "a } brace"}, True),
    ],
)
def test_json_object_reads_one_object_from_text(text, found, repaired):
    value, repairs = json_object(text)
    assert value == found and bool(repairs) == repaired


@pytest.mark.parametrize(
    "text, problem",
    [
        ('{"a": 1} {"b": 2}', "more than one JSON object"),
        ("no json here", "not valid JSON"),
        ('{"a": ', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("", "not valid JSON"),
    ],
)
def test_json_object_refuses_what_is_ambiguous_or_broken(text, problem):
    with pytest.raises(AnswerRejected, match=problem):
        json_object(text)


def test_read_arguments_prefers_the_tool_call_and_reads_text_only_without_one():
    value, repairs = read_arguments("t", [("t", '{"a": 1}')], '{"a": 2}')
    assert value == {"a": 1} and repairs == []
    value, repairs = read_arguments("t", [], '{"name": "t", "parameters": {"a": 3}}')
    assert value == {"a": 3} and len(repairs) == 2
    with pytest.raises(AnswerRejected, match="No call to the tool t"):
        read_arguments("t", [("other", '{"a": 1}')], None)
    with pytest.raises(AnswerRejected, match="No call to the tool t"):
        read_arguments("t", [], "I would rather chat.")


def test_an_essential_string_is_never_clipped_and_an_essential_item_never_removed():
    spec = answer_spec(ShortlistRanking, {"applicants": ["a" * 40]})
    with pytest.raises(AnswerRejected, match="rankings.0.applicationId"):
        judge(
            ShortlistRanking, spec, {"rankings": [{"applicationId": "a" * 41, "matchScore": 5, "matchReasons": ["x"]}]}
        )
    spec = answer_spec(ModelScoring, {"rubric": ["a", "b"]})
    with pytest.raises(AnswerRejected, match="dimensions.1.score"):
        judge(ModelScoring, spec, {"dimensions": [{"dimension": "a", "score": 5}, {"dimension": "b", "score": "x"}]})


def test_without_its_vocabulary_a_field_is_free_text():
    answer, repairs = judge(
        ModelScoring, answer_spec(ModelScoring), {"dimensions": [{"dimension": "anything", "score": 3}]}
    )
    assert answer.dimensions[0].dimension == "anything" and repairs == []


# --- the schemas sent --------------------------------------------------------------------------


def walk(node):
    yield node
    for child in [
        *node.get("properties", {}).values(),
        *node.get("anyOf", ()),
        *([node["items"]] if isinstance(node.get("items"), dict) else []),
    ]:
        yield from walk(child)


@pytest.mark.parametrize(
    "model, vocabularies",
    [
        (AnswerAssessment, {"competencies": ["communication"]}),
        (ExtractedRequirements, None),
        (ParsedResume, None),
        (ShortlistRanking, {"applicants": ["id-1"]}),
        (ModelScoring, {"rubric": {"communication": "Communication"}}),
    ],
)
def test_strict_schemas_follow_the_providers_rules(model, vocabularies):
    schema = tool_schema(answer_spec(model, vocabularies), strict=True)
    assert schema["type"] == "object" and "anyOf" not in schema
    depth = 0
    for node in walk(schema):
        assert not set(node) & {
            "minLength",
            "maxLength",
            "minimum",
            "maximum",
            "minItems",
            "maxItems",
            "pattern",
            "format",
            "default",
            "title",
            "$ref",
            "$defs",
        }
        assert not any(key.startswith("x-") for key in node)
        if "properties" in node:
            depth += 1
            assert node["required"] == list(node["properties"]) and node["additionalProperties"] is False
    assert depth <= 100 and len(json.dumps(schema)) < 15_000


def test_limits_and_vocabularies_reach_the_model():
    rubric = scoring_prompt.rubric_vocabulary([{"dimension": "technical_skills", "label": "Technical Skills"}])
    scoring = tool_schema(answer_spec(ModelScoring, {"rubric": rubric}))
    dimension = scoring["properties"]["dimensions"]["items"]["properties"]
    assert dimension["dimension"]["enum"] == ["technical_skills"]
    assert "From 0 to 10." in dimension["score"]["description"]
    assert scoring["properties"]["anti_cheat_risk_level"]["enum"] == ["low", "medium", "high"]
    resume = tool_schema(answer_spec(ParsedResume))
    postcode = resume["properties"]["personal"]["properties"]["location"]["properties"]["postcode"]
    assert postcode == {"type": "string", "description": "At most 20 characters."}
    skill = resume["properties"]["skills"]["items"]["properties"]["skill_type"]
    assert skill["enum"] == ["hard", "soft"]
    dates = resume["properties"]["employment"]["items"]["properties"]["start_date"]
    assert dates["type"] == ["string", "null"]
    loose = tool_schema(answer_spec(ParsedResume), strict=False)  # for a grammar: keywords kept
    assert loose["properties"]["personal"]["properties"]["location"]["properties"]["postcode"]["maxLength"] == 20


def test_clamping_is_declared_only_where_the_prompt_states_the_scale():
    """Clamp(...) is the claim that the prompt's scale is unambiguous: check it."""
    prompts = {
        ModelScoring: scoring_prompt.SYSTEM_PROMPT,
        ShortlistRanking: shortlist_prompt.SYSTEM_PROMPT,
        ParsedResume: resume_prompt.SYSTEM_PROMPT,
        AnswerAssessment: "",
        ExtractedRequirements: "",
    }
    for model, prompt in prompts.items():
        for node in walk(answer_spec(model)):
            if "x-clamp" in node:
                low, high = int(node["minimum"]), int(node["maximum"])
                assert f"from {low}" in prompt.lower() and f"to {high}" in prompt.lower(), model
                assert node["x-clamp"] <= (high - low) / 10  # a slip, not another scale


def test_essentials_are_declared_on_the_models():
    def essentials(model, vocabularies=None):
        spec = answer_spec(model, vocabularies)
        return {name for name, node in spec["properties"].items() if node.get("x-essential")}

    assert essentials(ModelScoring) == {"dimensions"}
    assert essentials(ShortlistRanking) == {"rankings"}
    assert essentials(ParsedResume) == essentials(ExtractedRequirements) == essentials(AnswerAssessment) == set()


# --- end to end through the OpenAI wire double ---------------------------------------------------------


async def test_sdk_path_repairs_an_over_long_postcode_without_a_retry(ai, model_double, caplog):
    answer = corpus.cv(personal=corpus.personal(location=corpus.location(postcode=corpus.LONG_POSTCODE)))
    model_double.push_tool_call(resume_prompt.TOOL_NAME, answer)
    with caplog.at_level("INFO", logger="talenti"):
        parsed = await ai.structured(
            purpose="parse_resume",
            prompt_version=resume_prompt.VERSION,
            messages=resume_prompt.resume_messages("CV text"),
            schema=ParsedResume,
            tool_name=resume_prompt.TOOL_NAME,
            tool_description=resume_prompt.TOOL_DESCRIPTION,
        )
    assert parsed.personal.location.postcode == "2000 Sydney NSW" and len(model_double.chat_requests) == 1
    [logged] = [json.loads(r.getMessage()) for r in caplog.records if '"ai.repaired"' in r.getMessage()]
    assert logged["field"] == "personal.location.postcode" and logged["purpose"] == "parse_resume"
    assert "clipped to 20 characters" in logged["action"]
    assert all("Sydney" not in r.getMessage() for r in caplog.records)  # never the answer's text


async def test_sdk_path_reads_fenced_arguments_written_as_the_message(ai, model_double):
    model_double.push_text('```json\n{"detectedCompetencies": ["Technical Skills", "genius"]}\n```')
    assessment = await ai.structured(
        purpose="interviewer.competencies",
        prompt_version="v",
        messages=[{"role": "user", "content": "x"}],
        schema=AnswerAssessment,
        tool_name="record_competencies",
        tool_description="d",
        vocabularies={"competencies": ["technical_skills", "communication"]},
    )
    assert assessment.detectedCompetencies == ["technical_skills"] and len(model_double.chat_requests) == 1
    sent = model_double.chat_requests[0]["tools"][0]["function"]
    assert sent["parameters"]["properties"]["detectedCompetencies"]["items"]["enum"] == [
        "technical_skills",
        "communication",
    ]


async def test_sdk_path_retries_an_off_scale_score_once_with_the_problem(ai, model_double):
    rubric = {"a": "A", "b": "B"}

    def answer(score):
        return {
            "dimensions": [
                {"dimension": "a", "score": 7, "evidence": "e", "cited_quotes": []},
                {"dimension": "b", "score": score, "evidence": "e", "cited_quotes": []},
            ],
            "narrative_summary": "n",
            "candidate_feedback": "f",
            "anti_cheat_risk_level": "low",
            "anti_cheat_notes": "x",
        }

    model_double.push_tool_call("score", answer(45))
    model_double.push_tool_call("score", answer(4.5))
    scored = await ai.structured(
        purpose="score",
        prompt_version="v",
        messages=[{"role": "user", "content": "x"}],
        schema=ModelScoring,
        tool_name="score",
        tool_description="d",
        vocabularies={"rubric": rubric},
    )
    assert [d.score for d in scored.dimensions] == [7, 4.5]
    correction = model_double.chat_requests[1]["messages"][-1]
    assert (
        correction["role"] == "tool"
        and "dimensions.1.score: should be less than or equal to 10" in correction["content"]
    )


async def test_sdk_path_an_unknown_applicant_twice_is_502(ai, model_double):
    ids = corpus.IDS
    for stranger in ("not-an-applicant", "still-not-one"):
        model_double.push_tool_call(
            shortlist_prompt.TOOL_NAME,
            {"rankings": [{"applicationId": i, "matchScore": 50, "matchReasons": ["r"]} for i in (*ids[:2], stranger)]},
        )
    with pytest.raises(UpstreamError, match="invalid answer") as caught:
        await ai.structured(
            purpose="shortlist",
            prompt_version="v",
            messages=[{"role": "user", "content": "x"}],
            schema=ShortlistRanking,
            tool_name=shortlist_prompt.TOOL_NAME,
            tool_description="d",
            vocabularies={"applicants": ids},
        )
    assert caught.value.status == 502 and len(model_double.chat_requests) == 2
    assert (
        "rankings.2.applicationId: is not one of the allowed values"
        in model_double.chat_requests[1]["messages"][-1]["content"]
    )


async def test_scoring_sends_its_rubric_as_the_dimension_enum_and_maps_labels(ai, model_double):
    from shared.scoring import service

    rubric = [
        {"dimension": "technical_skills", "label": "Technical Skills", "weight": 0.5},
        {"dimension": "team_work", "label": "Collaboration", "weight": 0.5},
    ]
    context = {
        "interviewId": "00000000-0000-4000-8000-000000000001",
        "applicationId": "a",
        "jobTitle": "Engineer",
        "jobDescription": "",
        "requirements": None,
        "orgValues": [],
        "rubric": rubric,
        "rubricVersion": "r",
    }
    transcript = [{"speaker": "candidate", "content": "I led the migration of our payments platform."}]
    model_double.push_tool_call(
        scoring_prompt.TOOL_NAME,
        {
            "dimensions": [
                {
                    "dimension": "Technical Skills",
                    "score": "8",
                    "evidence": "Led a migration.",
                    "cited_quotes": ["I led the migration"],
                },
                {"dimension": "Collaboration", "score": 10.4, "evidence": "Team.", "cited_quotes": []},
            ],
            "narrative_summary": "Strong.",
            "candidate_feedback": "Good.",
            "anti_cheat_risk_level": "Low",
            "anti_cheat_notes": "None.",
        },
    )
    scored = await service.score_transcript(ai, context, transcript)
    assert [(d["dimension"], d["score"]) for d in scored["result"]["dimensions"]] == [
        ("technical_skills", 8.0),
        ("team_work", 10.0),
    ]
    assert scored["result"]["overall_score"] == 90 and scored["result"]["anti_cheat_risk_level"] == "low"
    [sent] = model_double.chat_requests
    items = sent["tools"][0]["function"]["parameters"]["properties"]["dimensions"]["items"]
    assert items["properties"]["dimension"]["enum"] == ["technical_skills", "team_work"]
