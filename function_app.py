"""The Talenti function app: one DFApp, every blueprint registered. Nothing else.

Importing the HTTP-streams extension makes every HTTP function use its
Request/Response types (PYTHON_ENABLE_INIT_INDEXING=1 must be set).
"""

import os

import azure.durable_functions as df
import azure.functions as func
import azurefunctions.extensions.http.fastapi  # noqa: F401  (enables HTTP streaming)

from blueprints import (
    acs_events,
    acs_token,
    ai_interviewer,
    api_docs,
    data_retention,
    extract_requirements,
    generate_shortlist,
    health,
    organisations,
    parse_resume,
    routing,
    score_interview,
    send_invitation,
    speech_token,
)
from shared.services.scoring import orchestration as scoring_orchestration

if os.environ.get("APP_ENV") == "production":
    # Fail start-up, naming the missing setting, rather than fail requests later.
    from shared.config import get_settings

    get_settings()

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

for blueprint in (
    health.bp,
    organisations.bp,
    ai_interviewer.bp,
    extract_requirements.bp,
    parse_resume.bp,
    generate_shortlist.bp,
    score_interview.bp,
    scoring_orchestration.bp,
    acs_token.bp,
    acs_events.bp,
    speech_token.bp,
    send_invitation.bp,
    data_retention.bp,
    api_docs.bp,
    routing.bp,
):
    app.register_functions(blueprint)
