"""Scoring rules: the rubric, the transcript, quotes and the result. Pure
functions of their arguments (no I/O, clock or settings), so the orchestration
can use them anywhere and tests need nothing but Python."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from shared.platform.errors import BadRequest, Unprocessable
from shared.scoring.models import ModelScoring, ReviewRequest, RubricDimension, ScoreResponse, Turn

MAX_TRANSCRIPT_CHARS = 200_000
MAX_RUBRIC_DIMENSIONS = 30

# API.md: the rubric when neither the request nor the role has one.
DEFAULT_RUBRIC: dict[str, dict[str, Any]] = {
    "vocabulary": {"weight": 0.10, "label": "Vocabulary"},
    "domain_knowledge": {"weight": 0.15, "label": "Domain Knowledge"},
    "technical_skills": {"weight": 0.20, "label": "Technical Skills"},
    "experience_depth": {"weight": 0.10, "label": "Experience Depth"},
    "communication": {"weight": 0.15, "label": "Communication"},
    "culture_fit": {"weight": 0.10, "label": "Culture Fit"},
    "motivation": {"weight": 0.10, "label": "Motivation"},
    "confidence": {"weight": 0.10, "label": "Confidence"},
}
DEFAULT_RUBRIC_VERSION = "default-v1"

HUMAN_OVERRIDE_MESSAGE = (
    "This interview's score was set by a person and is kept as it is; the AI score did not replace it."
)
CONFIRMED_MESSAGE = (
    "A person reviewed and confirmed this interview's score: it is kept as it is; the AI does not score it again."
)


# --- rubric ------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def resolve_rubric(requested: dict[str, Any] | None, stored: Any) -> tuple[list[RubricDimension], str]:
    """The rubric to score with: the request's, else the role's, else the defaults.

    Returns the dimensions (weights normalised to sum 1) and the rubric version
    stored with the score. An invalid rubric is a 400.
    """
    if requested:
        return _normalise_rubric(requested, "scoringRubric")
    if stored:
        return _normalise_rubric(stored, "The role's scoring rubric")
    dimensions, _ = _normalise_rubric(DEFAULT_RUBRIC, "default")
    return dimensions, DEFAULT_RUBRIC_VERSION


def _normalise_rubric(rubric: Any, source: str) -> tuple[list[RubricDimension], str]:
    if not isinstance(rubric, dict) or not rubric:
        raise BadRequest(f"{source} must be an object of dimensions with weights")
    if len(rubric) > MAX_RUBRIC_DIMENSIONS:
        raise BadRequest(f"{source} has more than {MAX_RUBRIC_DIMENSIONS} dimensions")
    entries = []
    for key, value in rubric.items():
        name = str(key).strip()
        if not name or len(name) > 64 or _CONTROL.search(name):
            raise BadRequest(f"{source}: dimension names must be 1 to 64 printable characters")
        weight = value.get("weight") if isinstance(value, dict) else value
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
            raise BadRequest(f"{source}: the weight of {name!r} must be a number")
        if weight < 0:
            raise BadRequest(f"{source}: the weight of {name!r} is negative")
        label = value.get("label") if isinstance(value, dict) else None
        label = _CONTROL.sub(" ", str(label)).strip()[:100] if label else name.replace("_", " ").title()
        entries.append((name, label, float(weight)))
    total = sum(weight for _, _, weight in entries)
    if total <= 0:
        raise BadRequest(f"{source}: the weights must add up to more than zero")
    if not math.isfinite(total):  # 1e308 + 1e308: every normalised weight would read as 0
        raise BadRequest(f"{source}: the weights are too large")
    dimensions: list[RubricDimension] = [
        {"dimension": name, "label": label, "weight": weight / total} for name, label, weight in entries
    ]
    canonical = json.dumps(sorted([d["dimension"], d["label"], round(d["weight"], 6)] for d in dimensions))
    return dimensions, "custom-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def overall_score(scores: dict[str, float], rubric: list[RubricDimension]) -> int:
    """The weighted mean of the 0-10 scores, times 10, rounded half up (0-100)."""
    mean = sum(scores[d["dimension"]] * d["weight"] for d in rubric)
    return max(0, min(100, math.floor(mean * 10 + 0.5)))


# --- transcript and quotes --------------------------------------------------------------

_SPEAKERS = {"candidate": "candidate", "user": "candidate", "ai": "ai", "interviewer": "ai", "assistant": "ai"}


def transcript_for_scoring(stored: list[dict[str, Any]], supplied: list[dict[str, Any]] | None) -> list[Turn]:
    """The turns to score: the stored transcript whenever there is one (the record
    is the source of truth), else the request's. 400 without candidate speech."""
    turns: list[Turn] = []
    for turn in stored or supplied or []:
        content = (turn.get("content") or "").strip()
        if content:
            # Anything not known as the candidate counts as the interviewer: it is never evidence.
            speaker = _SPEAKERS.get(str(turn.get("speaker") or "").strip().lower(), "ai")
            turns.append({"speaker": speaker, "content": content})
    if not any(turn["speaker"] == "candidate" for turn in turns):
        raise BadRequest("The transcript has no candidate speech to score")
    if sum(len(turn["content"]) for turn in turns) > MAX_TRANSCRIPT_CHARS:
        raise Unprocessable(f"The transcript is longer than {MAX_TRANSCRIPT_CHARS} characters")
    return turns


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


