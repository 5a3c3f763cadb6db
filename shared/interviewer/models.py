"""POST /api/ai/interviewer and /api/ai/interviewer/stream (API.md sections 1 and 1b)."""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints, field_validator

from shared.ai.marks import Vocabulary
from shared.platform.models import ApiModel, Documented
from shared.platform.operation import JSON, REQUEST_ID_HEADER, Document, OperationDocs
from shared.requirements.models import RequirementLists

MAX_MESSAGES = 100
MAX_MESSAGE_CHARS = 8_000

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
ShortList = Annotated[list[ShortText], Field(max_length=50)]


class ChatMessage(ApiModel):
    role: Annotated[str, Documented(enum=["user", "assistant"])]
    content: Annotated[str, StringConstraints(max_length=MAX_MESSAGE_CHARS)]

    @field_validator("role")
    @classmethod
    def _client_roles_only(cls, value: str) -> str:
        if value == "system":
            raise ValueError("system messages are not accepted: the system prompt is the server's")
        if value not in ("user", "assistant"):
            raise ValueError("role must be 'user' or 'assistant'")
        return value


class CandidateContext(ApiModel):
    skills: ShortList | None = None
    experienceYears: float | None = Field(default=None, ge=0, le=80)
    recentRoles: ShortList | None = None
    educationLevel: ShortText | None = None


class InterviewerRequest(ApiModel):
    messages: Annotated[list[ChatMessage], Field(max_length=MAX_MESSAGES)]
    interviewId: UUID | None = None
    isPractice: bool | None = None
    jobTitle: ShortText | None = None
    companyName: ShortText | None = None
    jobDescription: Annotated[str, StringConstraints(max_length=50_000)] | None = None
    requirements: RequirementLists | None = None
    interviewQuestions: ShortList | None = None
    orgValues: ShortList | None = None
    candidateContext: CandidateContext | None = None
    competenciesCovered: ShortList | None = None
    competenciesToCover: ShortList | None = None
    currentQuestionIndex: int | None = Field(default=None, ge=0, le=1000)
    totalQuestions: int | None = Field(default=None, ge=1, le=100)

    @property
    def practice(self) -> bool:
        return bool(self.isPractice)

    @property
    def questions(self) -> list[str]:
        """The role's interview questions: top level, else inside `requirements`."""
        return list(
            self.interviewQuestions or (self.requirements.interviewQuestions if self.requirements else None) or []
        )

    @property
    def last_candidate_answer(self) -> str | None:
        """The candidate's newest message, when the conversation ends with one."""
        if self.messages and self.messages[-1].role == "user" and self.messages[-1].content.strip():
            return self.messages[-1].content
        return None


class InterviewerResponse(ApiModel):
    message: str
    detectedCompetencies: list[str]
    competencyCovered: str | None


# The stream's events (`data:` lines of text/event-stream), as the OpenAPI document describes them.
class StreamDelta(ApiModel):
    """The next piece of the reply."""

    content: str


class StreamDone(InterviewerResponse):
    """The last JSON event of a complete reply; `data: [DONE]` follows."""

    done: Literal[True]


class StreamFailure(ApiModel):
    """The last JSON event when the model failed mid-reply; `data: [DONE]` follows."""

    error: str


STREAM_END = "[DONE]"  # the data of the stream's very last event


class AnswerAssessment(ApiModel):
    """The model's structured reading of the candidate's last answer: keys from the
    call's `competencies` vocabulary; an unknown key is dropped (nothing is essential)."""

    detectedCompetencies: Annotated[
        list[Annotated[str, StringConstraints(max_length=60), Vocabulary("competencies")]], Field(max_length=8)
    ] = Field(
        default_factory=list,
        description="Keys of the competencies the candidate's last answer showed; empty when none.",
    )


# --- the stream's OpenAPI operation ------------------------------------------------------

_STREAM_TEXT = (
    'Server-Sent Events, one `data:` line each: `{"content": "<delta>"}` as the reply arrives, then '
    '`{"done": true, "message": ..., "detectedCompetencies": [...], "competencyCovered": ...}` '
    '(or `{"error": "..."}` when the model fails mid-reply), and last `[DONE]`. The schema '
    "describes one event, as OpenAPI 3.1 tools read an event stream's schema."
)


class StreamDocs(OperationDocs):
    """The 200 is an event stream: one schema describes one event."""

    def responses(self, document: Document, method: str) -> dict[str, Any]:
        return {
            "200": {
                "description": _STREAM_TEXT,
                "headers": dict(REQUEST_ID_HEADER),
                "content": {"text/event-stream": {"schema": _stream_event(document)}},
            }
        }


def _stream_event(document: Document) -> dict[str, Any]:
    def json_data(model: type[BaseModel]) -> dict[str, Any]:
        return {"type": "string", "contentMediaType": JSON, "contentSchema": document.ref(model)}

    return {
        "type": "object",
        "required": ["data"],
        "properties": {
            "event": {"type": "string", "const": "message"},
            "data": {
                "anyOf": [
                    json_data(StreamDelta),
                    json_data(StreamDone),
                    json_data(StreamFailure),
                    {"type": "string", "const": STREAM_END},
                ]
            },
        },
    }
