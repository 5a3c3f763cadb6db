"""Extracting a role's requirements from its description (was extract-requirements)."""

from __future__ import annotations

from shared.models.requirements import ExtractedRequirements, ExtractRequirementsRequest
from shared.prompts import requirements as prompt
from shared.services.ports import AIModel


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
