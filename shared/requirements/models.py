"""POST /api/ai/extract-requirements (API.md section 4) and the requirement lists
other requests carry."""

from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from shared.platform.models import NOT_BLANK, ApiModel, Documented

Item = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), Documented(pattern=NOT_BLANK)
]


class RequirementLists(ApiModel):
    """The five lists of a role's requirements; a missing or null list is empty."""

    skills: Annotated[list[Item], Field(max_length=100)] = []
    experience: Annotated[list[Item], Field(max_length=100)] = []
    qualifications: Annotated[list[Item], Field(max_length=100)] = []
    responsibilities: Annotated[list[Item], Field(max_length=100)] = []
    interviewQuestions: Annotated[list[Item], Field(max_length=100)] = []

    @field_validator("*", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class ExtractRequirementsRequest(ApiModel):
    jobDescription: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50_000), Documented(pattern=NOT_BLANK)
    ]
    jobTitle: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None


ExtractedItem = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class ExtractedRequirements(ApiModel):
    """What the model must answer: short, concrete items, at most 25 per list. Nothing
    is essential: a missing list is empty, a long item is clipped, an empty one removed."""

    skills: Annotated[list[ExtractedItem], Field(max_length=25)] = Field(
        default_factory=list,
        description="Specific skills, tools and technologies required, e.g. 'React', 'Stakeholder management'.",
    )
    experience: Annotated[list[ExtractedItem], Field(max_length=25)] = Field(
        default_factory=list, description="Experience required, e.g. '5+ years building web applications'."
    )
    qualifications: Annotated[list[ExtractedItem], Field(max_length=25)] = Field(
        default_factory=list, description="Degrees, certifications and licences required or preferred."
    )
    responsibilities: Annotated[list[ExtractedItem], Field(max_length=25)] = Field(
        default_factory=list, description="The main duties of the role."
    )
    interviewQuestions: Annotated[list[ExtractedItem], Field(max_length=12)] = Field(
        default_factory=list, description="5 to 10 interview questions that test the requirements above."
    )


class ExtractRequirementsResponse(ApiModel):
    success: bool = True
    requirements: ExtractedRequirements
