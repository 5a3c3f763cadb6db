"""The Talenti function app: one DFApp, every blueprint registered. Nothing else.

Importing the HTTP-streams extension makes every HTTP function use its
Request/Response types (PYTHON_ENABLE_INIT_INDEXING=1 must be set).
"""

import os

import azure.durable_functions as df
import azure.functions as func
import azurefunctions.extensions.http.fastapi  # noqa: F401  (enables HTTP streaming)

from blueprints import acs_events, acs_token, api_docs, health, organisations, routing, speech_token
from blueprints import interviewer as ai_interviewer
from blueprints import invitations as send_invitation
from blueprints import requirements as extract_requirements
from blueprints import resumes as parse_resume
from blueprints import retention as data_retention
from blueprints import scoring as score_interview
from blueprints import shortlist as generate_shortlist
from shared.scoring import orchestration as scoring_orchestration

if os.environ.get("APP_ENV") == "production":
    # Fail start-up, naming the missing setting, rather than fail requests later.
    from shared.platform.config import get_settings

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
