"""Extracting a role's requirements from its description (was extract-requirements)."""

from __future__ import annotations

from shared.adapters.ports import AIModel
from shared.requirements import prompts as prompt
from shared.requirements.models import ExtractedRequirements, ExtractRequirementsRequest


async def extract_requirements(ai: AIModel, request: ExtractRequirementsRequest) -> ExtractedRequirements:
    """The five lists, validated (each item short and non-empty, bounded lengths)."""
    return await ai.structured(
        purpose="extract_requirements",
        prompt_version=prompt.VERSION,
        messages=prompt.requirements_messages(job_title=request.jobTitle, job_description=request.jobDescription),
        schema=ExtractedRequirements,
        tool_name=prompt.TOOL_NAME,
        tool_description=prompt.TOOL_DESCRIPTION,
    )
