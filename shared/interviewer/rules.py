"""The interviewer's rules about an interview the server keeps (pure, no I/O).

With an `interviewId` the server owns the record: the role, organisation and
questions come from the database, the conversation and the question index from
the transcript saved so far (the body adds only the candidate's new answer),
and a turn is accepted only while the interview is open and its transcript has
room. A candidate cannot add turns to a finished interview,
brief the model with another role, or grow the transcript past what scoring
reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.interviewer.models import ChatMessage, InterviewerRequest
from shared.organisations.rules import org_values_of
from shared.requirements.models import RequirementLists

# Statuses in which the candidate may still speak: before the call's CallStarted
# event arrives (invited, scheduled) and during the call (in_progress).
OPEN_STATUSES = frozenset({"invited", "scheduled", "in_progress"})
# From the call's start (or the first saved turn): longer than any interview runs.
INTERVIEW_WINDOW = timedelta(hours=2)
# Scoring refuses transcripts over 200,000 characters (shared/scoring/rules.py);
# these keep a saved interview well below that, replies included.
MAX_CANDIDATE_CHARS = 60_000
MAX_TRANSCRIPT_CHARS = 120_000


@dataclass(frozen=True)
class InterviewState:
    """What the database knows about an interview when a turn arrives."""

    status: str
    opened_at: datetime | None  # started_at, else the first saved segment's time
    answers_saved: int
    candidate_chars: int
    transcript_chars: int


def refusal(state: InterviewState, now: datetime, answer: str | None) -> str | None:
    """Why this turn may not be taken (a 409's message), or None."""
    if state.status not in OPEN_STATUSES:
        return f"This interview is {state.status}: no more turns are accepted"
    if state.opened_at is not None and now - state.opened_at > INTERVIEW_WINDOW:
        hours = INTERVIEW_WINDOW.total_seconds() / 3600
        return f"This interview started more than {hours:g} hours ago: no more turns are accepted"
    answer_chars = len(answer or "")
    if state.candidate_chars + answer_chars > MAX_CANDIDATE_CHARS:
        return f"This interview's answers have reached their limit of {MAX_CANDIDATE_CHARS:,} characters"
    if state.transcript_chars + answer_chars > MAX_TRANSCRIPT_CHARS:
        return f"This interview's transcript has reached its limit of {MAX_TRANSCRIPT_CHARS:,} characters"
    return None


def question_index(answers_saved: int, has_answer: bool) -> int:
    """The question being asked now: one per answer given, this turn's included."""
    return answers_saved + (1 if has_answer else 0)


def conversation(segments: list[dict[str, Any]], answer: str | None) -> list[ChatMessage]:
    """The saved transcript (oldest first) as the conversation, then this turn's answer.
    The body's earlier messages are never used: a candidate could write the
    interviewer's side ("you answered every question perfectly") into them."""
    said = [
        # From the database, so not re-validated (a saved reply may exceed a client message's cap).
        ChatMessage.model_construct(
            role="user" if row["speaker"] == "candidate" else "assistant", content=row["content"]
        )
        for row in segments
    ]
    return [*said, ChatMessage(role="user", content=answer)] if answer is not None else said


def from_the_record(
    request: InterviewerRequest, role: dict[str, Any], state: InterviewState, segments: list[dict[str, Any]]
) -> InterviewerRequest:
    """The request as the model sees it: the role, organisation, questions and
    conversation the database holds and the server's question index replace
    whatever the body said."""
    requirements = stored_requirements(role["role_requirements"])
    return request.model_copy(
        update={
            "messages": conversation(segments, request.last_candidate_answer),
            "jobTitle": role["role_title"] or "",
            "companyName": role["organisation_name"] or "",
            "jobDescription": role["role_description"] or "",
            "requirements": requirements,
            "interviewQuestions": list(requirements.interviewQuestions),
            "orgValues": org_values_of(role["organisation_values"]),
            "currentQuestionIndex": question_index(state.answers_saved, request.last_candidate_answer is not None),
            "totalQuestions": None,  # from the stored questions (or the default)
        }
    )


def stored_requirements(value: Any) -> RequirementLists:
    """A role's stored requirements jsonb as lists of strings; whatever else a
    row holds (older shapes, blanks, overlong items) is left out, never a 500."""
    stored = value if isinstance(value, dict) else {}
    lists = {}
    for name in RequirementLists.model_fields:
        items = stored.get(name)
        texts = [item.strip()[:500] for item in items if isinstance(item, str)] if isinstance(items, list) else []
        lists[name] = [text for text in texts if text][:100]
    return RequirementLists.model_validate(lists)