_QUOTE_MARKS = "\"'“”‘’«»…. "


def verify_quotes(quotes: list[str], candidate_text: str) -> tuple[list[str], int]:
    """Keep the quotes found in the candidate's turns (whitespace and case folded);
    `candidate_text` is `candidate_corpus(...)`. Returns (kept, number dropped)."""
    kept, dropped = [], 0
    for quote in quotes:
        needle = _fold(quote).strip(_QUOTE_MARKS)
        if not needle:
            continue
        if needle in candidate_text and "\x00" not in needle:
            kept.append(quote.strip())
        else:
            dropped += 1
    return kept, dropped


def candidate_corpus(transcript: list[Turn]) -> str:
    """The candidate's turns, folded, separated so that no quote spans two turns."""
    return "\x00".join(_fold(t["content"]) for t in transcript if t["speaker"] == "candidate")


# --- the model's answer and the result --------------------------------------------------------


def answer_check(rubric: list[RubricDimension]) -> Callable[[ModelScoring], None]:
    """The `check` for the model's answer: every rubric dimension exactly once, nothing else.
    (Scores outside 0-10 already fail the schema.)"""
    expected = [d["dimension"] for d in rubric]

    def check(answer: ModelScoring) -> None:
        given = [d.dimension for d in answer.dimensions]
        missing = [key for key in expected if key not in given]
        unknown = sorted({key for key in given if key not in expected})
        repeated = sorted({key for key in given if given.count(key) > 1})
        problems = []
        if missing:
            problems.append(f"missing rubric dimensions: {', '.join(missing)}")
        if unknown:
            problems.append(f"dimensions not in the rubric: {', '.join(unknown)}")
        if repeated:
            problems.append(f"dimensions scored more than once: {', '.join(repeated)}")
        if problems:
            raise ValueError("; ".join(problems) + f". Score exactly these dimensions: {', '.join(expected)}")

    return check


