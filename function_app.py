"""The Talenti function app: one DFApp, every blueprint registered (and, in
production, the settings checked at start-up). Nothing else.

Importing the HTTP-streams extension makes every HTTP function use its
Request/Response types (PYTHON_ENABLE_INIT_INDEXING=1 must be set).
"""

import os

import azure.durable_functions as df
import azure.functions as func
import azurefunctions.extensions.http.fastapi  # noqa: F401  (enables HTTP streaming)

from blueprints import (
    api_docs,
    calls,
    health,
    interviewer,
    invitations,
    organisations,
    reports,
    requirements,
    resumes,
    retention,
    routing,
    scoring,
    shortlist,
)

if os.environ.get("APP_ENV") not in ("development", "test"):
    # Production (also when APP_ENV is unset or unknown): fail start-up, naming the
    # missing setting, rather than fail requests later.
    from shared.platform.config import get_settings

    get_settings()

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

for blueprint in (
    health.bp,
    organisations.bp,
    interviewer.bp,
    requirements.bp,
    resumes.bp,
    shortlist.bp,
    scoring.bp,
    calls.bp,
    invitations.bp,
    retention.bp,
    reports.bp,
    api_docs.bp,
    routing.bp,
):
    app.register_functions(blueprint)
