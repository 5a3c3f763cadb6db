"""POST /api/invitations/send (was send-invitation)"""

import azure.functions as func

bp = func.Blueprint()