def build_result(
    interview_id: str, rubric: list[RubricDimension], answer: ModelScoring, transcript: list[Turn]
) -> tuple[dict[str, Any], int]:
    """The contract's 200 body from a validated answer: rubric order and weights,
    unverifiable quotes dropped (and said so in the evidence), the overall score
    ours. Returns the body and the number of quotes dropped."""
    corpus = candidate_corpus(transcript)
    by_key = {d.dimension: d for d in answer.dimensions}
    dimensions, dropped_total = [], 0
    for entry in rubric:
        scored = by_key[entry["dimension"]]
        quotes, dropped = verify_quotes(scored.cited_quotes, corpus)
        evidence = scored.evidence.strip()
        if dropped:
            dropped_total += dropped
            evidence += (
                f" [{dropped} quoted passage{'s' if dropped > 1 else ''} not found in the candidate's answers removed.]"
            )
        dimensions.append(
            {
                "dimension": entry["dimension"],
                "score": round(scored.score, 2),
                "weight": round(entry["weight"], 4),
                "evidence": evidence,
                "cited_quotes": quotes,
            }
        )
    body = ScoreResponse(
        interviewId=interview_id,
        dimensions=dimensions,
        overall_score=overall_score({d.dimension: d.score for d in answer.dimensions}, rubric),
        narrative_summary=answer.narrative_summary.strip(),
        candidate_feedback=answer.candidate_feedback.strip(),
        anti_cheat_risk_level=answer.anti_cheat_risk_level,
        anti_cheat_notes=answer.anti_cheat_notes.strip(),
    ).model_dump(mode="json")
    return body, dropped_total


def stored_result(interview_id: Any, score: dict[str, Any], dimensions: list[dict[str, Any]]) -> dict[str, Any]:
    """A stored score (interview_scores row and its score_dimensions rows) in the contract's shape."""
    return ScoreResponse(
        interviewId=interview_id,
        dimensions=[
            {
                "dimension": d["dimension"],
                "score": float(d["score"]),
                "weight": float(d["weight"] if d["weight"] is not None else 0),
                "evidence": d["evidence"] or "",
                "cited_quotes": d["cited_quotes"] or [],
            }
            for d in dimensions
        ],
        overall_score=score["overall_score"] or 0,
        narrative_summary=score["narrative_summary"] or "",
        candidate_feedback=score["candidate_feedback"] or "",
        anti_cheat_risk_level=score["anti_cheat_risk_level"],
        anti_cheat_notes="",
        humanOverride=bool(score["human_override"]),
        message=HUMAN_OVERRIDE_MESSAGE
        if score["human_override"]
        else CONFIRMED_MESSAGE
        if is_confirmed(score)
        else None,
        humanReviewed=score.get("review_decision") is not None,
        review={
            "decision": score["review_decision"],
            "reviewedBy": score.get("review_reviewer_id"),
            "reviewedAt": _iso(score.get("review_at")),
        }
        if score.get("review_decision")
        else None,
    ).model_dump(mode="json")


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def is_confirmed(score: dict[str, Any]) -> bool:
    """The latest review confirmed the score: a rescore keeps it (like an override)."""
    return score.get("review_decision") == "confirm"


# --- human review ----------------------------------------------------------------------


def checked_review(request: ReviewRequest) -> tuple[int | None, str | None]:
    """The review's new score (None for a confirmation) and its reason, or a 400 saying
    what is missing. An override needs both a score and a reason: a person who changes
    the model's number says why (the record an auditor and the candidate read). A
    confirmation keeps the score there, so a score in it is refused, not ignored."""
    reason = request.reason or None  # stripped by the model: blank is no reason
    if request.decision == "override":
        if request.overallScore is None:
            raise BadRequest("An override needs overallScore (0 to 100)")
        if reason is None:
            raise BadRequest("An override needs a reason: say why the score is changed")
        return request.overallScore, reason
    if request.overallScore is not None:
        raise BadRequest("A confirmation keeps the current score: send no overallScore (or decide 'override')")
    return None, reason


def with_trace(value: Any, job: Mapping[str, Any]) -> Any:
    """The next activity's input with the run's trace (`job["trace"]`) added: the orchestrator
    passes it on so every activity's span joins the starter's trace. Deterministic."""
    if isinstance(value, dict) and "trace" in job and value is not job:
        return {**value, "trace": job["trace"]}
    return value
