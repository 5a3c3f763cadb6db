"""ACS call and recording events: Event Grid trigger and POST /api/acs/webhook (was acs-webhook-handler)"""

import azure.functions as func

bp = func.Blueprint()
