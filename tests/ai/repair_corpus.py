"""A corpus of structured answers as real models get them wrong, one table per
structured purpose, each answer with the outcome the adapter must reach:

    ok        accepted as sent
    repaired  accepted after safe repairs (the row's `expect` checks the result)
    retry     refused: the adapter asks once more with the problems
    502       refused, and the second answer (`then`) refused too

Answers go through the adapter's own reading code (`_read_answer`: the text,
the repairs, the model's validation, the call's check), with no I/O.
`python -m tests.ai.repair_corpus` prints the counts quoted in docs/AI.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel

from shared.ai.answers import AnswerRejected, Repair, answer_spec
from shared.ai.client import _read_answer
from shared.interviewer import competency_prompts as competency_prompt
from shared.interviewer.models import AnswerAssessment
from shared.requirements import prompts as requirements_prompt
from shared.requirements.models import ExtractedRequirements
from shared.resumes import prompts as resume_prompt
from shared.resumes.models import ParsedResume
from shared.scoring import prompts as scoring_prompt
from shared.scoring.models import ModelScoring
from shared.shortlist import prompts as shortlist_prompt
from shared.shortlist.models import ShortlistRanking


@dataclass
class Purpose:
    name: str
    schema: type[BaseModel]
    tool: str
    vocabularies: dict | None = None
    check: Callable[[Any], None] | None = None

    @property
    def spec(self) -> dict:
        return answer_spec(self.schema, self.vocabularies)


@dataclass
class Case:
    name: str
    answer: Any  # a dict (sent as JSON) or the raw text the model sent
    outcome: str  # ok | repaired | retry | 502
    expect: Callable[[Any], bool] | None = None  # on the accepted answer
    as_text: bool = False  # the model wrote it as its message instead of calling the tool
    then: Any = None  # the second answer, for 502 rows
    tags: tuple[str, ...] = field(default_factory=tuple)


@dataclass
class Result:
    outcome: str
    answer: Any = None
    repairs: list[Repair] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def message(answer: Any, tool: str, as_text: bool) -> SimpleNamespace:
    text = answer if isinstance(answer, str) else json.dumps(answer)
    if as_text:
        return SimpleNamespace(content=text, tool_calls=None)
    call = SimpleNamespace(id="call_1", type="function", function=SimpleNamespace(name=tool, arguments=text))
    return SimpleNamespace(content=None, tool_calls=[call])


def run(purpose: Purpose, case: Case) -> Result:
    spec, problems = purpose.spec, []
    answers = [case.answer] + ([case.then] if case.then is not None else [])
    for attempt, answer in enumerate(answers, start=1):
        try:
            accepted, repairs = _read_answer(
                message(answer, purpose.tool, case.as_text and attempt == 1),
                purpose.tool,
                purpose.schema,
                spec,
                purpose.check,
            )
        except AnswerRejected as problem:
            problems.append(str(problem))
            continue
        if attempt == 2:
            return Result("accepted on retry", accepted, repairs, problems)
        return Result("repaired" if repairs else "ok", accepted, repairs)
    return Result("502" if len(answers) == 2 else "retry", problems=problems)


# --- the purposes ------------------------------------------------------------------------------

COMPETENCY_KEYS = competency_prompt.competency_keys(["Team Leadership"], ["motivation"])
IDS = [
    "3f1d2c9e-0b7a-4c55-9d0e-1a2b3c4d5e6f",
    "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d",
    "c0ffee00-1234-4abc-8def-0123456789ab",
]
RUBRIC = [
    {"dimension": key, "label": key.replace("_", " ").title(), "weight": 1 / 8}
    for key in competency_prompt.DEFAULT_COMPETENCIES
]


def _scoring_check():
    try:  # the scoring rules' module moved into a package; either place serves
        from shared.scoring.rules import answer_check
    except ImportError:  # pragma: no cover
        from shared.scoring import answer_check
    return answer_check(RUBRIC)


def _shortlist_check():
    from shared.shortlist.service import _every_leader_once

    return _every_leader_once(set(IDS))


def purposes() -> dict[str, Purpose]:
    return {
        "competencies": Purpose(
            "interviewer competencies",
            AnswerAssessment,
            competency_prompt.TOOL_NAME,
            {"competencies": list(COMPETENCY_KEYS)},
        ),
        "requirements": Purpose("requirements", ExtractedRequirements, requirements_prompt.TOOL_NAME),
        "cv": Purpose("CV parse", ParsedResume, resume_prompt.TOOL_NAME),
        "shortlist": Purpose(
            "shortlist", ShortlistRanking, shortlist_prompt.TOOL_NAME, {"applicants": IDS}, _shortlist_check()
        ),
        "scoring": Purpose(
            "scoring",
            ModelScoring,
            scoring_prompt.TOOL_NAME,
            {"rubric": scoring_prompt.rubric_vocabulary(RUBRIC)},
            _scoring_check(),
        ),
    }


# --- the answers -----------------------------------------------------------------------------------


def at_word_boundary(clipped: str, original: str) -> bool:
    """A prefix of the original that ends where a word ends."""
    return original.startswith(clipped) and (len(clipped) == len(original) or original[len(clipped)] in " ,.;")


def competencies(*keys: Any) -> dict:
    return {"detectedCompetencies": list(keys)}


COMPETENCY_CASES = [
    Case("known keys", competencies("communication", "motivation"), "ok"),
    Case(
        "display case",
        competencies("Technical Skills", "COMMUNICATION"),
        "repaired",
        lambda a: a.detectedCompetencies == ["technical_skills", "communication"],
        tags=("wrong case",),
    ),
    Case(
        "camel case",
        competencies("technicalSkills", "domain-knowledge"),
        "repaired",
        lambda a: a.detectedCompetencies == ["technical_skills", "domain_knowledge"],
        tags=("wrong case",),
    ),
    Case(
        "requested competency by its label",
        competencies("Team Leadership"),
        "repaired",
        lambda a: a.detectedCompetencies == ["team_leadership"],
        tags=("wrong case",),
    ),
    Case(
        "a key outside the vocabulary",
        competencies("genius", "communication"),
        "repaired",
        lambda a: a.detectedCompetencies == ["communication"],
        tags=("invalid optional item",),
    ),
    Case(
        "only unknown keys",
        competencies("leadership_potential", "grit"),
        "repaired",
        lambda a: a.detectedCompetencies == [],
        tags=("invalid optional item",),
    ),
    Case("empty list", competencies(), "ok", lambda a: a.detectedCompetencies == [], tags=("empty list",)),
    Case(
        "one key as a string",
        {"detectedCompetencies": "communication"},
        "repaired",
        lambda a: a.detectedCompetencies == ["communication"],
        tags=("wrong type",),
    ),
    Case(
        "more than eight",
        competencies(*list(COMPETENCY_KEYS)[:9], "motivation"),
        "repaired",
        lambda a: len(a.detectedCompetencies) == 8,
        tags=("over-long",),
    ),
    Case(
        "key spelt in another case",
        {"DetectedCompetencies": ["motivation"]},
        "repaired",
        lambda a: a.detectedCompetencies == ["motivation"],
        tags=("wrong case",),
    ),
    Case(
        "extra keys",
        {"detectedCompetencies": ["motivation"], "reasoning": "They said they love it.", "confidence": 0.8},
        "repaired",
        lambda a: a.detectedCompetencies == ["motivation"],
        tags=("extra keys",),
    ),
    Case(
        "markdown fence as the message",
        '```json\n{"detectedCompetencies": ["motivation"]}\n```',
        "repaired",
        lambda a: a.detectedCompetencies == ["motivation"],
        as_text=True,
        tags=("fence", "content"),
    ),
    Case(
        "trailing prose after the arguments",
        '{"detectedCompetencies": ["communication"]}\nI picked communication because the answer was clear.',
        "repaired",
        lambda a: a.detectedCompetencies == ["communication"],
        tags=("trailing prose",),
    ),
    Case(
        "a call written as text",
        json.dumps({"name": competency_prompt.TOOL_NAME, "arguments": {"detectedCompetencies": ["confidence"]}}),
        "repaired",
        lambda a: a.detectedCompetencies == ["confidence"],
        as_text=True,
        tags=("content",),
    ),
    Case(
        "arguments under the tool's name",
        {competency_prompt.TOOL_NAME: {"detectedCompetencies": ["vocabulary"]}},
        "repaired",
        lambda a: a.detectedCompetencies == ["vocabulary"],
        tags=("wrong shape",),
    ),
    Case("missing key", {}, "retry", tags=("missing essential",)),
    Case("cut-off JSON", '{"detectedCompetencies": ["communic', "retry", tags=("truncated",)),
    Case(
        "prose instead of a call",
        "The candidate showed strong communication.",
        "retry",
        as_text=True,
        tags=("content",),
    ),
]


def requirements(**lists: Any) -> dict:
    base = {
        "skills": ["React", "TypeScript"],
        "experience": ["5+ years of frontend development"],
        "qualifications": ["Bachelor's degree in Computer Science"],
        "responsibilities": ["Lead the frontend architecture"],
        "interviewQuestions": ["Tell me about a React app you architected."],
    }
    return {**base, **lists}


LONG_DUTY = ("Own the design, build and operation of the customer-facing web platform, " * 6).strip()

REQUIREMENT_CASES = [
    Case("five lists", requirements(), "ok"),
    Case(
        "over-long item",
        requirements(responsibilities=[LONG_DUTY]),
        "repaired",
        lambda a: len(a.responsibilities[0]) <= 300 and at_word_boundary(a.responsibilities[0], LONG_DUTY),
        tags=("over-long",),
    ),
    Case(
        "extra keys",
        {**requirements(), "seniority": "Senior", "salary": "$150k"},
        "repaired",
        lambda a: a.skills == ["React", "TypeScript"],
        tags=("extra keys",),
    ),
    Case(
        "a list left out",
        {k: v for k, v in requirements().items() if k != "qualifications"},
        "ok",
        lambda a: a.qualifications == [],
        tags=("missing optional",),
    ),
    Case(
        "a list as null",
        requirements(qualifications=None),
        "ok",
        lambda a: a.qualifications == [],
        tags=("missing optional",),
    ),
    Case(
        "an empty item",
        requirements(skills=["React", "", "  "]),
        "repaired",
        lambda a: a.skills == ["React"],
        tags=("invalid optional item",),
    ),
    Case(
        "thirty skills",
        requirements(skills=[f"Skill {n}" for n in range(30)]),
        "repaired",
        lambda a: a.skills == [f"Skill {n}" for n in range(25)],
        tags=("over-long",),
    ),
    Case(
        "fifteen questions",
        requirements(interviewQuestions=[f"Question {n}?" for n in range(15)]),
        "repaired",
        lambda a: len(a.interviewQuestions) == 12,
        tags=("over-long",),
    ),
    Case(
        "snake_case key",
        {**{k: v for k, v in requirements().items() if k != "interviewQuestions"}, "interview_questions": ["Why us?"]},
        "repaired",
        lambda a: a.interviewQuestions == ["Why us?"],
        tags=("wrong case",),
    ),
    Case(
        "a list as one string",
        requirements(skills="React"),
        "repaired",
        lambda a: a.skills == ["React"],
        tags=("wrong type",),
    ),
    Case(
        "a number as an item",
        requirements(experience=[5]),
        "repaired",
        lambda a: a.experience == ["5"],
        tags=("wrong type",),
    ),
    Case(
        "all lists empty",
        requirements(skills=[], experience=[], qualifications=[], responsibilities=[], interviewQuestions=[]),
        "ok",
        tags=("empty list",),
    ),
    Case(
        "markdown fence in the arguments",
        "```json\n" + json.dumps(requirements()) + "\n```",
        "repaired",
        lambda a: a.skills == ["React", "TypeScript"],
        tags=("fence",),
    ),
    Case(
        "JSON inside a JSON string",
        json.dumps(json.dumps(requirements())),
        "repaired",
        lambda a: a.skills == ["React", "TypeScript"],
        tags=("double encoded",),
    ),
    Case(
        "arguments as the message, after prose",
        "Here are the requirements:\n" + json.dumps(requirements()),
        "repaired",
        lambda a: a.qualifications == ["Bachelor's degree in Computer Science"],
        as_text=True,
        tags=("content", "trailing prose"),
    ),
    Case("none of the fields", {"requirements": "React and TypeScript"}, "retry", tags=("wrong shape",)),
    Case(
        "two objects in the message",
        json.dumps(requirements()) + "\n" + json.dumps(requirements(skills=[])),
        "retry",
        as_text=True,
        tags=("content",),
    ),
    Case(
        "not JSON twice",
        "skills: React, TypeScript",
        "502",
        then="Sorry, here: skills - React",
        as_text=True,
        tags=("content",),
    ),
]


def cv(**parts: Any) -> dict:
    base = {
        "personal": {
            "first_name": "Alex",
            "last_name": "Candidate",
            "email": "alex.candidate@example.test",
            "phone": "+61 400 000 000",
            "linkedin_url": "linkedin.com/in/alexcandidate",
            "portfolio_url": "",
            "location": {"suburb": "Sydney", "state": "NSW", "postcode": "2000", "country": "Australia"},
        },
        "employment": [
            {
                "job_title": "Senior Frontend Developer",
                "company_name": "Acme Pty Ltd",
                "start_date": "2020-01",
                "end_date": None,
                "is_current": True,
                "description": "Led a team of 5",
            }
        ],
        "education": [
            {
                "institution": "University of Sydney",
                "degree": "BSc",
                "field_of_study": "Computing",
                "end_date": "2015",
                "is_current": False,
            }
        ],
        "skills": [{"skill_name": "React", "skill_type": "hard"}, {"skill_name": "Mentoring", "skill_type": "soft"}],
        "summary": "A frontend engineer with eight years of experience.",
    }
    return {**base, **parts}


def personal(**fields: Any) -> dict:
    return {**cv()["personal"], **fields}


def location(**fields: Any) -> dict:
    return {**cv()["personal"]["location"], **fields}


def job(**fields: Any) -> dict:
    return {**cv()["employment"][0], **fields}


LONG_POSTCODE = "2000 Sydney NSW, Australia (CBD)"  # 32 characters, over the app's 20
LONG_SUMMARY = ("Alex builds accessible, fast web applications and mentors junior engineers. " * 50).strip()

CV_CASES = [
    Case("a good CV", cv(), "ok"),
    Case(
        "over-long postcode (the 502 that started this)",
        cv(personal=personal(location=location(postcode=LONG_POSTCODE))),
        "repaired",
        lambda a: (
            a.personal.location.postcode == "2000 Sydney NSW"  # cut at a word boundary
            and a.employment[0].job_title == "Senior Frontend Developer"
        ),
        tags=("over-long",),
    ),
    Case(
        "over-long summary",
        cv(summary=LONG_SUMMARY),
        "repaired",
        lambda a: len(a.summary) <= 3000 and at_word_boundary(a.summary, LONG_SUMMARY),
        tags=("over-long",),
    ),
    Case(
        "skill types in display case and the prompt's words",
        cv(
            skills=[
                {"skill_name": "React", "skill_type": "Hard"},
                {"skill_name": "Python", "skill_type": "Technical"},
                {"skill_name": "Mentoring", "skill_type": "Soft Skill"},
            ]
        ),
        "repaired",
        lambda a: [s.skill_type for s in a.skills] == ["hard", "hard", "soft"],
        tags=("wrong case",),
    ),
    Case(
        "a skill with an unknown type",
        cv(skills=[{"skill_name": "React", "skill_type": "expert"}, {"skill_name": "Mentoring", "skill_type": "soft"}]),
        "repaired",
        lambda a: [s.skill_name for s in a.skills] == ["Mentoring"],
        tags=("invalid optional item",),
    ),
    Case(
        "a job without a title",
        cv(employment=[job(), {"company_name": "Beta", "start_date": "2018"}]),
        "repaired",
        lambda a: len(a.employment) == 1,
        tags=("invalid optional item",),
    ),
    Case(
        "a date the app cannot read",
        cv(employment=[job(start_date="January 2020")]),
        "repaired",
        lambda a: a.employment[0].start_date is None and a.employment[0].job_title == "Senior Frontend Developer",
        tags=("invalid optional field",),
    ),
    Case(
        "sections left out",
        {"personal": personal(), "summary": "Short."},
        "ok",
        lambda a: a.employment == [] and a.education == [] and a.skills == [],
        tags=("missing optional",),
    ),
    Case(
        "nulls for empty fields",
        cv(personal=personal(phone=None, portfolio_url=None, location=location(suburb=None))),
        "ok",
        lambda a: a.personal.phone == "" and a.personal.location.suburb == "",
        tags=("missing optional",),
    ),
    Case(
        "phone as a number",
        cv(personal=personal(phone=61400000000)),
        "repaired",
        lambda a: a.personal.phone == "61400000000",
        tags=("wrong type",),
    ),
    Case(
        "is_current as text",
        cv(employment=[job(is_current="true")]),
        "repaired",
        lambda a: a.employment[0].is_current is True,
        tags=("stringified",),
    ),
    Case(
        "extra keys, nested",
        cv(personal={**personal(), "age": 34, "nationality": "x"}, references="On request"),
        "repaired",
        lambda a: a.personal.first_name == "Alex",
        tags=("extra keys",),
    ),
    Case(
        "forty jobs",
        cv(employment=[job(job_title=f"Role {n}") for n in range(40)]),
        "repaired",
        lambda a: len(a.employment) == 30 and a.employment[0].job_title == "Role 0",
        tags=("over-long",),
    ),
    Case(
        "one job as an object", cv(employment=job()), "repaired", lambda a: len(a.employment) == 1, tags=("wrong type",)
    ),
    Case("an empty skills list", cv(skills=[]), "ok", lambda a: a.skills == [], tags=("empty list",)),
    Case(
        "trailing prose after the arguments",
        json.dumps(cv()) + "\n\nLet me know if you need anything else!",
        "repaired",
        lambda a: a.personal.last_name == "Candidate",
        tags=("trailing prose",),
    ),
    Case(
        "fenced JSON as the message",
        "Here is the parsed CV:\n```json\n" + json.dumps(cv()) + "\n```",
        "repaired",
        lambda a: a.education[0].end_date == "2015-01-01",
        as_text=True,
        tags=("fence", "content"),
    ),
    Case("a list instead of an object", json.dumps([cv()]), "retry", tags=("wrong shape",)),
    Case("cut off by the token limit", json.dumps(cv())[:400], "retry", tags=("truncated",)),
]


def ranking(*entries: dict) -> dict:
    return {"rankings": list(entries)}


def ranked(index: int, score: Any = 80, reasons: Any = None, **extra: Any) -> dict:
    return {
        "applicationId": IDS[index] if isinstance(index, int) else index,
        "matchScore": score,
        "matchReasons": ["Has 3 of 3 required skills"] if reasons is None else reasons,
        **extra,
    }


def full_ranking(**first: Any) -> dict:
    return ranking(ranked(0, **first), ranked(1, 70), ranked(2, 60))


SHORTLIST_CASES = [
    Case("every applicant once", full_ranking(), "ok"),
    Case(
        "score as text",
        full_ranking(score="85"),
        "repaired",
        lambda a: a.rankings[0].matchScore == 85,
        tags=("stringified",),
    ),
    Case(
        "score as a percentage",
        full_ranking(score="85%"),
        "repaired",
        lambda a: a.rankings[0].matchScore == 85,
        tags=("stringified",),
    ),
    Case(
        "score with a decimal",
        full_ranking(score=85.6),
        "repaired",
        lambda a: a.rankings[0].matchScore == 86,
        tags=("wrong type",),
    ),
    Case(
        "score just over 100",
        full_ranking(score=104),
        "repaired",
        lambda a: a.rankings[0].matchScore == 100,
        tags=("out of range",),
    ),
    Case(
        "id in upper case",
        ranking(ranked(IDS[0].upper()), ranked(1), ranked(2)),
        "repaired",
        lambda a: a.rankings[0].applicationId == IDS[0],
        tags=("wrong case",),
    ),
    Case(
        "six reasons",
        full_ranking(reasons=[f"Reason {n}" for n in range(6)]),
        "repaired",
        lambda a: a.rankings[0].matchReasons == [f"Reason {n}" for n in range(4)],
        tags=("over-long",),
    ),
    Case(
        "an over-long reason",
        full_ranking(reasons=["Strong React and TypeScript background " * 10]),
        "repaired",
        lambda a: len(a.rankings[0].matchReasons[0]) <= 240,
        tags=("over-long",),
    ),
    Case(
        "extra keys per candidate",
        full_ranking(name="Alex", rank=1),
        "repaired",
        lambda a: [r.applicationId for r in a.rankings] == IDS,
        tags=("extra keys",),
    ),
    Case(
        "fence and prose around the call",
        "I ranked them as follows.\n```json\n" + json.dumps(full_ranking()) + "\n```\nThe first is strongest.",
        "repaired",
        lambda a: len(a.rankings) == 3,
        as_text=True,
        tags=("fence", "content", "trailing prose"),
    ),
    Case(
        "an id that is not an applicant",
        ranking(ranked(0), ranked(1), ranked("1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed")),
        "retry",
        tags=("essential",),
    ),
    Case("an applicant ranked twice", ranking(ranked(0), ranked(0, 70), ranked(2)), "retry", tags=("essential",)),
    Case("an applicant left out", ranking(ranked(0), ranked(1)), "retry", tags=("essential",)),
    Case(
        "no score",
        ranking({"applicationId": IDS[0], "matchReasons": ["x"]}, ranked(1), ranked(2)),
        "retry",
        tags=("essential",),
    ),
    Case("score on another scale", full_ranking(score=850), "retry", tags=("essential", "out of range")),
    Case("no reasons", full_ranking(reasons=[]), "retry", tags=("empty list",)),
    Case("an empty ranking", ranking(), "retry", tags=("empty list",)),
    Case(
        "an unknown id twice",
        ranking(ranked(0), ranked(1), ranked("not-an-id")),
        "502",
        then=ranking(ranked(0), ranked(1), ranked("still-not-an-id")),
        tags=("essential",),
    ),
]


def scores(**changes: Any) -> dict:
    """Every default rubric dimension scored; `changes` maps a key to a dict of its changes
    (or None to leave the dimension out); `extra=` adds top-level keys."""
    extra = changes.pop("extra", {})
    dimensions = []
    for entry in RUBRIC:
        change = changes.get(entry["dimension"], {})
        if change is None:
            continue
        dimensions.append(
            {
                "dimension": entry["dimension"],
                "score": 7,
                "evidence": "Clear, concrete examples.",
                "cited_quotes": ["I led the migration"],
                **change,
            }
        )
    return {
        "dimensions": dimensions,
        "narrative_summary": "A strong candidate.",
        "candidate_feedback": "Well done.",
        "anti_cheat_risk_level": "low",
        "anti_cheat_notes": "Spontaneous answers.",
        **extra,
    }


def score_of(answer, key: str) -> float:
    return next(d.score for d in answer.dimensions if d.dimension == key)


LONG_EVIDENCE = ("The candidate described the migration in detail and named trade-offs. " * 80).strip()

SCORING_CASES = [
    Case("every dimension", scores(), "ok"),
    Case(
        "labels instead of keys",
        scores(technical_skills={"dimension": "Technical Skills"}, culture_fit={"dimension": "CULTURE FIT"}),
        "repaired",
        lambda a: score_of(a, "technical_skills") == 7 and score_of(a, "culture_fit") == 7,
        tags=("wrong case",),
    ),
    Case(
        "score as text",
        scores(communication={"score": "7.5"}),
        "repaired",
        lambda a: score_of(a, "communication") == 7.5,
        tags=("stringified",),
    ),
    Case(
        "score as 8/10",
        scores(communication={"score": "8/10"}),
        "repaired",
        lambda a: score_of(a, "communication") == 8,
        tags=("stringified",),
    ),
    Case(
        "score just over ten",
        scores(motivation={"score": 10.5}),
        "repaired",
        lambda a: score_of(a, "motivation") == 10,
        tags=("out of range",),
    ),
    Case(
        "score of eleven",
        scores(motivation={"score": 11}),
        "repaired",
        lambda a: score_of(a, "motivation") == 10,
        tags=("out of range",),
    ),
    Case(
        "score just under zero",
        scores(confidence={"score": -0.5}),
        "repaired",
        lambda a: score_of(a, "confidence") == 0,
        tags=("out of range",),
    ),
    Case(
        "over-long evidence",
        scores(vocabulary={"evidence": LONG_EVIDENCE}),
        "repaired",
        lambda a: len(a.dimensions[0].evidence) <= 4000 and at_word_boundary(a.dimensions[0].evidence, LONG_EVIDENCE),
        tags=("over-long",),
    ),
    Case(
        "twelve quotes",
        scores(vocabulary={"cited_quotes": [f"quote {n}" for n in range(12)]}),
        "repaired",
        lambda a: len(a.dimensions[0].cited_quotes) == 10,
        tags=("over-long",),
    ),
    Case(
        "risk level in title case",
        scores(extra={"anti_cheat_risk_level": "Low"}),
        "repaired",
        lambda a: a.anti_cheat_risk_level == "low",
        tags=("wrong case",),
    ),
    Case(
        "a risk level outside the list",
        scores(extra={"anti_cheat_risk_level": "moderate"}),
        "repaired",
        lambda a: a.anti_cheat_risk_level is None and len(a.dimensions) == 8,
        tags=("invalid optional field",),
    ),
    Case(
        "texts left out",
        {"dimensions": scores()["dimensions"]},
        "ok",
        lambda a: a.narrative_summary == "" and a.anti_cheat_risk_level is None,
        tags=("missing optional",),
    ),
    Case("no quotes", scores(communication={"cited_quotes": []}), "ok", tags=("empty list",)),
    Case(
        "the model's own overall score",
        scores(extra={"overall_score": 95, "hire": True}),
        "repaired",
        lambda a: len(a.dimensions) == 8,
        tags=("extra keys",),
    ),
    Case(
        "fenced JSON as the message",
        "```json\n" + json.dumps(scores()) + "\n```",
        "repaired",
        lambda a: len(a.dimensions) == 8,
        as_text=True,
        tags=("fence", "content"),
    ),
    Case(
        "trailing prose after the arguments",
        json.dumps(scores()) + " Overall a solid interview.",
        "repaired",
        lambda a: len(a.dimensions) == 8,
        tags=("trailing prose",),
    ),
    Case("a score on a 0-100 scale", scores(technical_skills={"score": 45}), "retry", tags=("essential",)),
    Case("a negative score", scores(technical_skills={"score": -3}), "retry", tags=("essential",)),
    Case("a score as words", scores(technical_skills={"score": "high"}), "retry", tags=("essential",)),
    Case("a null score", scores(technical_skills={"score": None}), "retry", tags=("essential",)),
    Case(
        "a dimension without a score",
        scores(
            extra={
                "dimensions": [
                    {k: v for k, v in d.items() if k != "score"} if d["dimension"] == "communication" else d
                    for d in scores()["dimensions"]
                ]
            }
        ),
        "retry",
        tags=("essential",),
    ),
    Case("a dimension left out", scores(communication=None), "retry", tags=("essential",)),
    Case(
        "a dimension outside the rubric",
        scores(
            extra={
                "dimensions": scores()["dimensions"]
                + [{"dimension": "leadership", "score": 8, "evidence": "x", "cited_quotes": []}]
            }
        ),
        "retry",
        tags=("essential",),
    ),
    Case(
        "a dimension twice",
        scores(extra={"dimensions": scores()["dimensions"] + scores()["dimensions"][:1]}),
        "retry",
        tags=("essential",),
    ),
    Case("no dimensions", scores(extra={"dimensions": []}), "retry", tags=("empty list", "essential")),
    Case(
        "a 0-100 scale twice",
        scores(technical_skills={"score": 45}),
        "502",
        then=scores(technical_skills={"score": 60}),
        tags=("essential",),
    ),
]

CORPUS: dict[str, list[Case]] = {
    "competencies": COMPETENCY_CASES,
    "requirements": REQUIREMENT_CASES,
    "cv": CV_CASES,
    "shortlist": SHORTLIST_CASES,
    "scoring": SCORING_CASES,
}


def tally() -> dict[str, Any]:
    """Counts over the whole corpus: the figures docs/AI.md quotes."""
    table = purposes()
    counts = {
        "answers": 0,
        "ok": 0,
        "repairable": 0,
        "repaired": 0,
        "refusable": 0,
        "refused": 0,
        "false_repairs": 0,
        "wrong": [],
        "by_purpose": {},
    }
    for key, cases in CORPUS.items():
        counts["by_purpose"][key] = len(cases)
        for case in cases:
            result = run(table[key], case)
            counts["answers"] += 1 + (case.then is not None)
            good = result.outcome == case.outcome and (
                case.expect is None or result.answer is None or bool(case.expect(result.answer))
            )
            if case.outcome == "ok":
                counts["ok"] += good
            elif case.outcome == "repaired":
                counts["repairable"] += 1
                counts["repaired"] += good
            else:
                counts["refusable"] += 1
                counts["refused"] += result.outcome in ("retry", "502")
                counts["false_repairs"] += result.outcome in ("ok", "repaired")
            if not good:
                counts["wrong"].append((key, case.name, case.outcome, result.outcome, result.problems[:1]))
    return counts


if __name__ == "__main__":
    figures = tally()
    print(
        f"{sum(figures['by_purpose'].values())} corpus rows ({figures['answers']} answers): "
        f"{', '.join(f'{k} {v}' for k, v in figures['by_purpose'].items())}"
    )
    print(
        f"accepted as sent: {figures['ok']}; repairable repaired: {figures['repaired']}/{figures['repairable']}"
        f" ({100 * figures['repaired'] / figures['repairable']:.0f}%); essential faults refused (retry or 502): "
        f"{figures['refused']}/{figures['refusable']}; false repairs of essentials: {figures['false_repairs']}"
    )
    for wrong in figures["wrong"]:
        print("MISMATCH", wrong)
